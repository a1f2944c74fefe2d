"""The Redis lanes and shared state on a real redis-server: fair across processes, same
choices as the in-process queue, flags and previews seen by every process."""

from __future__ import annotations

import threading

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from daydream.queue.redis_lanes import RedisLanes
from daydream.queue.rq_backend import RQQueue
from daydream.shared.memory import MemoryState
from daydream.shared.redis import RedisState


@pytest.fixture
def connection(redis_server):
    client = redis.Redis.from_url(redis_server.url)
    client.flushdb()
    yield client
    client.close()


def test_two_submitting_processes_and_two_takers_keep_the_fair_order(connection, redis_server):
    web_one = RQQueue(redis.Redis.from_url(redis_server.url), job_timeout=60)
    web_two = RQQueue(redis.Redis.from_url(redis_server.url), job_timeout=60)
    users = {"A": 1, "B": 2, "C": 3}
    plan = [("A", 1, web_one), ("A", 2, web_two), ("B", 3, web_one), ("C", 4, web_two),
            ("C", 5, web_one), ("A", 6, web_two)]
    for user, task_id, web in plan:
        web.push(task_id, users[user])
    assert web_one.order() == web_two.order() == [1, 3, 4, 2, 5, 6]  # A1 B1 C1 A2 C2 A3
    assert web_one.rq.count == 6  # one wake-up job per task
    taken: list[int] = []
    takers = [RedisLanes(redis.Redis.from_url(redis_server.url)) for _ in range(2)]
    lock = threading.Lock()

    def take(lanes: RedisLanes) -> None:
        while True:
            with lock:  # record in the order of the pops themselves
                task_id = lanes.pop()
                if task_id is None:
                    return
                taken.append(task_id)

    threads = [threading.Thread(target=take, args=(lanes,)) for lanes in takers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert taken == [1, 3, 4, 2, 5, 6]


def test_a_latecomer_goes_next_and_removal_keeps_the_order(connection):
    lanes = RedisLanes(connection)
    for task_id in range(1, 21):
        lanes.push(task_id, user_id=1)
    assert lanes.pop() == 1
    lanes.push(100, user_id=2)
    assert lanes.order()[0] == 100
    assert lanes.remove(100) is True and lanes.remove(100) is False
    lanes.push(2, user_id=1)  # already waiting: not added twice
    assert lanes.order() == list(range(2, 21)) and len(lanes) == 19


def test_top_up_replaces_wake_up_jobs_redis_lost(connection):
    queue = RQQueue(connection, job_timeout=60)
    queue.push(1, 1)
    queue.push(2, 2)
    queue.rq.empty()
    assert queue.top_up() == 2 and queue.rq.count == 2
    assert queue.top_up() == 0


@pytest.fixture(params=["memory", "redis"])
def states(request, connection, redis_server):
    """Two views of one shared state, as two processes would have."""
    if request.param == "memory":
        state = MemoryState()
        return state, state
    return (RedisState(redis.Redis.from_url(redis_server.url)),
            RedisState(redis.Redis.from_url(redis_server.url)))


def test_flags_previews_presence_and_workers_are_shared(states):
    web, worker = states
    web.request_cancel(7)
    assert worker.cancel_requested(7) and not worker.cancel_requested(8)
    worker.clear_cancel(7)
    assert not web.cancel_requested(7)
    worker.set_preview(7, b"jpeg")
    assert web.preview(7) == b"jpeg"
    worker.clear_preview(7)
    assert web.preview(7) is None
    worker.set_progress(7, 3, 20)
    assert web.progress(7) == (3, 20) and web.progress(8) is None
    worker.clear_progress(7)
    assert web.progress(7) is None
    web.page_opened(3)
    assert worker.away_for(3) == 0
    web.page_closed(3)
    assert 0 <= worker.away_for(3) < 5
    worker.worker_alive("w1", ["daydream-demo", "daydream-demo-xl"], ttl=30)
    assert web.models() == {"w1": ["daydream-demo", "daydream-demo-xl"]}
    worker.worker_gone("w1")
    assert web.models() == {}


def test_a_waiter_wakes_on_the_finish_event_not_a_timeout(states):
    web, worker = states
    finished = threading.Event()
    threading.Timer(0.3, lambda: (finished.set(), worker.task_finished("abc"))).start()
    import time

    start = time.monotonic()
    assert web.wait_finished("abc", 10, finished.is_set) is True
    assert time.monotonic() - start < 2  # woken by the event, long before the 5 s recheck
    assert web.wait_finished("other", 0.2, lambda: False) is False


def test_a_waiter_that_just_submitted_skips_the_database_but_not_a_signal(states):
    """A submitter knows its task is unfinished: its wait starts with the finish signal,
    which is remembered, so a task that finished before the wait began is not missed."""
    import time

    web, worker = states
    looks = []

    def is_finished() -> bool:
        looks.append(1)
        return True

    worker.task_finished("early")  # finished before anyone waited
    start = time.monotonic()
    assert web.wait_finished("early", 10, is_finished, seen_unfinished=True) is True
    assert time.monotonic() - start < 2 and looks == []

    threading.Timer(0.3, lambda: worker.task_finished("late")).start()
    assert web.wait_finished("late", 10, is_finished, seen_unfinished=True) is True
    assert looks == []  # woken by the signal alone
    # Without a signal the database is still looked at, at the latest at the timeout's end.
    assert web.wait_finished("never", 0.2, lambda: False, seen_unfinished=True) is False
    assert web.wait_finished("anyway", 10, is_finished) is True and looks == [1]


def test_an_unreachable_redis_reads_as_no_news(redis_server):
    state = RedisState(redis.Redis(port=1, socket_connect_timeout=0.2,
                                   retry=Retry(NoBackoff(), 0)))
    assert state.cancel_requested(1) is False and state.preview(1) is None
    assert state.progress(1) is None
    state.set_preview(1, b"x")  # logged, not raised
    state.set_progress(1, 1, 2)
    assert state.models() == {}


def test_affinity_pops_in_lua_choose_as_the_local_queue_does(connection):
    """Random pushes, pops by workers holding different models, removals: the Lua script and
    ``local._take`` take the same task every time."""
    import random

    from daydream.queue.local import LocalQueue

    rng = random.Random(11)
    lanes, local = RedisLanes(connection), LocalQueue(maxsize=0)
    models = ["sd1", "xl", "other", None]
    views = [({"sd1"}, {"xl"}), ({"xl"}, {"sd1"}), ({"sd1", "xl"}, set()), ({"other"}, set()),
             (None, set())]
    next_id, popped = 1, 0
    for _ in range(400):
        action = rng.random()
        if action < 0.5:
            user, model = rng.randint(1, 4), rng.choice(models)
            lanes.push(next_id, user, model)
            local.push(next_id, user, model)
            next_id += 1
        elif action < 0.95:
            held, elsewhere = rng.choice(views)
            taken = lanes.pop(held, elsewhere)
            assert taken == local.pop(0, held=held, elsewhere=elsewhere)
            popped += taken is not None
        elif next_id > 1:
            victim = rng.randint(1, next_id - 1)
            assert lanes.remove(victim) == local.remove(victim)
        assert lanes.order() == local.order()
    assert popped > 100
    assert lanes.model_of(next_id - 1) == local.model_of(next_id - 1)
