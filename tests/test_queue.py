"""The in-process queue: bounded and fair between users."""

import threading

import pytest

from daydream.queue import QueueFull
from daydream.queue.local import LocalQueue


def test_round_robin_between_users():
    queue = LocalQueue(maxsize=10)
    submissions = [("A", 1), ("A", 2), ("B", 3), ("C", 4), ("C", 5), ("A", 6)]
    users = {"A": 1, "B": 2, "C": 3}
    for user, task_id in submissions:
        queue.push(task_id, users[user])
    assert queue.order() == [1, 3, 4, 2, 5, 6]  # A1 B1 C1 A2 C2 A3
    assert [queue.pop(0) for _ in range(6)] == [1, 3, 4, 2, 5, 6]
    assert queue.pop(0) is None


def test_a_big_batch_does_not_starve_a_latecomer():
    queue = LocalQueue(maxsize=50)
    for task_id in range(1, 21):
        queue.push(task_id, user_id=1)
    queue.pop(0)
    queue.push(100, user_id=2)
    assert queue.order()[0] == 100


def test_bound():
    queue = LocalQueue(maxsize=2)
    queue.push(1, 1)
    queue.push(2, 1)
    with pytest.raises(QueueFull, match="2 tasks waiting"):
        queue.push(3, 2)
    assert len(queue) == 2


def test_remove_keeps_the_rest_in_order():
    queue = LocalQueue(maxsize=10)
    for task_id, user in [(1, 1), (2, 1), (3, 2)]:
        queue.push(task_id, user)
    assert queue.remove(1) is True
    assert queue.remove(1) is False
    assert queue.order() == [2, 3]


def test_pop_waits_for_a_push():
    queue = LocalQueue(maxsize=10)
    threading.Timer(0.1, queue.push, args=(7, 1)).start()
    assert queue.pop(timeout=5) == 7


def test_cancel_flags():
    queue = LocalQueue(maxsize=1)
    queue.request_cancel(9)
    assert queue.cancel_requested(9)
    queue.clear_cancel(9)
    assert not queue.cancel_requested(9)
