"""Small fixes seen on a running server: /docs/, the Team card, local times, card shapes."""

from __future__ import annotations

from daydream.extensions import db
from daydream.models import User


def test_docs_with_a_trailing_slash(client):
    assert client.get("/docs/").status_code == 200
    assert client.get("/docs").status_code == 200


def test_team_card_explains_credits_instead_of_offering_sign_up(client):
    page = client.get("/").get_data(as_text=True)
    team = page[page.index("Ask your operator"):]
    team = team[:team.index('data-testid="plan"') if 'data-testid="plan"' in team else None]
    assert "Sign up" not in team and 'data-testid="team-credits"' in team


def test_timeline_cards_keep_shape_and_show_local_time(app, client, auth, user, make_images):
    auth.login(user.email)
    with app.app_context():
        sessionid = db.session.get(User, user.id).sessionid
    make_images(user, 1, width=128, height=64, sessionid=sessionid)
    page = client.get("/studio/").get_data(as_text=True)
    thumbnail = page[page.index('data-testid="task-card"'):]
    thumbnail = thumbnail[:thumbnail.index('data-testid="thumbnail"')]
    assert 'width="128" height="64"' in thumbnail and "object-cover" not in thumbnail
    assert "data-local>" in page and "js/localtime.js" in page


def test_theme_script_loads_before_the_page_paints(client):
    page = client.get("/").get_data(as_text=True)
    assert page.index("js/theme.js") < page.index("</head>")
    assert 'data-testid="theme-toggle"' in page
