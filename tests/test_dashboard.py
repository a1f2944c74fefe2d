"""The admin dashboard: counts and chart series a person reads at a glance."""

import json
from datetime import timedelta
from pathlib import Path

from daydream.extensions import db
from daydream.models import CreditEntry, EntryKind
from daydream.models.base import utcnow
from daydream.services import dashboard


def test_counts_and_series(app, user, make_task):
    now = utcnow().replace(minute=30)
    hour_ago = now - timedelta(hours=1)
    make_task(user, state="done", created_at=hour_ago, started_at=hour_ago + timedelta(
        seconds=4), finished_at=hour_ago + timedelta(seconds=10))
    make_task(user, state="failed", created_at=hour_ago, started_at=hour_ago)
    make_task(user, state="queued", created_at=now)
    make_task(user, state="done", created_at=now - timedelta(days=3))
    with app.app_context():
        db.session.add(CreditEntry(user_id=user.id, delta=-12, balance_after=0,
                                   kind=EntryKind.CHARGE.value, created_at=hour_ago))
        db.session.add(CreditEntry(user_id=user.id, delta=2, balance_after=0,
                                   kind=EntryKind.REFUND.value, created_at=hour_ago))
        db.session.commit()
        counts = dashboard.counts()
        assert counts["users"] == 1 and counts["queued"] == 1 and counts["images"] == 0
        charts = dashboard.charts(now)
    day, week = charts["day"], charts["week"]
    assert len(day["labels"]) == 24 and len(week["labels"]) == 7
    assert day["done"][-2] == 1 and day["failed"][-2] == 1 and sum(day["done"]) == 1
    assert day["wait"][-2] == 2.0 and day["run"][-2] == 6.0  # mean of 4 s and 0 s waits
    assert day["credits"][-2] == 10, "credits spent are charges net of refunds"
    assert sum(week["done"]) == 2 and week["done"][-4] == 1


def test_dashboard_page_embeds_data_and_vendored_chart_js(app, client, auth, staff):
    auth.login(staff.email)
    page = client.get("/admin/").get_data(as_text=True)
    assert 'data-testid="count-users"' in page and 'data-testid="chart-tasks"' in page
    data = json.loads(page.split('<script type="application/json" id="dashboard-data">')[1]
                      .split("</script>")[0])
    assert set(data) == {"day", "week"}
    assert "vendor/chart.umd.min.js" in page and "js/admin-dashboard.js" in page
    assert "<script>" not in page, "no inline scripts (CSP)"
    vendored = Path(app.static_folder) / "vendor" / "chart.umd.min.js"
    assert vendored.stat().st_size > 100_000


def test_the_dashboard_reads_only_recent_rows(app, user, make_task):
    """Its counts and charts cover the last day and weeks: read by index, not every task
    and ledger row the site ever had."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        import pytest

        pytest.skip("the plan is read with SQLite's EXPLAIN QUERY PLAN")
    from tests.querycount import sqlite_plans, statements

    make_task(user, state="done")
    with app.app_context(), statements(app) as seen:
        dashboard.counts()
        dashboard.charts()
    plans = sqlite_plans(app, seen)
    recent = [plan for plan in plans if "created_at" in plan]
    assert len(recent) >= 3, plans
    assert all("SCAN task" not in plan and "SCAN credit_entry" not in plan
               for plan in recent), plans
