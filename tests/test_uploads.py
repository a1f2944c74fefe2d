"""Init image uploads: size, type by content, decompression bombs, each with a clear message."""

import io
import struct
import zlib

import pytest
from sqlalchemy import select

from daydream.extensions import db
from daydream.models import Task
from tests.conftest import SMALL


@pytest.fixture
def logged_in(client, auth, user):
    auth.login(user.email)
    return user


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG file whose header claims a huge canvas (a decompression bomb)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00" * 64)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels)
            + chunk(b"IEND", b""))


def submit_with(client, data: bytes, name: str = "init.png"):
    return client.post("/studio/tasks", data={**SMALL, "strength": "0.5",
                                              "init_image": (io.BytesIO(data), name)})


def nothing_charged(app, user):
    with app.app_context():
        assert db.session.scalar(select(Task)) is None


def test_type_is_decided_by_content_not_name(client, logged_in, png_bytes):
    jpeg_named_png = png_bytes(fmt="JPEG").getvalue()
    assert submit_with(client, jpeg_named_png, "photo.png").status_code == 202


def test_text_file_named_png_is_refused(app, client, logged_in):
    response = submit_with(client, b"#!/bin/sh\necho not an image\n", "evil.png")
    assert response.status_code == 400
    assert response.json["error"]["message"] == "The file is not an image we can read."
    nothing_charged(app, logged_in)


def test_decompression_bomb_is_refused(app, client, logged_in):
    response = submit_with(client, png_claiming(30_000, 30_000))
    assert response.status_code == 400
    assert "at most" in response.json["error"]["message"]
    nothing_charged(app, logged_in)


def test_truncated_image_is_refused(app, client, logged_in, png_bytes):
    data = png_bytes(200, 200).getvalue()[:120]
    response = submit_with(client, data)
    assert response.status_code == 400
    assert "image" in response.json["error"]["message"]
    nothing_charged(app, logged_in)


def test_empty_upload_is_refused(client, logged_in):
    response = submit_with(client, b"")
    assert response.status_code == 400


def test_unsupported_format_is_named(client, logged_in, png_bytes):
    tiff = png_bytes(fmt="TIFF").getvalue()
    response = submit_with(client, tiff, "scan.tiff")
    assert response.status_code == 400
    assert "TIFF images are not accepted" in response.json["error"]["message"]


def test_upload_over_the_size_limit_is_413(app, client, logged_in):
    app.config["MAX_CONTENT_LENGTH"] = 50_000
    response = submit_with(client, b"\x89PNG" + b"0" * 60_000)
    assert response.status_code == 413
    nothing_charged(app, logged_in)


def test_variant_of_someone_elses_private_image_is_refused(client, logged_in):
    response = client.post("/studio/tasks", data={**SMALL, "init_from": "not-mine"})
    assert response.status_code == 400
    assert "cannot be used" in response.json["error"]["message"]
