"""Hires fix on the demo model: a first pass, an upscale (latent or Lanczos), a second pass
at the larger size; one progress count across both passes."""

from __future__ import annotations

import pytest

from daydream.engine.metadata import read_png_parameters
from daydream.engine.params import GenerationParams
from tests.engine.conftest import NUMPY_COPY_WARNING

pytestmark = pytest.mark.filterwarnings(NUMPY_COPY_WARNING)


def hires(**overrides) -> GenerationParams:
    return GenerationParams(**{"prompt": "a castle", "seed": 5, "width": 64, "height": 64,
                               "steps": 4, "enable_hr": True, "hr_scale": 2.0,
                               "strength": 0.5, **overrides})


@pytest.mark.parametrize("upscaler", ["Latent", "Lanczos"])
def test_output_is_at_the_upscaled_size_and_progress_spans_both_passes(engine, upscaler):
    steps = []
    result = engine.generate(hires(hr_upscaler=upscaler, hr_second_pass_steps=6),
                             on_step=steps.append, preview_every=2)
    assert [image.size for image in result.images] == [(128, 128)]
    # 4 first-pass steps + int(6 × 0.5) = 3 second-pass steps, counted as one bar.
    assert [s.step for s in steps] == [1, 2, 3, 4, 5, 6, 7]
    assert {s.total for s in steps} == {7} and result.steps_run == 7
    assert any(s.preview_jpeg for s in steps[4:]), "the second pass shows previews too"


def test_the_upscaler_and_the_second_pass_matter(engine):
    plain = engine.generate(GenerationParams(prompt="a castle", seed=5, width=64, height=64,
                                             steps=4))
    latent = engine.generate(hires(hr_upscaler="Latent"))
    lanczos = engine.generate(hires(hr_upscaler="Lanczos"))
    assert plain.images[0].size == (64, 64)
    assert latent.images[0].tobytes() != lanczos.images[0].tobytes()


def test_resize_to_a_given_size_and_batches(engine):
    result = engine.generate(hires(hr_resize_x=128, hr_resize_y=96, samples=2, n_iter=2))
    assert [image.size for image in result.images] == [(128, 96)] * 4
    assert result.seeds == [5, 6, 7, 8]
    assert result.steps_run == (4 + 2) * 2


def test_hires_metadata_like_a1111(engine):
    result = engine.generate(hires(hr_upscaler="Lanczos", hr_second_pass_steps=6))
    info = read_png_parameters(result.png_bytes(0))
    assert "Hires upscale: 2, Hires steps: 6, Hires upscaler: Lanczos" in info["text"]
    assert "Denoising strength: 0.5" in info["text"]
    assert info["parsed"]["enable_hr"] is True and info["parsed"]["hr_scale"] == 2.0
