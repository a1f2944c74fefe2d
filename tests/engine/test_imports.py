"""The web process imports the engine's light modules; they must not pull in torch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repo, so `daydream` imports as in use
HEAVY = ("torch", "diffusers", "transformers", "accelerate", "safetensors")


def test_light_modules_do_not_import_torch():
    code = (
        "import sys\n"
        "import daydream.engine, daydream.engine.params, daydream.engine.metadata\n"
        "import daydream.engine.errors, daydream.engine.configs, daydream.engine.demo\n"
        "from daydream.engine import GenerationParams, ParamError, SCHEDULERS\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        cwd=ROOT,
    )
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_lazy_engine_attribute_does_import_torch():
    # The other side of the contract: asking for Engine really loads the torch-backed module.
    code = "import sys, daydream.engine as e; e.Engine; print('torch' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        cwd=ROOT,
    )
    assert out.stdout.strip().splitlines()[-1] == "True"
