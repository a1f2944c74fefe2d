"""Model behaviour that does not depend on a page: timestamps, uniqueness, cascades."""

import time

import pytest
from sqlalchemy.exc import IntegrityError

from daydream.extensions import db
from daydream.models import Task, User

pytestmark = pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)


def test_timestamps_are_evaluated_per_row(app, make_user):
    first = make_user()
    time.sleep(0.01)
    second = make_user()
    assert first.created_at < second.created_at
    assert first.uuid != second.uuid and first.sessionid != second.sessionid


def test_email_is_unique(app, make_user):
    make_user("same@example.com")
    with app.app_context():
        db.session.add(User(email="same@example.com", password_hash="x"))
        with pytest.raises(IntegrityError):
            db.session.commit()


def test_deleting_a_user_removes_tasks_and_ledger(app, make_user):
    user = make_user()
    with app.app_context():
        db.session.add(Task(user_id=user.id, prompt="a cat", width=64, height=64, steps=2,
                            guidance=7.0, scheduler="Euler", seed=123456789012))
        db.session.commit()
        db.session.delete(db.session.get(User, user.id))
        db.session.commit()
        assert db.session.query(Task).count() == 0


def test_seed_holds_the_full_32_bit_range(app, make_user):
    user = make_user()
    with app.app_context():
        task = Task(user_id=user.id, prompt="p", width=64, height=64, steps=1, guidance=1.0,
                    scheduler="Euler", seed=2**32 - 1)
        db.session.add(task)
        db.session.commit()
        assert db.session.get(Task, task.id).seed == 2**32 - 1


def test_an_image_belongs_to_its_tasks_owner(app, make_user):
    """The library reads a person's images by ``image.user_id``: it is always the task's
    owner, also when the code that made the image did not say."""
    from daydream.models import Image

    owner, other = make_user("owner@example.com"), make_user("other@example.com")
    with app.app_context():
        task = Task(user_id=owner.id, prompt="p", width=64, height=64, steps=2, guidance=7.0,
                    scheduler="Euler", seed=1, cost=1)
        db.session.add(task)
        db.session.flush()
        db.session.add(Image(task_id=task.id, path="a.png", thumb_path="a.webp", seed=1,
                             width=64, height=64))
        db.session.commit()
        assert db.session.scalar(db.select(Image.user_id)) == owner.id != other.id
