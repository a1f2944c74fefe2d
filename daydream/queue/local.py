"""An in-process, bounded, fair queue (the embedded default).

Fairness is round-robin by turns: each user with waiting tasks has a lane, and the next task
comes from the lane that has been served the fewest turns, then the one served longest ago,
then the oldest. A newcomer joins at the current round, so it goes next rather than behind
someone's long batch: A1 A2 B1 C1 C2 A3 run as A1 B1 C1 A2 C2 A3.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field

from daydream.queue import QueueFull


@dataclass
class _Lane:
    ids: deque[int] = field(default_factory=deque)
    turns: int = 0
    arrival: int = 0


def _take(lanes: dict[int, _Lane], last_served: dict[int, int], now: int) -> int:
    """Pop the next id from ``lanes`` (fewest turns, served longest ago, oldest lane)."""
    user_id, lane = min(
        lanes.items(),
        key=lambda item: (item[1].turns, last_served.get(item[0], 0), item[1].arrival))
    task_id = lane.ids.popleft()
    lane.turns += 1
    last_served[user_id] = now
    if not lane.ids:
        del lanes[user_id]
    return task_id


class LocalQueue:
    """Task ids per user, served by turns; one lock guards everything."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._lanes: dict[int, _Lane] = {}
        self._owner: dict[int, int] = {}
        self._last_served: dict[int, int] = {}
        self._clock = 0  # a logical clock: orders arrivals and turns
        self._cancel: set[int] = set()
        self._cond = threading.Condition()

    def _now(self) -> int:
        self._clock += 1
        return self._clock

    def push(self, task_id: int, user_id: int) -> None:
        """Enqueue; a user without a lane joins the current round."""
        with self._cond:
            if len(self._owner) >= self.maxsize:
                raise QueueFull(f"The queue is full ({self.maxsize} tasks waiting).")
            if task_id in self._owner:
                return
            lane = self._lanes.get(user_id)
            if lane is None:
                current_round = min((other.turns for other in self._lanes.values()), default=0)
                lane = self._lanes[user_id] = _Lane(turns=current_round, arrival=self._now())
            lane.ids.append(task_id)
            self._owner[task_id] = user_id
            self._cond.notify()

    def pop(self, timeout: float | None = None) -> int | None:
        """Take the next task in fair order, waiting up to ``timeout`` seconds for one."""
        with self._cond:
            if not self._owner and not self._cond.wait_for(lambda: self._owner, timeout):
                return None
            task_id = _take(self._lanes, self._last_served, self._now())
            del self._owner[task_id]
            return task_id

    def remove(self, task_id: int) -> bool:
        """Drop a waiting id; False if it was not waiting."""
        with self._cond:
            user_id = self._owner.pop(task_id, None)
            if user_id is None:
                return False
            lane = self._lanes[user_id]
            lane.ids.remove(task_id)
            if not lane.ids:
                del self._lanes[user_id]
            return True

    def order(self) -> list[int]:
        """Waiting ids in the order they will be taken (a dry run of ``pop``)."""
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

    def request_cancel(self, task_id: int) -> None:
        """Flag a running task to stop at its next step."""
        with self._cond:
            self._cancel.add(task_id)

    def cancel_requested(self, task_id: int) -> bool:
        """Whether a stop was asked for this task."""
        return task_id in self._cancel

    def clear_cancel(self, task_id: int) -> None:
        """Forget the stop flag of a finished task."""
        with self._cond:
            self._cancel.discard(task_id)

    def __len__(self) -> int:
        with self._cond:
            return len(self._owner)
