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


# Model affinity: A1 A2 B1 C1 C2 A3 with models m1 m2 m2 m1 m2 m1 (ids 1..6).
MIXED = [(1, 1, "m1"), (2, 1, "m2"), (3, 2, "m2"), (4, 3, "m1"), (5, 3, "m2"), (6, 1, "m1")]


def mixed_queue() -> LocalQueue:
    queue = LocalQueue(maxsize=0)
    for task_id, user, model in MIXED:
        queue.push(task_id, user, model)
    return queue


def drain(queue: LocalQueue, capacity: int | None) -> tuple[list[int], int]:
    """Pop everything as one worker holding ``capacity`` models (None: no affinity) that
    starts with m1; the order and the number of model switches it paid."""
    models = dict((task_id, model) for task_id, _, model in MIXED)
    held, order, switches = ["m1"], [], 0
    while len(queue):
        task_id = queue.pop(0, held=None if capacity is None else set(held))
        model = models[task_id]
        if model not in held:
            switches += 1
            held = ([model] + held)[:capacity or 1]
        else:
            held = [model] + [m for m in held if m != model]
        order.append(task_id)
    return order, switches


def test_affinity_runs_held_models_first_within_each_round():
    order, switches = drain(mixed_queue(), capacity=1)
    # Round 1: A1 and C1 (m1, held), then B1 (a switch to m2); round 2: A2 C2 on m2;
    # round 3: A3 (a switch back).
    assert order == [1, 4, 3, 2, 5, 6]
    assert switches == 2
    assert drain(mixed_queue(), capacity=None) == ([1, 3, 4, 2, 5, 6], 4)  # plain fair order


def test_affinity_never_lets_a_person_get_two_turns_before_another_gets_one():
    queue = LocalQueue(maxsize=0)
    served = {1: 0, 2: 0}
    for task_id in range(1, 11):
        queue.push(task_id, 1, "held")  # someone with a batch on the held model
    queue.push(100, 2, "other")  # one task that needs a switch
    while len(queue):
        task_id = queue.pop(0, held={"held"})
        user = 2 if task_id == 100 else 1
        served[user] += 1
        waiting = {1: served[1] < 10, 2: served[2] < 1}
        if all(waiting.values()):
            assert abs(served[1] - served[2]) <= 1
    assert served == {1: 10, 2: 1}


def test_tasks_of_models_other_workers_hold_are_left_to_them():
    queue = mixed_queue()
    # This worker holds m1; another live worker holds m2: it never takes an m2 task, and a
    # person's m2 task does not block their later m1 task.
    taken = [queue.pop(0, held={"m1"}, elsewhere={"m2"}) for _ in range(3)]
    assert taken == [1, 4, 6]
    assert queue.pop(0, held={"m1"}, elsewhere={"m2"}) is None
    assert sorted(queue.order()) == [2, 3, 5]
    # Turns count whoever served them: A already had two, C one, B none.
    assert [queue.pop(0, held={"m2"}, elsewhere={"m1"}) for _ in range(3)] == [3, 5, 2]


def test_a_task_without_a_model_runs_anywhere_and_old_callers_still_push():
    queue = LocalQueue(maxsize=0)
    queue.push(1, 1)
    assert queue.pop(0, held={"m1"}, elsewhere={"m2"}) == 1


# Hand-over: a worker idling in pop() with nobody waiting gets a submission directly.
def idle_in_pop(queue: LocalQueue, worker_id: str, held=None, timeout: float = 5):
    """Start a worker waiting in pop(); returns (thread, what it got)."""
    got: list = []
    thread = threading.Thread(target=lambda: got.append(
        queue.pop(timeout=timeout, held=held, worker_id=worker_id)))
    thread.start()
    threading.Event().wait(0.1)  # until it waits
    return thread, got


def test_an_idle_worker_is_handed_a_task_with_its_row():
    queue = LocalQueue(maxsize=10)
    thread, got = idle_in_pop(queue, "w1", held={"m1"})
    assert queue.reserve_idle_worker("m2") is None  # it would have to switch models
    assert queue.reserve_idle_worker("m1") == "w1"
    assert queue.reserve_idle_worker("m1") is None  # promised already
    queue.hand("w1", 42, row="the row as written")
    thread.join(5)
    assert got == [42]
    assert queue.handed_row(42) == "the row as written" and queue.handed_row(42) is None
    assert len(queue) == 0 and queue.order() == []


def test_a_reserved_worker_takes_nothing_else_until_the_hand_or_its_release():
    queue = LocalQueue(maxsize=10)
    thread, got = idle_in_pop(queue, "w1")
    assert queue.reserve_idle_worker(None) == "w1"
    queue.push(7, user_id=2)  # another submission, through the queue
    thread.join(0.3)
    assert thread.is_alive() and got == []  # still waiting for its hand-over
    queue.hand("w1", None)  # the submission failed: nothing to hand
    thread.join(5)
    assert got == [7] and queue.handed_row(7) is None


def test_nobody_is_passed_over_when_others_wait():
    queue = LocalQueue(maxsize=10)
    assert queue.reserve_idle_worker(None) is None  # no worker idles
    queue.push(3, user_id=2, model="m1")  # left to another worker, which holds m1
    got: list = []
    thread = threading.Thread(target=lambda: got.append(queue.pop(
        timeout=1, held={"m9"}, elsewhere={"m1"}, worker_id="w1")))
    thread.start()
    threading.Event().wait(0.1)
    assert queue.reserve_idle_worker("m9") is None  # task 3 waits: the queue decides
    thread.join(5)
    assert got == [None] and queue.order() == [3]
