"""Time estimates: a default before history, then learned from this server's own tasks."""

from datetime import datetime, timedelta

import pytest

from daydream.services import estimates


def finished(make_task, user, width, seconds, steps=20):
    start = datetime(2026, 1, 1, 12, 0, 0)
    return make_task(user, width=width, height=width, steps=steps, state="done",
                     started_at=start, finished_at=start + timedelta(seconds=seconds))


def test_default_before_any_history(app):
    with app.app_context():
        assert estimates.learned_rate() == (app.config["ESTIMATE_SECONDS_PER_MPX_STEP"],
                                            app.config["ESTIMATE_TASK_OVERHEAD"])


def test_learns_rate_and_overhead_from_finished_tasks(app, make_task, user):
    # 2 s fixed cost + 1 s per megapixel-step, at three sizes.
    for width in (256, 384, 512):
        units = width * width * 20 / 1e6
        finished(make_task, user, width, 2 + units)
    with app.app_context():
        rate, overhead = estimates.learned_rate()
        assert rate == pytest.approx(1.0, rel=0.01)
        assert overhead == pytest.approx(2.0, rel=0.01)
        assert estimates.estimate_seconds(512, 512, 10, 1) == pytest.approx(2 + 2.62, rel=0.02)


def test_one_size_of_history_uses_a_median_rate(app, make_task, user):
    for _ in range(3):
        finished(make_task, user, 512, 0.5 + 5.24)
    with app.app_context():
        rate, _ = estimates.learned_rate()
        assert rate == pytest.approx(1.0, rel=0.01)


def test_img2img_counts_only_the_steps_that_run():
    assert estimates.steps_that_run(20, 0.5, img2img=True) == 10
    assert estimates.steps_that_run(20, 0.5, img2img=False) == 20
    assert estimates.steps_that_run(3, 0.1, img2img=True) == 1


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
