"""Seed a Daydream database for the load test: users, API keys, 100,000 tasks and their rows.

Bulk inserts straight into the migrated tables (SQLAlchemy Core, executemany in chunks), not
the API: 100k tasks through the service would take longer than the test. Image files are not
written: the pages link thumbnails by URL, and ``/media`` answers 404 for a missing file (the
load test never fetches them). Used by ``bench/load.py``.
"""

from __future__ import annotations

import hashlib
import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from argon2 import PasswordHasher

from daydream.config import Config
from daydream.generation.request import defaults, row_values
from daydream.models import ApiKey, CreditEntry, Image, Task, User

PASSWORD = "load test password 1"
CHUNK = 5000
GRANT = 10_000_000
MODELS = ("daydream-demo", "daydream-demo-xl")
WORDS = ("lighthouse", "harbour", "fox", "forest", "city", "neon", "castle", "river",
         "portrait", "mountain", "desert", "robot", "garden", "storm", "ocean", "train")


@dataclass
class Person:
    """A simulated person: how they log in, their API key, some of their task ids."""

    email: str
    key: str
    task_uuids: list[str] = field(default_factory=list)


@dataclass
class Seeded:
    """What the load test needs to know about the seeded database."""

    people: list[Person]
    tasks: int
    images: int
    seconds: float


def _uuid(kind: str, number: int) -> str:
    # Deterministic, unique and as long as the service's own ids (shortuuid, 22 chars).
    return f"{kind}{number:021d}"


def seed(url: str, people: int = 50, tasks: int = 100_000, others: int = 950,
         people_share: float = 0.5, session_tasks: int = 150, seed_value: int = 14) -> Seeded:
    """Fill an empty, migrated database; returns the people and what was written."""
    started = time.perf_counter()
    rng = random.Random(seed_value)
    engine = sa.create_engine(url)
    cfg = Config
    password_hash = PasswordHasher(time_cost=cfg.ARGON2_TIME_COST,
                                   memory_cost=cfg.ARGON2_MEMORY_COST,
                                   parallelism=cfg.ARGON2_PARALLELISM).hash(PASSWORD)
    now = datetime.utcnow().replace(microsecond=0)
    users, keys, persons = [], [], []
    for number in range(1, people + others + 1):
        person = number <= people
        email = f"person{number}@load.test" if person else f"other{number}@load.test"
        users.append({
            "id": number, "uuid": _uuid("u", number), "sessionid": _uuid("s", number),
            "email": email, "password_hash": password_hash, "credits": GRANT,
            "role": "user", "active": True, "subscription": 0, "cancel_abandoned": False,
            "created_at": now - timedelta(days=120), "updated_at": now,
            "email_verified_at": now - timedelta(days=120), "username": f"user{number}"})
        if person:
            token = f"dd_load{number:04d}" + hashlib.sha256(
                f"{seed_value}:{number}".encode()).hexdigest()[:32]
            keys.append({"id": number, "user_id": number, "name": "load test",
                         "prefix": token[:11], "key_hash": hashlib.sha256(
                             token.encode()).hexdigest(), "created_at": now})
            persons.append(Person(email, token))
    base = {**row_values({**defaults(), "seed": 0}), "mask_blur": 4}
    task_rows, image_rows, ledger_rows = [], [], []
    spent = dict.fromkeys(range(1, people + others + 1), 0)
    own_count = dict.fromkeys(range(1, people + 1), 0)
    person_tasks = int(tasks * people_share)
    # Every person owns the same number of tasks; the newest of each person's are in their
    # current studio session (the studio shows up to 100 of them).
    owners = [1 + i % people for i in range(person_tasks)]
    owners += [people + 1 + rng.randrange(others) for _ in range(tasks - person_tasks)]
    rng.shuffle(owners)
    per_person = person_tasks // people if people else 0
    image_id = 0
    span = timedelta(days=90).total_seconds()
    for task_id, owner in enumerate(owners, start=1):
        created = now - timedelta(seconds=span * (1 - task_id / (tasks + 1)))
        size = rng.choice((64, 128, 256, 512))
        steps = rng.choice((4, 10, 20, 30))
        roll = rng.random()
        state = "done" if roll < 0.9 else ("failed" if roll < 0.95 else "cancelled")
        session = _uuid("old", task_id)
        if owner <= people:
            own_count[owner] += 1
            if own_count[owner] > per_person - session_tasks:
                session = _uuid("s", owner)
        cost = max(1, size * size * steps // Config.CREDIT_PIXEL_STEPS)
        spent[owner] += cost
        started_at = created + timedelta(seconds=rng.uniform(0.5, 30))
        finished_at = started_at + timedelta(seconds=0.05 * steps + size * size * steps / 2e6)
        uuid = _uuid("t", task_id)
        task_rows.append({
            **base, "id": task_id, "uuid": uuid, "user_id": owner, "sessionid": session,
            "mode": "txt2img", "prompt": " ".join(rng.sample(WORDS, 4)), "width": size,
            "height": size, "steps": steps, "seed": rng.randrange(2**32), "cost": cost,
            "refunded": cost if state == "failed" else 0, "state": state,
            "error": "The demo failed on purpose." if state == "failed" else None,
            "progress_step": steps if state == "done" else 0, "progress_total": steps,
            "source": rng.choice(("web", "api")), "model": rng.choice(MODELS), "attempts": 1,
            "cancel_requested": False, "created_at": created, "started_at": started_at,
            "finished_at": finished_at})
        if owner <= people and own_count[owner] > per_person - 20:
            persons[owner - 1].task_uuids.append(uuid)
        if state == "done":
            image_id += 1
            image_uuid = _uuid("i", image_id)
            owner_uuid = _uuid("u", owner)
            image_rows.append({
                "id": image_id, "uuid": image_uuid, "task_id": task_id, "user_id": owner,
                "index": 0,
                "path": f"{owner_uuid}/{uuid}/0.png", "thumb_path": f"{owner_uuid}/{uuid}/0.webp",
                "seed": task_rows[-1]["seed"], "width": size, "height": size, "nsfw": False,
                "public": rng.random() < 0.05, "favourite": rng.random() < 0.02,
                "hidden": False, "featured": image_id % 9973 == 0, "prompt_hidden": False,
                "content_hash": None, "created_at": finished_at})
    balance = dict.fromkeys(spent, GRANT)
    for user in users:
        ledger_rows.append({"user_id": user["id"], "delta": GRANT, "balance_after": GRANT,
                            "kind": "signup", "note": "load test", "task_id": None, "created_at":
                            now - timedelta(days=120)})
    for task in task_rows:
        owner = task["user_id"]
        balance[owner] -= task["cost"]
        ledger_rows.append({"user_id": owner, "delta": -task["cost"],
                            "balance_after": balance[owner], "kind": "charge",
                            "note": None, "task_id": task["id"], "created_at": task["created_at"]})
        if task["refunded"]:
            balance[owner] += task["refunded"]
            ledger_rows.append({"user_id": owner, "delta": task["refunded"],
                                "balance_after": balance[owner], "kind": "refund",
                                "note": None, "task_id": task["id"],
                                "created_at": task["finished_at"]})
    for user in users:
        user["credits"] = balance[user["id"]]
    with engine.begin() as conn:
        for table, rows in ((User.__table__, users), (ApiKey.__table__, keys),
                            (Task.__table__, task_rows), (Image.__table__, image_rows),
                            (CreditEntry.__table__, ledger_rows)):
            for start in range(0, len(rows), CHUNK):
                conn.execute(table.insert(), rows[start:start + CHUNK])
        if engine.dialect.name == "postgresql":
            # Explicit ids: move each sequence past them, or the service's inserts collide.
            for table in ("user", "api_key", "task", "image", "credit_entry"):
                conn.execute(sa.text(
                    f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                    f"(SELECT max(id) FROM \"{table}\"))"))
    if engine.dialect.name == "postgresql":
        # A database that grew to 100k tasks has long been vacuumed and analysed; without
        # this, autovacuum would do it for the new rows during the measured minute. Only
        # this schema's tables (the search path). SQLite gets no ANALYZE: a real embedded
        # deployment never runs one, so its planner must do without statistics.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text(
                'VACUUM ANALYZE "user", api_key, task, image, credit_entry'))
    engine.dispose()
    for person in persons:
        person.task_uuids.reverse()  # newest first
    return Seeded(persons, len(task_rows), len(image_rows), time.perf_counter() - started)
