"""WSGI entry point for production servers: ``gunicorn 'daydream.wsgi:app'``."""

from daydream import create_app

app = create_app()
