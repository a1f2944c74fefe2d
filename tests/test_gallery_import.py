"""``daydream gallery import FOLDER``: good folders fill the gallery, bad files are refused."""

import io

from PIL import Image as PILImage
from PIL import PngImagePlugin
from sqlalchemy import select

from daydream.extensions import db
from daydream.models import Image, Task

INFOTEXT = ("a lighthouse in a storm, oil painting\nNegative prompt: blurry\n"
            "Steps: 30, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 6.5, "
            "Seed: 1234, Size: 48x32, Model: sd15")


def png(colour=(10, 200, 30), size=(48, 32), infotext: str | None = None) -> bytes:
    buffer = io.BytesIO()
    info = PngImagePlugin.PngInfo()
    if infotext:
        info.add_text("parameters", infotext)
    PILImage.new("RGB", size, colour).save(buffer, "PNG", pnginfo=info)
    return buffer.getvalue()


def jpeg() -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGB", (40, 40), (200, 20, 20)).save(buffer, "JPEG")
    return buffer.getvalue()


def run_import(app, folder, *args):
    return app.test_cli_runner().invoke(args=["gallery", "import", str(folder), *args])


def test_import_a_good_folder(app, client, staff, tmp_path):
    folder = tmp_path / "seed"
    (folder / "more").mkdir(parents=True)
    (folder / "storm.png").write_bytes(png(infotext=INFOTEXT))
    (folder / "more" / "red_sunset.jpg").write_bytes(jpeg())
    result = run_import(app, folder)
    assert result.exit_code == 0, result.output
    assert "imported storm.png" in result.output and "imported more/red_sunset.jpg" in result.output
    assert "Imported 2 image(s) for staff@example.com; skipped 0." in result.output
    with app.app_context():
        storm = db.session.scalar(select(Task).where(Task.prompt.like("a lighthouse%")))
        assert (storm.steps, storm.guidance, storm.seed) == (30, 6.5, 1234)
        assert storm.negative_prompt == "blurry" and storm.scheduler.startswith("DPM++ 2M")
        assert storm.source == "import" and storm.state == "done" and storm.cost == 0
        sunset = db.session.scalar(select(Task).where(Task.prompt == "red sunset"))
        assert sunset is not None, "the file name is the prompt when there is no metadata"
        assert all(image.public for image in db.session.scalars(select(Image)))
    page = client.get("/gallery").get_data(as_text=True)
    assert page.count('data-testid="gallery-item"') == 2 and "a lighthouse in a storm" in page


def test_bad_files_are_refused_with_clear_messages(app, staff, tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    good = png(infotext=INFOTEXT)
    (folder / "a.png").write_bytes(good)
    (folder / "b-copy.png").write_bytes(good)
    (folder / "notes.txt").write_text("not a picture")
    (folder / "broken.png").write_bytes(good[:40])
    (folder / ".DS_Store").write_bytes(b"\0\1")
    result = run_import(app, folder)
    assert result.exit_code == 0, result.output
    assert "imported a.png" in result.output
    assert "skipped b-copy.png: already in the gallery" in result.output
    assert "skipped notes.txt: not an image we can use" in result.output
    assert "skipped broken.png: not an image we can use" in result.output
    assert ".DS_Store" not in result.output
    assert "skipped 3." in result.output
    again = run_import(app, folder)
    assert "Imported 0 image(s)" in again.output and "skipped a.png: already" in again.output
    with app.app_context():
        assert db.session.query(Image).count() == 1


def test_missing_folder_and_missing_owner(app, tmp_path, make_user):
    result = run_import(app, tmp_path / "nowhere")
    assert result.exit_code != 0 and "does not exist" in result.output
    (tmp_path / "empty").mkdir()
    result = run_import(app, tmp_path / "empty")
    assert result.exit_code != 0 and "No staff account to own the images" in result.output
    person = make_user("artist@example.com")
    result = run_import(app, tmp_path / "empty", "--owner", person.email)
    assert result.exit_code == 0 and "for artist@example.com" in result.output


def test_featured_imports_replace_the_landing_squares(app, client, staff, tmp_path):
    assert b'data-testid="landing-featured"' not in client.get("/").data
    folder = tmp_path / "featured"
    folder.mkdir()
    (folder / "one.png").write_bytes(png(infotext=INFOTEXT))
    run_import(app, folder, "--feature")
    landing = client.get("/").get_data(as_text=True)
    assert 'data-testid="landing-featured"' in landing
    assert landing.count('data-testid="featured-image"') == 1
