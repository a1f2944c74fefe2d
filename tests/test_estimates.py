"""Time estimates: a default before history, then learned from this server's own tasks."""

import statistics
from datetime import datetime, timedelta

import pytest

from daydream.services import estimates


def request(width, height, steps, samples=1) -> dict:
    return {"width": width, "height": height, "steps": steps, "samples": samples}


def finished(make_task, user, width, seconds, steps=20):
    start = datetime(2026, 1, 1, 12, 0, 0)
    return make_task(user, width=width, height=width, steps=steps, state="done",
                     started_at=start, finished_at=start + timedelta(seconds=seconds))


def test_default_before_any_history(app):
    with app.app_context():
        model = estimates.learned_rate()
        assert model.per_mpx_step == app.config["ESTIMATE_SECONDS_PER_MPX_STEP"]
        assert model.per_task == app.config["ESTIMATE_TASK_OVERHEAD"]


def test_learns_rate_and_overhead_from_finished_tasks(app, make_task, user):
    # 2 s fixed cost + 1 s per megapixel-step, at three sizes.
    for width in (256, 384, 512):
        units = width * width * 20 / 1e6
        finished(make_task, user, width, 2 + units)
    with app.app_context():
        model = estimates.learned_rate()
        assert model.per_mpx_step == pytest.approx(1.0, rel=0.01)
        assert model.per_task == pytest.approx(2.0, rel=0.01)
        assert estimates.estimate_request(request(512, 512, 10), "txt2img") == pytest.approx(
            2 + 2.62, rel=0.02)


def test_one_size_of_history_uses_a_median_rate(app, make_task, user):
    for _ in range(3):
        finished(make_task, user, 512, 0.5 + 5.24)
    with app.app_context():
        assert estimates.learned_rate().per_mpx_step == pytest.approx(1.0, rel=0.01)


def test_learns_a_cost_per_step_and_per_pixel(app, make_task, user):
    # 0.3 s fixed + 0.02 s a step + 0.5 s per megapixel-step + 1 s per megapixel decoded.
    start = datetime(2026, 1, 1, 12, 0, 0)
    for width, steps in ((64, 10), (64, 50), (256, 10), (256, 40), (512, 20), (384, 30),
                         (128, 25)):
        mpx = width * width / 1e6
        seconds = 0.3 + 0.02 * steps + 0.5 * mpx * steps + 1.0 * mpx
        make_task(user, width=width, height=width, steps=steps, state="done",
                  started_at=start, finished_at=start + timedelta(seconds=seconds))
    with app.app_context():
        model = estimates.learned_rate()
        assert model == pytest.approx((0.3, 0.02, 0.5, 1.0, 0.0), rel=0.01, abs=1e-6)
        # A small image with many steps is slow for its pixels: the step cost says so.
        expected = 0.3 + 0.02 * 100 + 0.5 * 0.004096 * 100 + 0.004096
        assert estimates.estimate_request(request(64, 64, 100), "txt2img") == pytest.approx(
            expected, rel=0.01)


# 0.3 s fixed + 0.02 s a step + 0.5 s per megapixel-step + 1 s per megapixel decoded + 40 s
# per megapixel² of one image and step (self-attention): a made-up server's true costs.
TRUE = (0.3, 0.02, 0.5, 1.0, 40.0)
MIXED = [(64, 10), (64, 50), (256, 10), (256, 40), (512, 20), (384, 30), (128, 25),
         (448, 12), (192, 60), (320, 35), (96, 80), (512, 8)]


def history(make_task, user, sizes, slower=lambda index: 1.0):
    """Finished tasks, oldest first, taking the TRUE time (× ``slower(index)``)."""
    start = datetime(2026, 1, 1, 12, 0, 0)
    for index, (width, steps) in enumerate(sizes):
        seconds = estimates.predict(estimates.RateModel(*TRUE),
                                    estimates.request_features(request(width, width, steps),
                                                               "txt2img"))
        began = start + timedelta(minutes=index)
        make_task(user, width=width, height=width, steps=steps, state="done", started_at=began,
                  finished_at=began + timedelta(seconds=seconds * slower(index)))


def test_learns_the_attention_cost_of_large_images(app, make_task, user):
    history(make_task, user, MIXED)
    with app.app_context():
        assert estimates.learned_rate() == pytest.approx(TRUE, rel=0.01)
        big = estimates.request_features(request(1024, 1024, 30), "txt2img")
        assert estimates.estimate_request(request(1024, 1024, 30), "txt2img") == pytest.approx(
            estimates.predict(estimates.RateModel(*TRUE), big), rel=0.01)


def test_a_stall_of_the_machine_does_not_skew_the_model(app, make_task, user):
    # One task in the middle of the history took five times as long as its settings explain.
    history(make_task, user, MIXED + MIXED[:6], slower=lambda index: 5.0 if index == 3 else 1.0)
    with app.app_context():
        for width, steps in ((64, 30), (512, 30), (256, 100)):
            truth = estimates.predict(estimates.RateModel(*TRUE), estimates.request_features(
                request(width, width, steps), "txt2img"))
            assert estimates.estimate_request(request(width, width, steps), "txt2img") == \
                pytest.approx(truth, rel=0.02)


def test_estimates_follow_a_machine_that_became_slower(app, make_task, user):
    # The last eight tasks ran 1.5 times slower (another job on the box): so will the next.
    sizes = MIXED + MIXED[:8]
    history(make_task, user, sizes, slower=lambda index: 1.5 if index >= len(MIXED) else 1.0)
    with app.app_context():
        truth = estimates.predict(estimates.RateModel(*TRUE), estimates.request_features(
            request(320, 320, 30), "txt2img"))
        assert estimates.estimate_request(request(320, 320, 30), "txt2img") == pytest.approx(
            1.5 * truth, rel=0.1)


def test_img2img_counts_only_the_steps_that_run():
    from daydream.generation.work import steps_that_run

    assert steps_that_run(20, 0.5, from_image=True) == 10
    assert steps_that_run(20, 0.5, from_image=False) == 20
    assert steps_that_run(3, 0.1, from_image=True) == 1


def test_hires_fix_counts_both_passes():
    base = {"width": 128, "height": 128, "steps": 10, "samples": 1, "n_iter": 1,
            "strength": 0.5}
    plain = estimates.request_features(base, "txt2img")
    hires = estimates.request_features({**base, "enable_hr": True, "hr_scale": 2.0,
                                        "hr_second_pass_steps": 0}, "txt2img")
    assert plain == pytest.approx((1.0, 10.0, 0.016384 * 10, 0.016384, 0.016384 ** 2 * 10))
    # The second pass: 256x256, int(10 × 0.5) = 5 steps.
    assert hires == pytest.approx((1.0, 15.0, 0.016384 * 10 + 0.065536 * 5, 0.016384 + 0.065536,
                                   0.016384 ** 2 * 10 + 0.065536 ** 2 * 5))


def test_queue_eta_adds_up_tasks_ahead(app, client, auth, make_user):
    from tests.conftest import SMALL

    ids = []
    for email in ("q1@example.com", "q2@example.com"):
        auth.login(make_user(email).email)
        ids.append(client.post("/studio/tasks", data=SMALL).json["task"]["id"])
    first = client.get(f"/studio/tasks/{ids[1]}").json
    assert first["position"] == 2
    auth.logout()
    auth.login("q1@example.com")
    ahead = client.get(f"/studio/tasks/{ids[0]}").json
    assert 0 < ahead["eta"] < first["eta"]


# (width, height, steps, samples): what people mix on a real server, scaled to the demo model
# so that each task lasts about 0.3-1.5 s on one CPU thread (long enough that a scheduling
# hiccup of a shared machine is a small part of it; the whole test takes under a minute).
TRAINING = [(64, 64, 60, 1), (128, 128, 40, 1), (192, 192, 20, 1), (64, 128, 80, 1),
            (128, 128, 30, 2), (192, 128, 40, 1), (256, 256, 15, 1), (128, 64, 50, 2),
            (192, 192, 35, 1), (64, 64, 100, 1), (128, 192, 30, 1), (64, 192, 40, 2),
            (256, 128, 30, 1), (96, 96, 70, 1), (128, 128, 60, 1), (64, 64, 50, 2),
            (320, 192, 12, 1), (256, 256, 25, 1), (96, 192, 45, 1), (192, 64, 60, 1)]
TRIALS = [(128, 128, 50, 1), (192, 192, 30, 1), (64, 64, 80, 2), (96, 128, 55, 1),
          (256, 192, 20, 1), (64, 128, 40, 2), (128, 192, 40, 1), (320, 320, 8, 1),
          (64, 64, 90, 1), (192, 128, 25, 2), (256, 256, 20, 1), (96, 96, 60, 2)]


def test_estimates_hold_within_20_percent_on_the_demo_model(app, client, auth, make_user,
                                                             worker):
    """After 20 mixed tasks, the estimates shown before Run match the real run times."""
    from daydream.services import tasks
    from tests.conftest import SMALL, wait_for

    auth.login(make_user("timer@example.com", credits=10**7).email)

    def run(width, height, steps, samples) -> float:
        form = {**SMALL, "width": str(width), "height": str(height), "steps": str(steps),
                "samples": str(samples)}
        task_id = client.post("/studio/tasks", data=form).json["task"]["id"]
        status = wait_for(lambda: (s := client.get(f"/studio/tasks/{task_id}").json)["state"]
                          in ("done", "failed", "cancelled") and s, timeout=120, interval=0.2)
        assert status["state"] == "done", status
        return status["seconds"]

    def trial_round() -> float:
        """Each trial's estimate (as the studio quotes it before Run) against its run time;
        the error of all of them together."""
        rows = []
        for width, height, steps, samples in TRIALS:
            settings = {"prompt": "x", "width": width, "height": height, "steps": steps,
                        "samples": samples, "scheduler": "Euler"}
            with app.app_context():
                estimate = tasks.quote(settings).seconds
            actual = run(width, height, steps, samples)
            rows.append((f"{width}x{height}x{steps}x{samples}", estimate, actual))
        for name, estimate, actual in rows:
            print(f"  {name:>14}: estimated {estimate:5.2f} s, took {actual:5.2f} s, "
                  f"{(estimate - actual) / actual:+.0%}")
        estimated, took = sum(r[1] for r in rows), sum(r[2] for r in rows)
        typical = statistics.median(abs(r[1] - r[2]) / r[2] for r in rows)
        print(f"  together: estimated {estimated:.1f} s, took {took:.1f} s, "
              f"{(estimated - took) / took:+.1%}; median task off by {typical:.0%}")
        return (estimated - took) / took

    for size in TRAINING:
        run(*size)
    print(f"\nestimate vs real run time after {len(TRAINING)} mixed tasks on the demo model:")
    error = trial_round()
    if abs(error) > 0.20:
        # Another process on the shared cores can slow any stretch of tasks by half after
        # they were estimated, which no estimate can know; a wrong model misses again.
        print("  missed by more than 20 %: once more, now with those tasks in the history")
        error = trial_round()
    assert abs(error) <= 0.20


def test_the_estimate_reads_only_the_latest_finished_tasks(app, make_task, user):
    """Every page with a wait asks for the estimate: it must read the last finished tasks
    by index, not sort every finished task ever (a scan that grows with the history)."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("the plan is read with SQLite's EXPLAIN QUERY PLAN")
    from tests.querycount import sqlite_plans, statements

    now = datetime(2026, 1, 1)
    for index in range(3):
        make_task(user, state="done", started_at=now, finished_at=now + timedelta(
            seconds=1 + index))
    with app.app_context(), statements(app) as seen:
        first = estimates.learned_rate()
    plans = sqlite_plans(app, seen)
    assert len(plans) == 2, plans  # the newest finished task, then the history to fit
    assert all("ix_task_state_finished_at" in plan for plan in plans), plans
    assert not any("TEMP B-TREE" in plan for plan in plans), plans
    # Nothing finished since: the fit is reused, after one lookup.
    with app.app_context(), statements(app) as again:
        assert estimates.learned_rate() == first
    assert len(again) == 1


def test_a_newly_finished_task_refits_the_estimate(app, make_task, user):
    start = datetime(2026, 1, 1, 12, 0, 0)
    for width in (256, 384, 512):
        finished(make_task, user, width, 2 + width * width * 20 / 1e6)
    with app.app_context():
        before = estimates.learned_rate()
    # The same sizes, now twice as slow and finished later: the newest pace wins.
    for width in (256, 384, 512):
        make_task(user, width=width, height=width, steps=20, state="done",
                  started_at=start + timedelta(hours=1), finished_at=start + timedelta(
                      hours=1, seconds=2 * (2 + width * width * 20 / 1e6)))
    with app.app_context():
        after = estimates.learned_rate()
    assert estimates.predict(after, (1, 20, 5.24, 0.26, 0.0)) > \
        1.5 * estimates.predict(before, (1, 20, 5.24, 0.26, 0.0))


def test_within_the_refit_interval_the_estimate_costs_no_query(app, make_task, user,
                                                               monkeypatch):
    """Every submit and event asks for the estimate: between refits it must be free."""
    from tests.querycount import statements

    app.config["ESTIMATE_REFIT_INTERVAL"] = 5.0
    clock = [1000.0]
    monkeypatch.setattr(estimates, "monotonic", lambda: clock[0])
    start = datetime(2026, 1, 1, 12, 0, 0)
    for width in (256, 384, 512):
        finished(make_task, user, width, 2 + width * width * 20 / 1e6)
    with app.app_context():
        before = estimates.learned_rate()
    for width in (256, 384, 512):  # twice as slow, finished later
        make_task(user, width=width, height=width, steps=20, state="done",
                  started_at=start + timedelta(hours=1), finished_at=start + timedelta(
                      hours=1, seconds=2 * (2 + width * width * 20 / 1e6)))
    clock[0] += 4.9
    with app.app_context(), statements(app) as seen:
        assert estimates.learned_rate() == before  # still inside the interval
    assert seen == []
    clock[0] += 0.2
    with app.app_context():
        after = estimates.learned_rate()
    assert estimates.predict(after, (1, 20, 5.24, 0.26, 0.0)) > \
        1.5 * estimates.predict(before, (1, 20, 5.24, 0.26, 0.0))
