"""What the service benchmarks share: a scratch app with people who can afford everything."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from daydream import create_app
from daydream.config import Config, TestConfig
from daydream.extensions import db
from daydream.services import users

PASSWORD = "violet harbour lantern 93"


def build_app(folder: Path, people: int = 1, **overrides: Any):
    """An app in a scratch folder (SQLite, the local queue) with ``people`` users; the app
    and their emails. Production-like settings except the test config's cheap hashing
    and one task per engine call (a benchmark that batches says so)."""
    settings = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
    settings.update(SQLALCHEMY_DATABASE_URI=f"sqlite:///{folder / 'bench.sqlite3'}",
                    MEDIA_PATH=str(folder / "media"), QUEUE_MAX=10_000,
                    QUEUE_MAX_PER_USER=10_000, STARTING_CREDITS=10_000_000,
                    MAX_PIXELS=1024 * 1024,
                    # What a deployment paces progress, previews and refits at (tests see each).
                    PROGRESS_INTERVAL=Config.PROGRESS_INTERVAL,
                    PREVIEW_INTERVAL=Config.PREVIEW_INTERVAL,
                    ESTIMATE_REFIT_INTERVAL=Config.ESTIMATE_REFIT_INTERVAL)
    settings.update(overrides)
    app = create_app(settings, instance_path=folder)
    emails = [f"person{n}@example.com" for n in range(people)]
    with app.app_context():
        db.create_all()
        for email in emails:
            users.create_user(email, PASSWORD)
    return app, emails
