"""Account archive: peak memory while building a ZIP of 5,000 images.

Run with ``.venv/bin/python bench/archive.py``. A fresh instance (SQLite, temporary media
folder) gets one user with ``--images`` PNGs on disk (random noise, so they do not
compress; ``--size`` px square). The archive is then built exactly as the background job
builds it (``account_archive.build``) while a sampler thread reads this process's resident
memory (VmRSS) every 5 ms. The headline is the peak growth over the resident size just
before the build started. A side measurement reads the same files into one in-memory ZIP
(what a naive build would do) for comparison.
"""

from __future__ import annotations

import argparse
import gc
import io
import os
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# The checkout instead of bench/ (whose queue.py would shadow the standard library's queue).
sys.path[0] = str(Path(__file__).resolve().parents[1])

from PIL import Image as PILImage  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from daydream import create_app  # noqa: E402
from daydream.config import TestConfig  # noqa: E402
from daydream.extensions import db  # noqa: E402
from daydream.models import Archive, Image, Task, User  # noqa: E402
from daydream.models.base import new_uuid  # noqa: E402
from daydream.services import account_archive  # noqa: E402

TARGET_MB = 50


def rss_mb() -> float:
    """This process's resident memory in MB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("VmRSS not found; this benchmark needs Linux")


class PeakSampler(threading.Thread):
    """Samples VmRSS until stopped; ``peak`` is the highest value seen."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = rss_mb()
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.peak = max(self.peak, rss_mb())
            time.sleep(0.005)

    def stop(self) -> float:
        self._stop_event.set()
        self.join()
        return self.peak


def populate(app, count: int, size: int) -> tuple[int, int]:
    """One user with ``count`` images on disk; returns (user id, bytes written)."""
    media = Path(app.config["MEDIA_PATH"])
    written = 0
    with app.app_context():
        user = User(email="bench@example.com", password_hash="x", credits=0)
        db.session.add(user)
        db.session.commit()
        per_task = 4
        for start in range(0, count, per_task):
            task = Task(user_id=user.id, prompt="bench", width=size, height=size,
                        samples=per_task, steps=1, guidance=7.0, scheduler="Euler", seed=1,
                        state="done")
            db.session.add(task)
            db.session.flush()
            rows = []
            for index in range(min(per_task, count - start)):
                buffer = io.BytesIO()
                PILImage.frombytes("RGB", (size, size), os.urandom(size * size * 3)).save(
                    buffer, "PNG", compress_level=0)
                relative = f"{user.uuid}/{task.uuid}/{index:02d}.png"
                path = media / relative
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(buffer.getvalue())
                written += len(buffer.getvalue())
                rows.append({"uuid": new_uuid(), "task_id": task.id, "user_id": user.id,
                             "index": index,
                             "path": relative, "thumb_path": relative, "seed": index,
                             "width": size, "height": size})
            db.session.execute(insert(Image), rows)
        db.session.commit()
        return user.id, written


def naive_growth(app, user_id: int) -> float:
    """Peak RSS growth of building the same ZIP in memory (the comparison)."""
    with app.app_context():
        paths = [Path(app.config["MEDIA_PATH"]) / path for (path,) in db.session.query(
            Image.path).join(Task).filter(Task.user_id == user_id)]
    gc.collect()
    before = rss_mb()
    sampler = PeakSampler()
    sampler.start()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as bundle:
        for path in paths:
            bundle.writestr(str(path), path.read_bytes())
    peak = sampler.stop()
    del buffer
    return peak - before


def main() -> None:
    """Populate, build, measure, print; the last line is the headline."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=5000)
    parser.add_argument("--size", type=int, default=96)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="daydream-bench-") as folder:
        root = Path(folder)
        settings = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
        settings.update(SQLALCHEMY_DATABASE_URI=f"sqlite:///{root / 'bench.sqlite3'}",
                        MEDIA_PATH=str(root / "media"), ARCHIVE_PATH=str(root / "archives"))
        app = create_app(settings, instance_path=root / "instance")
        with app.app_context():
            db.create_all()
        started = time.perf_counter()
        user_id, written = populate(app, args.images, args.size)
        print(f"populated {args.images} images, {written / 1e6:.1f} MB on disk, "
              f"in {time.perf_counter() - started:.1f} s")
        with app.app_context():
            archive = account_archive.request_archive(db.session.get(User, user_id))
            archive_id = archive.id
            db.session.remove()
        gc.collect()
        before = rss_mb()
        sampler = PeakSampler()
        sampler.start()
        started = time.perf_counter()
        with app.app_context():
            account_archive.build(archive_id)
            archive = db.session.get(Archive, archive_id)
            state, done, size = archive.state, archive.images_done, archive.size_bytes
        seconds = time.perf_counter() - started
        growth = sampler.stop() - before
        assert state == "ready" and done == args.images, (state, done)
        naive = naive_growth(app, user_id)
        print(f"archive: {done} images, {size / 1e6:.1f} MB zip, {seconds:.1f} s, "
              f"RSS before {before:.1f} MB")
        print(f"in-memory ZIP of the same files (comparison): {naive:.1f} MB peak RSS growth")
        print(f"archive: {growth:.1f} MB peak RSS growth (target <= {TARGET_MB} MB)")


if __name__ == "__main__":
    main()
