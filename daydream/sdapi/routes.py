"""A1111-compatible views: the same paths, request and response shapes as its web UI's API."""

from __future__ import annotations

import re

from flask import current_app, jsonify, request

from daydream.api import auth
from daydream.api.common import ApiProblem, json_body
from daydream.engine.errors import ParamError
from daydream.engine.params import SCHEDULERS, canonical_scheduler
from daydream.errors import api_error
from daydream.sdapi import bp, checkpoints, progress, results
from daydream.sdapi.mapping import read_request
from daydream.sdapi.models import SAMPLER_ALIASES, SCHEDULE_TYPES
from daydream.services import idempotency, model_settings, tasks
from daydream.services.uploads import UploadError

OPTION_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,64}")


@bp.before_request
def require_key():
    """Like A1111 with ``--api-auth``: HTTP Basic with the API key as password (or Bearer)."""
    return auth.authenticate(challenge='Basic realm="daydream"')


@bp.errorhandler(ApiProblem)
def problem(error: ApiProblem):
    """An error raised by a view, in Daydream's one error shape."""
    return api_error(error.status, error.code, str(error), error.details, error.headers)


@bp.errorhandler(ParamError)
def invalid_parameters(error: ParamError):
    """Parameters out of range: 422, as FastAPI answers A1111 clients."""
    return api_error(422, "invalid_parameters",
                     "Some parameters need fixing: " + "; ".join(error.errors.values()),
                     error.errors)


@bp.errorhandler(UploadError)
def invalid_image(error: UploadError):
    """An image that is not valid base64 or not an image we accept."""
    return api_error(422, "invalid_image", str(error), {"image": str(error)})


@bp.errorhandler(tasks.SubmissionRefused)
def refused(error: tasks.SubmissionRefused):
    """Not enough credits, too many tasks, or a full queue: nothing was charged."""
    headers = {"Retry-After": str(error.retry_after)} if error.retry_after else None
    return api_error(error.status, error.code, str(error), headers=headers)


@bp.errorhandler(idempotency.KeyReused)
def idempotency_key_reused(error: idempotency.KeyReused):
    """The same Idempotency-Key with a different request body: nothing was submitted."""
    return api_error(422, "idempotency_key_reused", str(error))


def _once(body: dict) -> tuple[str, str] | None:
    raw = request.headers.get(idempotency.HEADER)
    if raw is None:
        return None
    try:
        return idempotency.check_key(raw), idempotency.fingerprint(body)
    except idempotency.InvalidKey as error:
        raise ApiProblem(422, "invalid_idempotency_key", str(error)) from error


def _generate(img2img: bool):
    body = json_body(status=422)
    user = auth.current()
    model = checkpoints.check_request(body, user)
    wanted = read_request(body, img2img, tasks.limits().max_samples)
    answer = results.run(user, wanted, img2img, current_app.config["SDAPI_WAIT_TIMEOUT"],
                         once=_once(body), model=model)
    response = jsonify(answer)
    if wanted.ignored:
        response.headers["X-Daydream-Ignored"] = ", ".join(wanted.ignored)
    return response


@bp.post("/txt2img")
def txt2img():
    """Generate from a prompt; waits for the queued task and answers images, parameters, info."""
    return _generate(img2img=False)


@bp.post("/img2img")
def img2img():
    """Generate from ``init_images[0]``; waits like txt2img."""
    return _generate(img2img=True)


@bp.get("/progress")
def progress_view():
    """The caller's own current task: progress 0..1, ETA, A1111's state dict, a preview."""
    skip = request.args.get("skip_current_image", "").lower() in ("1", "true", "yes")
    return jsonify(progress.of_user(auth.current(), skip_current_image=skip))


@bp.post("/interrupt")
def interrupt():
    """Stop the caller's own running task at its next step (others' tasks are untouched)."""
    progress.interrupt(auth.current())
    return jsonify({})


@bp.post("/skip")
def skip():
    """A1111 skips to the next image of a batch; a Daydream task runs as one, so it stops."""
    progress.interrupt(auth.current())
    return jsonify({})


@bp.get("/samplers")
def samplers():
    """The samplers Daydream offers, named as A1111 names them."""
    return jsonify([{"name": name,
                     "aliases": [a for a in SAMPLER_ALIASES.get(name, [])
                                 if canonical_scheduler(a) == name],
                     "options": {"scheduler": "karras"} if "Karras" in name else {}}
                    for name in SCHEDULERS])


@bp.get("/schedulers")
def schedulers():
    """The noise-schedule types (Karras variants are also separate sampler names)."""
    return jsonify(SCHEDULE_TYPES)


@bp.get("/sd-models")
def sd_models():
    """The enabled models of the library, titled ``name [hash]`` as A1111 does."""
    return jsonify(checkpoints.sd_models())


@bp.get("/loras")
def loras():
    """The LoRA files prompts can use with ``<lora:name:weight>``."""
    return jsonify(checkpoints.loras())


@bp.get("/options")
def get_options():
    """A1111 settings a client reads: the caller's own default checkpoint, the sample
    format, previews."""
    mine = model_settings.user_default(auth.current())
    return jsonify({"sd_model_checkpoint": checkpoints.title(mine),
                    "sd_checkpoint_hash": mine.hash,
                    "samples_format": "png", "enable_pnginfo": True,
                    "live_previews_enable": True, "sd_vae": "Automatic",
                    "CLIP_stop_at_last_layers": 1, "eta_noise_seed_delta": 0,
                    "show_progress_every_n_steps": current_app.config["PREVIEW_EVERY"]})


@bp.post("/options")
def set_options():
    """``sd_model_checkpoint`` sets the CALLER's default model (not the server's: other
    people are unaffected); an unusable model is refused (422). Other settings are ignored."""
    body = json_body(status=422)
    wanted = body.get("sd_model_checkpoint")
    if wanted not in (None, ""):
        user = auth.current()
        model_settings.set_user_default(
            user, checkpoints.checkpoint(str(wanted), "sd_model_checkpoint", user))
    response = jsonify(None)
    # Option names are the client's text: only plain identifiers go into a header.
    ignored = sorted(name for name in body
                     if name != "sd_model_checkpoint" and OPTION_NAME.fullmatch(name))[:50]
    if ignored:
        response.headers["X-Daydream-Ignored"] = ", ".join(ignored)
    return response


@bp.post("/png-info")
def png_info():
    """Read the generation parameters from a base64 PNG: info, items, parameters."""
    body = json_body(status=422)
    image = body.get("image")
    if not isinstance(image, str) or not image.strip():
        raise ApiProblem(422, "invalid_image", "image must be a base64-encoded image.",
                         {"image": "required"})
    return jsonify(results.png_info(image))


_EMPTY_LISTS = ("upscalers", "latent-upscale-modes", "sd-vae", "hypernetworks",
                "face-restorers", "prompt-styles", "realesrgan-models")


def _empty_list():
    """Nothing of this kind here (clients list these at start-up)."""
    return jsonify([])


for _name in _EMPTY_LISTS:
    bp.add_url_rule(f"/{_name}", f"empty_{_name.replace('-', '_')}", _empty_list)


@bp.get("/embeddings")
def embeddings():
    """No textual-inversion embeddings are loaded."""
    return jsonify({"loaded": {}, "skipped": {}})


@bp.get("/scripts")
def scripts():
    """No scripts are available."""
    return jsonify({"txt2img": [], "img2img": []})
