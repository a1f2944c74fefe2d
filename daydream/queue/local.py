"""An in-process, bounded, fair queue (the embedded default).

Fairness is round-robin by turns: each user with waiting tasks has a lane, and the next task
comes from the lane that has been served the fewest turns, then the one served longest ago,
then the oldest. A newcomer joins at the current round, so it goes next rather than behind
someone's long batch: A1 A2 B1 C1 C2 A3 run as A1 B1 C1 A2 C2 A3.

Model affinity (see docs/architecture.md, "Fair queue"): a worker that says which models it
holds takes, within the current round, a task of a model it holds before one that needs a
switch, and leaves tasks of models other live workers hold to them.

Hand-over: when nobody waits and a worker idles in ``pop``, a submission may reserve that
worker, write its task as already running for it, and hand it over (with the row as written):
the worker then starts without reading or claiming the row, and nobody was passed over.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from daydream.queue import QueueFull


@dataclass
class _Lane:
    ids: deque[int] = field(default_factory=deque)
    turns: int = 0
    arrival: int = 0


def _candidate(lane: _Lane, models: Mapping[int, str | None], held: Collection[str] | None,
               elsewhere: Collection[str]) -> tuple[int, bool] | None:
    """The lane's task this worker would run, and whether it holds its model, or None.

    The lane's first task that is not left to another worker (a person's tasks keep their
    order among those this worker may run). A task without a model runs on any worker.
    """
    if held is None:
        return lane.ids[0], True
    for task_id in lane.ids:
        model = models.get(task_id)
        if not model or model in held:
            return task_id, True
        if model not in elsewhere:
            return task_id, False
    return None


def _take(lanes: dict[int, _Lane], last_served: dict[int, int], now: int,
          models: Mapping[int, str | None] | None = None,
          held: Collection[str] | None = None, elsewhere: Collection[str] = ()) -> int | None:
    """Pop the next id from ``lanes``: the fewest turns, then (with ``held``) a model the
    worker holds, then served longest ago, then the oldest lane. None: nothing for it."""
    candidates = {user: found for user, lane in lanes.items()
                  if (found := _candidate(lane, models or {}, held, elsewhere)) is not None}
    if not candidates:
        return None
    low = min(lanes[user].turns for user in candidates)
    user_id = min(
        (user for user in candidates if lanes[user].turns == low),
        key=lambda user: (not candidates[user][1], last_served.get(user, 0),
                          lanes[user].arrival))
    lane = lanes[user_id]
    task_id = candidates[user_id][0]
    lane.ids.remove(task_id)
    lane.turns += 1
    last_served[user_id] = now
    if not lane.ids:
        del lanes[user_id]
    return task_id


class LocalQueue:
    """Task ids per user, served by turns; one lock guards everything (``maxsize`` 0: no bound)."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._lanes: dict[int, _Lane] = {}
        self._owner: dict[int, int] = {}
        self._model: dict[int, str | None] = {}
        self._last_served: dict[int, int] = {}
        self._clock = 0  # a logical clock: orders arrivals and turns
        self._cond = threading.Condition()
        self._idle: dict[str, Collection[str] | None] = {}  # waiting in pop(): id → models
        self._reserved: set[str] = set()  # promised a hand-over: they take nothing else
        self._handed: dict[str, int] = {}  # worker id → the task handed to it
        self._rows: dict[int, Any] = {}  # handed task id → its row as the submission wrote it

    def _now(self) -> int:
        self._clock += 1
        return self._clock

    def push(self, task_id: int, user_id: int, model: str | None = None) -> None:
        """Enqueue (with the task's model, for affinity); a user without a lane joins the
        current round."""
        with self._cond:
            if 0 < self.maxsize <= len(self._owner):
                raise QueueFull(f"The queue is full ({self.maxsize} tasks waiting).")
            if task_id in self._owner:
                return
            lane = self._lanes.get(user_id)
            if lane is None:
                current_round = min((other.turns for other in self._lanes.values()), default=0)
                lane = self._lanes[user_id] = _Lane(turns=current_round, arrival=self._now())
            lane.ids.append(task_id)
            self._owner[task_id] = user_id
            self._model[task_id] = model
            self._cond.notify_all()

    def pop(self, timeout: float | None = None, held: Collection[str] | None = None,
            elsewhere: Collection[str] = (), worker_id: str | None = None) -> int | None:
        """Take the next task in fair order, waiting up to ``timeout`` seconds for one.

        ``held``: the models the asking worker holds (None: no affinity); ``elsewhere``: the
        models other live workers hold, whose tasks this worker leaves to them. A worker
        that gives its ``worker_id`` may be handed a task while it waits (see ``hand``).
        """
        def runnable() -> bool:
            return any(_candidate(lane, self._model, held, elsewhere) is not None
                       for lane in self._lanes.values())

        def ready() -> bool:
            if worker_id is None:
                return runnable()
            return worker_id in self._handed or (worker_id not in self._reserved
                                                 and runnable())

        with self._cond:
            if worker_id is not None:
                self._idle[worker_id] = held
            try:
                if not self._cond.wait_for(ready, timeout):
                    return None
            finally:
                self._idle.pop(worker_id, None)
            if worker_id in self._handed:
                return self._handed.pop(worker_id)
            task_id = _take(self._lanes, self._last_served, self._now(), self._model, held,
                            elsewhere)
            if task_id is not None:
                del self._owner[task_id]
                self._model.pop(task_id, None)
            return task_id

    def reserve_idle_worker(self, model: str | None) -> str | None:
        """A worker idling in ``pop`` that holds ``model``, if nobody waits: it is promised
        the caller's task and takes nothing else until ``hand`` (call it in every case)."""
        with self._cond:
            if self._owner:  # others wait: the fair order decides, not who came last
                return None
            for worker_id, held in self._idle.items():
                if worker_id not in self._reserved and worker_id not in self._handed and (
                        held is None or not model or model in held):
                    self._reserved.add(worker_id)
                    return worker_id
            return None

    def hand(self, worker_id: str, task_id: int | None, row: Any = None) -> None:
        """Give a reserved worker its task, written as running for it (``row``: the row as
        written, so the worker need not read it); ``task_id`` None: there is none after all
        (the submission failed), and the worker goes back to waiting."""
        with self._cond:
            self._reserved.discard(worker_id)
            if task_id is not None:
                self._handed[worker_id] = task_id
                self._rows[task_id] = row
            self._cond.notify_all()

    def handed_row(self, task_id: int) -> Any:
        """The row a handed task was written with (once; None: the task was not handed)."""
        with self._cond:
            return self._rows.pop(task_id, None)

    def model_of(self, task_id: int) -> str | None:
        """The model a waiting task asks for (None: any, or not waiting)."""
        with self._cond:
            return self._model.get(task_id)

    def remove(self, task_id: int) -> bool:
        """Drop a waiting id; False if it was not waiting."""
        with self._cond:
            user_id = self._owner.pop(task_id, None)
            if user_id is None:
                return False
            self._model.pop(task_id, None)
            lane = self._lanes[user_id]
            lane.ids.remove(task_id)
            if not lane.ids:
                del self._lanes[user_id]
            return True

    def order(self) -> list[int]:
        """Waiting ids in the fair order (a dry run of ``pop`` without affinity)."""
        with self._cond:
            lanes = {user: _Lane(deque(lane.ids), lane.turns, lane.arrival)
                     for user, lane in self._lanes.items()}
            served = dict(self._last_served)
            clock = self._clock
        order: list[int] = []
        while lanes:
            clock += 1
            order.append(_take(lanes, served, clock))
        return order

    def __len__(self) -> int:
        with self._cond:
            return len(self._owner)
