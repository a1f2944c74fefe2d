"""Parameter validation: every bad field reported at once, readable, normalised output."""

from __future__ import annotations

import pytest

from daydream.engine.params import (
    MAX_SEED,
    SCHEDULERS,
    GenerationParams,
    Limits,
    ParamError,
    canonical_scheduler,
    validate,
    validate_params,
)


def test_defaults_are_valid_and_unchanged():
    params = GenerationParams(prompt="a lighthouse at dusk")
    assert validate_params(params) == params
    assert validate is validate_params


def test_required_schedulers_have_a1111_names():
    for name in ("Euler", "Euler a", "DPM++ 2M", "DPM++ 2M Karras", "DDIM", "PLMS", "LMS"):
        assert name in SCHEDULERS


def test_all_bad_fields_reported_together():
    bad = GenerationParams(
        prompt="x" * 1001,
        width=100,
        height=2048,
        steps=0,
        cfg_scale=31,
        samples=5,
        seed=2**32,
        scheduler="Karras Euler Deluxe",
        strength=0,
    )
    with pytest.raises(ParamError) as caught:
        validate_params(bad)
    errors = caught.value.errors
    assert set(errors) == {
        "prompt",
        "width",
        "height",
        "steps",
        "cfg_scale",
        "samples",
        "seed",
        "scheduler",
        "strength",
    }
    assert errors["width"] == "width must be a multiple of 8 between 64 and 1024"
    assert errors["steps"] == "steps must be a whole number between 1 and 100"
    assert errors["cfg_scale"] == "cfg_scale must be a number between 1 and 30"
    assert errors["prompt"] == "prompt must be at most 1000 characters"
    assert "Euler a" in errors["scheduler"]
    assert str(caught.value).count(";") == len(errors) - 1  # one readable line


def test_pixel_budget_is_checked_separately_from_sides():
    with pytest.raises(ParamError) as caught:
        validate_params(GenerationParams(prompt="p", width=768, height=768))
    assert set(caught.value.errors) == {"size"}
    assert "262144" in caught.value.errors["size"]
    roomy = Limits(max_pixels=768 * 768)
    assert validate_params(GenerationParams(prompt="p", width=768, height=768), roomy).width == 768


def test_normalisation_of_form_like_input():
    params = validate_params(
        {
            "prompt": "p",
            "width": "256",
            "height": 128.0,
            "steps": "30",
            "cfg_scale": "7.5",
            "samples": 2,
            "seed": "-1",
            "scheduler": "dpm++ 2m karras",
            "strength": "0.5",
            "negative_prompt": None,
        }
    )
    assert params == GenerationParams(
        prompt="p",
        width=256,
        height=128,
        steps=30,
        cfg_scale=7.5,
        samples=2,
        seed=None,
        scheduler="DPM++ 2M Karras",
        strength=0.5,
        negative_prompt="",
    )


@pytest.mark.parametrize("seed", [0, 1, MAX_SEED])
def test_seed_range_edges_accepted(seed):
    assert validate_params(GenerationParams(prompt="p", seed=seed)).seed == seed


@pytest.mark.parametrize("seed", [-2, MAX_SEED + 1, "abc", 1.5, True])
def test_bad_seeds_rejected(seed):
    with pytest.raises(ParamError) as caught:
        validate_params(GenerationParams(prompt="p", seed=seed))
    assert set(caught.value.errors) == {"seed"}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("width", 63),
        ("width", 1032),
        ("height", 60),
        ("steps", 101),
        ("steps", True),
        ("cfg_scale", 0.5),
        ("cfg_scale", float("nan")),
        ("samples", 0),
        ("strength", 1.01),
        ("strength", -0.1),
        ("prompt", 5),
        ("negative_prompt", "n" * 1001),
    ],
)
def test_each_bound(field, value):
    with pytest.raises(ParamError) as caught:
        validate_params(
            GenerationParams(prompt="p", **{field: value})
            if field != "prompt"
            else GenerationParams(prompt=value)
        )
    assert list(caught.value.errors) == [field]


def test_img2img_needs_at_least_one_step():
    params = GenerationParams(prompt="p", steps=3, strength=0.2)
    assert validate_params(params) == params  # txt2img ignores strength
    with pytest.raises(ParamError) as caught:
        validate_params(params, img2img=True)
    assert "at least one step" in caught.value.errors["strength"]


def test_unknown_and_missing_keys_in_mappings():
    with pytest.raises(ParamError) as caught:
        validate_params({"prompt": "p", "sampler": "Euler"})
    assert caught.value.errors == {"sampler": "sampler is not a known parameter"}
    with pytest.raises(ParamError) as caught:
        validate_params({"width": 512})
    assert caught.value.errors == {"prompt": "prompt is required"}


def test_param_error_single_field_form():
    error = ParamError("width", "width is odd")
    assert error.errors == {"width": "width is odd"}
    assert isinstance(error, ValueError)


def test_scheduler_aliases():
    assert canonical_scheduler("PNDM") == "PLMS"
    assert canonical_scheduler("k_euler_a") == "Euler a"
    assert canonical_scheduler("EULER  A") == "Euler a"
    assert canonical_scheduler("Heun") is None


def test_from_dict_ignores_foreign_keys_and_to_dict_round_trips():
    params = GenerationParams.from_dict({"prompt": "p", "steps": 9, "Version": "v1"})
    assert params.steps == 9
    assert GenerationParams.from_dict(params.to_dict()) == params
