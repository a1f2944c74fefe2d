"""The library through the API: list and filter every image, favourite, ZIP, delete."""

from __future__ import annotations

from flask import jsonify

from daydream.api import auth, bp, schemas, serialize
from daydream.api.common import ApiProblem, check, json_body, query_params
from daydream.models import Image
from daydream.services import archives, library


def _own_image(image_id: str) -> Image:
    image = library.owned_image(auth.current(), image_id)
    if image is None:
        raise ApiProblem(404, "not_found", "No such image among yours.")
    return image


def _chosen() -> list[Image]:
    body = json_body()
    check(schemas.IMAGE_IDS, body)
    return library.owned_images(auth.current(), body["ids"])


@bp.get("/v1/library")
def list_library():
    """Your images across all sessions, newest first, filtered, paged by a cursor."""
    params = query_params(schemas.LIBRARY_PARAMETERS)
    raw = {name: str(value) for name, value in params.items()}
    try:
        filters = library.parse_filter(raw)
    except library.LibraryQueryError as error:
        raise ApiProblem(400, "invalid_parameters", str(error), error.errors) from error
    user = auth.current()
    listing = library.page(user, filters, params.get("before"), params.get("limit", 48))
    return jsonify(images=[serialize.library_image_view(image) for image in listing.images],
                   next_cursor=listing.next_cursor, total=library.count(user))


@bp.post("/v1/images/<image_id>/favourite")
def favourite_image(image_id: str):
    """Mark or unmark one of your images as a favourite."""
    image = _own_image(image_id)
    body = json_body()
    check(schemas.FAVOURITE_REQUEST, body)
    library.set_favourite(image, body["favourite"])
    return jsonify(serialize.library_image_view(image))


@bp.delete("/v1/images/<image_id>")
def delete_image(image_id: str):
    """Delete one of your images: its file and its row."""
    return jsonify(deleted=library.delete_images([_own_image(image_id)]))


@bp.post("/v1/library/delete")
def delete_images():
    """Delete several of your images at once (ids that are not yours are skipped)."""
    return jsonify(deleted=library.delete_images(_chosen()))


@bp.post("/v1/library/zip")
def zip_images():
    """Download several of your images as one ZIP, streamed."""
    chosen = _chosen()
    response = archives.archive_response(
        archives.images_archive(chosen, f"daydream-library-{len(chosen)}.zip"))
    if response is None:
        raise ApiProblem(404, "no_images", "None of those images is yours or still on disk.")
    return response

