"""Generation on the demo model: seeds, schedulers, img2img, progress, previews, cancel, NSFW."""

from __future__ import annotations

import io
import threading

import numpy as np
import pytest
from PIL import Image

from daydream.engine.errors import GenerationCancelled, ModelLoadError
from daydream.engine.metadata import read_png_parameters
from daydream.engine.params import MAX_SEED, SCHEDULERS, GenerationParams
from daydream.engine.pipeline import Engine, StepProgress
from tests.engine.conftest import NUMPY_COPY_WARNING, SMALL, make_safety_checker

pytestmark = pytest.mark.filterwarnings(NUMPY_COPY_WARNING)


def small(**overrides) -> GenerationParams:
    """Fast parameters: 64x64, 4 steps, fixed seed unless overridden."""
    return GenerationParams(**{"prompt": "a lantern in fog", "seed": 1234, **SMALL, **overrides})


def array(image: Image.Image) -> np.ndarray:
    """Image as a signed int array, for differences."""
    return np.asarray(image, dtype=np.int16)


@pytest.fixture(scope="module")
def init_image() -> Image.Image:
    """A deterministic gradient; deliberately not 64x64 to exercise the resize."""
    x = np.linspace(0, 255, 96, dtype=np.uint8)
    return Image.fromarray(np.stack([np.tile(x, (80, 1))] * 3, axis=-1))


def test_txt2img_basics(engine):
    result = engine.generate(small(samples=2, width=64, height=128))
    assert [im.size for im in result.images] == [(64, 128), (64, 128)]
    assert result.seeds == [1234, 1235]
    assert result.nsfw == [False, False]
    assert result.steps_run == 4 and result.seconds > 0
    assert result.params.seed == 1234 and result.model_name == "daydream-demo"
    assert not result.img2img
    assert all(array(im).std() > 1 for im in result.images)  # noise, but not a blank image


def test_same_seed_same_bytes_different_seed_different_pixels(engine):
    first = engine.generate(small(samples=2))
    again = engine.generate(small(samples=2))
    assert [first.png_bytes(i) for i in range(2)] == [again.png_bytes(i) for i in range(2)]
    other = engine.generate(small(seed=999))
    assert first.images[0].tobytes() != other.images[0].tobytes()
    assert first.images[0].tobytes() != first.images[1].tobytes()


def test_second_image_of_a_batch_matches_its_seed_alone(engine):
    batch = engine.generate(small(samples=2, seed=50))
    alone = engine.generate(small(seed=51))
    # One generator per image: the batch's 2nd image is seed 51's, up to batched-math rounding.
    assert np.abs(array(batch.images[1]) - array(alone.images[0])).max() <= 2


def test_random_seed_is_drawn_and_returned(engine):
    result = engine.generate(small(seed=None, samples=2))
    first = result.seeds[0]
    assert 0 <= first <= MAX_SEED and result.seeds[1] == (first + 1) % (MAX_SEED + 1)
    assert result.params.seed == first
    replay = engine.generate(small(seed=first, samples=2))
    assert replay.images[1].tobytes() == result.images[1].tobytes()


def test_seeds_wrap_at_the_top_of_the_range(engine):
    assert engine.generate(small(seed=MAX_SEED, samples=2, steps=1)).seeds == [MAX_SEED, 0]


@pytest.mark.parametrize("name", SCHEDULERS)
def test_every_scheduler_runs_reproducibly(engine, name):
    params = small(scheduler=name, steps=3)
    steps: list[StepProgress] = []
    result = engine.generate(params, on_step=steps.append)
    # PLMS (diffusers' PNDM without PRK steps) evaluates the model once more than asked.
    expected = 4 if name == "PLMS" else 3
    assert result.steps_run == expected
    assert [p.step for p in steps] == list(range(1, expected + 1))
    assert all(p.total == expected for p in steps)
    assert not np.isnan(array(result.images[0])).any() and array(result.images[0]).std() > 1
    assert engine.generate(params).images[0].tobytes() == result.images[0].tobytes()
    parsed = read_png_parameters(result.png_bytes(0))["parsed"]
    assert parsed["scheduler"] == name


def test_lms_coefficients_are_exact_without_scipy():
    from daydream.engine.schedulers import LMSScheduler

    scheduler = LMSScheduler(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012)
    scheduler.set_timesteps(12)
    sigmas = [float(s) for s in scheduler.sigmas]
    for t, order in ((5, 4), (8, 3), (1, 2)):
        for current in range(order):
            # Lagrange basis polynomial, integrated exactly with numpy's polynomial tools.
            poly = np.polynomial.Polynomial([1.0])
            for k in range(order):
                if k != current:
                    root = sigmas[t - k]
                    poly *= np.polynomial.Polynomial([-root, 1.0]) / (sigmas[t - current] - root)
            integral = poly.integ()
            expected = integral(sigmas[t + 1]) - integral(sigmas[t])
            assert scheduler.get_lms_coefficient(order, t, current) == pytest.approx(expected)


def test_progress_reports_elapsed_and_eta(engine):
    steps: list[StepProgress] = []
    engine.generate(small(steps=5), on_step=steps.append, preview_every=0)
    assert [(p.step, p.total) for p in steps] == [(i, 5) for i in range(1, 6)]
    assert all(b.elapsed >= a.elapsed for a, b in zip(steps, steps[1:], strict=False))
    assert steps[-1].eta == 0 and steps[0].eta > 0
    assert all(p.preview_jpeg is None for p in steps)


def test_img2img_runs_fewer_steps_and_resizes(engine, init_image):
    steps: list[StepProgress] = []
    result = engine.generate(
        small(steps=10, strength=0.5), init_image=init_image, on_step=steps.append
    )
    assert result.img2img and result.steps_run == 5
    assert [(p.step, p.total) for p in steps] == [(i, 5) for i in range(1, 6)]
    assert result.images[0].size == (64, 64)
    again = engine.generate(small(steps=10, strength=0.5), init_image=init_image)
    assert again.images[0].tobytes() == result.images[0].tobytes()
    info = read_png_parameters(result.png_bytes(0))
    assert info["parsed"]["strength"] == 0.5 and info["daydream"]["img2img"] is True


def test_img2img_strength_matters_and_differs_from_txt2img(engine, init_image):
    light = engine.generate(small(steps=10, strength=0.3), init_image=init_image)
    heavy = engine.generate(small(steps=10, strength=1.0), init_image=init_image)
    plain = engine.generate(small(steps=10))
    assert light.steps_run == 3 and heavy.steps_run == 10
    assert light.images[0].tobytes() != heavy.images[0].tobytes()
    assert light.images[0].tobytes() != plain.images[0].tobytes()


def test_previews_at_the_interval(engine):
    steps: list[StepProgress] = []
    engine.generate(small(steps=6, width=128, height=64), on_step=steps.append, preview_every=2)
    with_preview = [p.step for p in steps if p.preview_jpeg]
    assert with_preview == [2, 4, 6]
    with Image.open(io.BytesIO(steps[1].preview_jpeg)) as preview:
        # At latent resolution (1/8), like A1111's "Approx cheap"; browsers scale it up.
        assert preview.format == "JPEG" and preview.size == (16, 8)
    assert len(steps[1].preview_jpeg) < 5_000


def test_previews_at_most_once_per_preview_interval(engine):
    rare: list[StepProgress] = []
    engine.generate(small(steps=4), on_step=rare.append, preview_interval=3600)
    assert [p.step for p in rare] == [1, 2, 3, 4]  # progress every step
    assert [p.step for p in rare if p.preview_jpeg] == [1]  # the first, then not for an hour
    every: list[StepProgress] = []
    engine.generate(small(steps=4), on_step=every.append, preview_interval=0)
    assert [p.step for p in every if p.preview_jpeg] == [1, 2, 3, 4]


def test_preview_is_capped_and_denoised_differs_from_latent(engine):
    for name in ("Euler a", "DPM++ 2M"):
        denoised, noisy = [], []
        engine.generate(
            small(scheduler=name, width=256, height=128),
            preview_max_side=16,
            on_step=lambda p, out=denoised: out.append(p.preview_jpeg),
        )
        engine.generate(
            small(scheduler=name, width=256, height=128),
            preview_denoised=False,
            preview_max_side=16,
            on_step=lambda p, out=noisy: out.append(p.preview_jpeg),
        )
        with Image.open(io.BytesIO(denoised[0])) as first:
            assert first.size == (16, 8)  # latent 32x16, capped at 16
        assert denoised[0] != noisy[0], name  # x0 estimate, not the noisy latent


def test_previews_do_not_change_the_image(engine):
    with_previews = engine.generate(small(scheduler="Euler a"), on_step=lambda p: None)
    without = engine.generate(small(scheduler="Euler a"))
    assert with_previews.images[0].tobytes() == without.images[0].tobytes()


def test_cancel_mid_run_skips_decode_and_engine_recovers(engine, monkeypatch):
    reference = engine.generate(small(steps=6)).images[0].tobytes()
    vae = engine._txt2img.vae
    decodes = []
    original = vae.decode
    monkeypatch.setattr(vae, "decode", lambda *a, **k: decodes.append(1) or original(*a, **k))
    stop = threading.Event()
    seen: list[int] = []

    def on_step(progress: StepProgress) -> None:
        seen.append(progress.step)
        if progress.step == 2:
            stop.set()  # as a cancel request from another thread would

    with pytest.raises(GenerationCancelled) as caught:
        engine.generate(small(steps=6), on_step=on_step, should_stop=stop)
    assert (caught.value.step, caught.value.total) == (3, 6)
    assert seen == [1, 2] and decodes == []
    assert engine.generate(small(steps=6)).images[0].tobytes() == reference
    assert decodes == [1]


def test_cancel_before_start_and_during_img2img(engine, init_image):
    with pytest.raises(GenerationCancelled) as caught:
        engine.generate(small(), should_stop=lambda: True)
    assert caught.value.step == 0
    calls = []

    def stop_after_one() -> bool:
        calls.append(1)
        return len(calls) > 2  # False before the run, False at step 1, True at step 2

    with pytest.raises(GenerationCancelled, match="after step 2 of 5"):
        engine.generate(
            small(steps=10, strength=0.5), init_image=init_image, should_stop=stop_after_one
        )
    assert engine.generate(small(steps=10, strength=0.5), init_image=init_image).steps_run == 5


def test_engine_revalidates_parameters(engine):
    from daydream.engine.params import ParamError

    with pytest.raises(ParamError) as caught:
        engine.generate(small(width=65, scheduler="nope"))
    assert set(caught.value.errors) == {"width", "scheduler"}
    with pytest.raises(ParamError, match="at least one step"):
        engine.generate(small(steps=2, strength=0.2), init_image=Image.new("RGB", (64, 64)))


@pytest.mark.parametrize("flag_everything", [True, False])
def test_safety_checker_flags_without_blacking_out(engine_cache, tmp_path, flag_everything):
    folder = make_safety_checker(tmp_path / "checker", flag_everything=flag_everything)
    checked = Engine.load(None, engine_cache, device="cpu", safety_checker=str(folder))
    result = checked.generate(small(samples=2))
    assert result.nsfw == [flag_everything] * 2
    assert all(array(im).std() > 1 for im in result.images)  # reported, not silently black


def test_missing_safety_checker_is_a_load_error(engine_cache, tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "empty-hub"))
    with pytest.raises(ModelLoadError, match="safety checker .* nor in the local Hugging Face"):
        Engine.load(None, engine_cache, device="cpu", safety_checker=True)
