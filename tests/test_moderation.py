"""Moderation by the safety checker (DAYDREAM_MODERATION off / flag / blur), on the real
worker and demo model with a tiny checker that flags every image."""

import io

import numpy as np
import pytest
from PIL import Image as PILImage
from sqlalchemy import select

from daydream.config import Config, ConfigError
from daydream.extensions import db
from daydream.models import Image
from daydream.services import storage
from tests.conftest import SMALL, fetch, wait_for
from tests.engine.conftest import NUMPY_COPY_WARNING, make_safety_checker

pytestmark = pytest.mark.filterwarnings(NUMPY_COPY_WARNING)


@pytest.fixture(scope="module")
def flag_everything(tmp_path_factory):
    """A tiny checker whose thresholds flag every image."""
    return make_safety_checker(tmp_path_factory.mktemp("checker") / "c", flag_everything=True)


@pytest.fixture
def moderated(request, app, flag_everything):
    """The app set to the moderation mode of the test's parameter (before its worker starts)."""
    app.config.update(MODERATION=request.param, SAFETY_CHECKER=str(flag_everything))
    return request.param


@pytest.fixture
def own_worker(app, moderated):
    """A worker that loads the demo model (and the checker) the way `daydream serve` does."""
    from daydream.worker import Worker

    running = Worker(app).start()
    running.wait_ready(300)
    yield running
    running.stop()


def sharpness(data: bytes) -> float:
    """Mean absolute difference between neighbouring pixels: blur drives it down."""
    pixels = np.asarray(PILImage.open(io.BytesIO(data)).convert("L"), dtype=np.int16)
    return float(np.abs(np.diff(pixels, axis=1)).mean())


@pytest.mark.parametrize("moderated", ["off", "flag", "blur"], indirect=True)
def test_moderation_modes(app, client, auth, user, moderated, own_worker):
    auth.login(user.email)
    task_id = client.post("/studio/tasks", data={**SMALL, "width": "128", "height": "128",
                                                 "steps": "3"}).json["task"]["id"]
    wait_for(lambda: client.get(f"/studio/tasks/{task_id}").json["state"] == "done", 120)
    with app.app_context():
        image = db.session.scalar(select(Image))
        png = storage.absolute(image.path).read_bytes()
        with PILImage.open(io.BytesIO(png)) as full:
            plain = sharpness(storage.thumbnail(full.convert("RGB")))
        shown = sharpness(storage.absolute(image.thumb_path).read_bytes())
        flagged, uuid = image.nsfw, image.uuid
    card = client.get("/studio/").get_data(as_text=True)
    assert flagged is (moderated != "off")
    assert ('data-testid="nsfw-flag"' in card) is flagged
    if moderated == "blur":
        assert shown < plain / 2, "a flagged image's thumbnail is blurred"
    else:
        assert shown == pytest.approx(plain, rel=0.05)
    # Shared or not, a flagged image stays out of the gallery; its owner still has the PNG.
    client.post(f"/studio/images/{uuid}/share", data={"shared": "1"})
    assert (uuid in client.get("/gallery").get_data(as_text=True)) is not flagged
    assert fetch(client, f"/media/{uuid}.png").status_code == 200


def test_moderation_setting_is_checked(monkeypatch):
    monkeypatch.setenv("DAYDREAM_MODERATION", "BLUR")
    assert Config.from_env()["MODERATION"] == "blur"
    monkeypatch.setenv("DAYDREAM_MODERATION", "strict")
    with pytest.raises(ConfigError, match="DAYDREAM_MODERATION must be one of: off, flag, blur"):
        Config.from_env()
