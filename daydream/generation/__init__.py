"""What a generation asks for: one definition every surface derives from (see request.py)."""
