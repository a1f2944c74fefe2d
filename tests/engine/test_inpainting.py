"""Inpainting on the demo model, with an ordinary (4-channel) and an inpainting (9-channel)
UNet: outside the mask nothing changes; inside it, the picture is repainted."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from daydream.engine.demo import DEMO_INPAINT_NAME
from daydream.engine.inpaint import FILLS
from daydream.engine.metadata import read_png_parameters
from daydream.engine.params import GenerationParams
from daydream.engine.pipeline import Engine
from tests.engine.conftest import NUMPY_COPY_WARNING

pytestmark = pytest.mark.filterwarnings(NUMPY_COPY_WARNING)


@pytest.fixture(scope="module")
def inpaint_engine(engine_cache):
    """The demo model's inpainting variant (9-channel UNet)."""
    return Engine.load(DEMO_INPAINT_NAME, engine_cache, device="cpu")


@pytest.fixture(params=["4-channel", "9-channel"])
def either(request, engine, inpaint_engine):
    """Each engine in turn."""
    return engine if request.param == "4-channel" else inpaint_engine


@pytest.fixture(scope="module")
def init_image() -> Image.Image:
    """A colourful deterministic picture, 64x64 like the requests below."""
    rng = np.random.default_rng(7)
    return Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8))


@pytest.fixture(scope="module")
def mask() -> Image.Image:
    """White square in the middle: repaint there only."""
    image = Image.new("L", (64, 64), 0)
    image.paste(255, (16, 16, 48, 48))
    return image


def params(**overrides) -> GenerationParams:
    return GenerationParams(**{"prompt": "a red door", "seed": 99, "width": 64, "height": 64,
                               "steps": 4, "strength": 1.0, "mask_blur": 0, **overrides})


def test_the_two_engines_are_the_two_unet_kinds(engine, inpaint_engine):
    assert not engine.is_inpainting_model and inpaint_engine.is_inpainting_model
    assert inpaint_engine.model_name == DEMO_INPAINT_NAME and inpaint_engine.is_demo


def test_pixels_outside_the_mask_are_unchanged_inside_repainted(either, init_image, mask):
    result = either.generate(params(), init_image=init_image, mask=mask)
    out = np.asarray(result.images[0], dtype=np.int16)
    original = np.asarray(init_image, dtype=np.int16)
    keep = np.asarray(mask) == 0
    assert result.images[0].size == (64, 64)
    assert np.abs(out[keep] - original[keep]).max() <= 1, "outside the mask must not change"
    assert np.abs(out[~keep] - original[~keep]).mean() > 10, "inside the mask is repainted"
    assert result.steps_run == 4 and result.mask


def test_mask_blur_softens_the_edge(engine, init_image, mask):
    sharp = engine.generate(params(), init_image=init_image, mask=mask).images[0]
    soft = engine.generate(params(mask_blur=4), init_image=init_image, mask=mask).images[0]
    just_outside = (slice(12, 16), slice(20, 44))  # a band outside the square's top edge
    original = np.asarray(init_image, dtype=np.int16)[just_outside]
    assert np.array_equal(np.asarray(sharp, dtype=np.int16)[just_outside], original)
    assert not np.array_equal(np.asarray(soft, dtype=np.int16)[just_outside], original)


@pytest.mark.parametrize("fill", FILLS)
def test_every_masked_content_choice_runs(engine, init_image, mask, fill):
    result = engine.generate(params(inpainting_fill=fill, strength=0.5), init_image=init_image,
                             mask=mask)
    keep = np.asarray(mask) == 0
    out, original = np.asarray(result.images[0]), np.asarray(init_image)
    assert np.array_equal(out[keep], original[keep]) and result.steps_run == 2


def test_only_masked_area_at_full_resolution(either, init_image):
    small = Image.new("L", (64, 64), 0)
    small.paste(255, (40, 40, 56, 56))
    result = either.generate(params(inpaint_full_res=True, inpaint_full_res_padding=8),
                             init_image=init_image, mask=small)
    out, original = np.asarray(result.images[0]), np.asarray(init_image)
    keep = np.asarray(small) == 0
    assert np.abs(out[keep].astype(int) - original[keep]).max() <= 1
    assert not np.array_equal(out[~keep], original[~keep])


def test_the_inpainting_model_also_does_txt2img_and_img2img(inpaint_engine, init_image):
    plain = inpaint_engine.generate(params(strength=0.75))
    assert plain.images[0].size == (64, 64) and plain.steps_run == 4
    redrawn = inpaint_engine.generate(params(strength=0.5), init_image=init_image)
    assert redrawn.steps_run == 2 and redrawn.img2img


def test_inpainting_metadata(engine, init_image, mask):
    result = engine.generate(params(mask_blur=3, inpaint_full_res=True), init_image=init_image,
                             mask=mask)
    info = read_png_parameters(result.png_bytes(0))
    assert info["parsed"]["mask_blur"] == 3 and info["parsed"]["inpaint_full_res"] is True
    assert info["daydream"]["mask"] is True
