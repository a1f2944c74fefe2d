"""The web process never imports torch: only the worker (and the engine it runs) does."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PROBE = """
import sys
from daydream import create_app
from daydream.config import TestConfig
settings = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
settings["SQLALCHEMY_DATABASE_URI"] = "sqlite://"
app = create_app(settings, instance_path=sys.argv[1])
import daydream.services.tasks, daydream.services.recovery, daydream.engine.params
import daydream.engine.metadata, daydream.worker
import daydream.services.models, daydream.services.model_choice, daydream.engine.prompt
daydream.services.models.scan_library(None, "daydream-demo-xl")
daydream.engine.prompt.extract_loras("a <lora:x:0.5>")
with app.app_context():
    from daydream.extensions import db
    db.create_all()
    client = app.test_client()
    for path in ("/", "/docs", "/gallery", "/auth/login", "/studio/"):
        client.get(path)
heavy = sorted(m for m in ("torch", "diffusers", "transformers") if m in sys.modules)
print(",".join(heavy) or "none")
"""


def test_web_app_and_services_do_not_import_torch(tmp_path):
    result = subprocess.run([sys.executable, "-c", PROBE, str(tmp_path)], capture_output=True,
                            text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "none"
