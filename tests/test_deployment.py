"""The deployment files say what works: systemd units, the Procfile, the documented settings."""

import re
import shlex
import shutil
import subprocess
from pathlib import Path

from daydream.config import Config
from tests.processes import CLI, ROOT, environment
from tests.services import unavailable

UNITS = ROOT / "deploy" / "systemd"


def procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line and not line.startswith("#"))


def daydream_help(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args, "--help"], cwd=ROOT, capture_output=True, text=True,
                          env=environment(tmp_path / "instance"), timeout=60)


def test_systemd_units_are_valid_and_run_real_commands(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        unavailable("systemd-analyze is not installed")
    daydream = tmp_path / "daydream"
    daydream.write_text("#!/bin/sh\n")
    daydream.chmod(0o755)
    for unit in ("daydream-web.service", "daydream-worker@.service"):
        text = (UNITS / unit).read_text()
        command = shlex.split(re.search(r"^ExecStart=(.+)$", text, re.M).group(1))
        assert command[0] == "/srv/daydream/.venv/bin/daydream"
        assert daydream_help(tmp_path, *command[1:2]).returncode == 0, f"{unit}: {command}"
        # Verify a copy whose command exists here; an instance name for the template.
        copy = tmp_path / unit.replace("@.", "@0.")
        copy.write_text(text.replace(command[0], str(daydream)))
        result = subprocess.run([analyze, "verify", str(copy)], capture_output=True,
                                text=True, timeout=60)
        assert result.returncode == 0 and not result.stderr.strip(), result.stderr


def test_procfile_runs_the_web_server_and_workers(tmp_path):
    processes = procfile()
    assert set(processes) == {"web", "worker"}
    assert processes["web"].startswith("daydream serve ") and "$PORT" in processes["web"]
    assert processes["worker"] == "daydream worker"
    assert daydream_help(tmp_path, "worker").returncode == 0


def test_every_setting_is_documented():
    documented = (ROOT / "docs" / "deployment.md").read_text()
    settings = {name for name in dir(Config) if name.isupper()}
    internal = {"ENV", "TESTING", "SQLALCHEMY_DATABASE_URI", "SQLALCHEMY_ENGINE_OPTIONS",
                "SESSION_COOKIE_HTTPONLY", "SESSION_COOKIE_SAMESITE", "REMEMBER_COOKIE_HTTPONLY",
                "REMEMBER_COOKIE_SAMESITE", "WTF_CSRF_TIME_LIMIT", "ARGON2_TIME_COST",
                "ARGON2_MEMORY_COST", "ARGON2_PARALLELISM", "ESTIMATE_SECONDS_PER_MPX_STEP",
                "ESTIMATE_TASK_OVERHEAD", "REMEMBER_COOKIE_DURATION"}
    missing = []
    for name in sorted(settings - internal):
        # Families are written once: DAYDREAM_MAX_PIXELS / _MAX_SIDE / …
        spellings = (f"DAYDREAM_{name}", f"_{name}`", f"`{name.lower()}` (config.toml only)")
        if not any(spelling in documented for spelling in spellings):
            missing.append(name)
    assert missing == [], f"settings missing from docs/deployment.md: {missing}"
