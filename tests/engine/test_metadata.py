"""A1111 ``parameters`` text: exact format, parsing (ours and A1111's own), PNG chunks."""

from __future__ import annotations

import io
import re
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, PngImagePlugin

from daydream.engine.metadata import (
    MAX_INFOTEXT_CHARS,
    _fields,
    format_parameters,
    parse_parameters,
    png_bytes_with_metadata,
    read_png_parameters,
)
from daydream.engine.params import GenerationParams

PARAMS = GenerationParams(
    prompt="a red fox in snow, highly detailed",
    negative_prompt="blurry, lowres",
    width=512,
    height=768,
    steps=20,
    cfg_scale=7.0,
    seed=123,
    scheduler="Euler a",
    strength=0.75,
)


def test_exact_a1111_layout_txt2img():
    text = format_parameters(PARAMS, 123, "v1-5-pruned-emaonly")
    assert text == (
        "a red fox in snow, highly detailed\n"
        "Negative prompt: blurry, lowres\n"
        "Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 123, Size: 512x768, "
        "Model: v1-5-pruned-emaonly"
    )


def test_img2img_adds_denoising_strength_and_fractional_cfg():
    params = GenerationParams(prompt="p", cfg_scale=7.5, strength=0.5)
    text = format_parameters(params, 9, "m", img2img=True)
    assert text.endswith(
        "CFG scale: 7.5, Seed: 9, Size: 512x512, Model: m, Denoising strength: 0.5"
    )
    assert "Negative prompt" not in text  # A1111 leaves the line out when empty


def test_values_with_commas_colons_are_json_quoted_and_unquoted():
    text = format_parameters(
        PARAMS, 1, 'my, "model": v2', extra_fields={"Lora hashes": "a: 1, b: 2"}
    )
    assert 'Model: "my, \\"model\\": v2"' in text
    parsed = parse_parameters(text)
    assert parsed["model"] == 'my, "model": v2'
    assert parsed["Lora hashes"] == "a: 1, b: 2"


def test_round_trip_gives_back_generation_params():
    params = GenerationParams(
        prompt="line one\nline two, with comma",
        negative_prompt="neg one\nneg two",
        width=320,
        height=448,
        steps=33,
        cfg_scale=4.5,
        seed=4294967295,
        scheduler="DPM++ 2M Karras",
        strength=0.3,
    )
    parsed = parse_parameters(format_parameters(params, params.seed, "demo", img2img=True))
    assert GenerationParams.from_dict(parsed) == params
    assert parsed["model"] == "demo"


def test_parses_a_modern_a1111_infotext():
    text = (
        "masterpiece, best quality, 1girl, (red hair:1.2)\n"
        "Negative prompt: lowres, bad anatomy\n"
        "Steps: 28, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7.5, "
        "Seed: 1234567890, Size: 512x768, Model hash: 6ce0161689, Model: v1-5-pruned-emaonly, "
        "Denoising strength: 0.5, Hires upscale: 2, Version: v1.10.1"
    )
    parsed = parse_parameters(text)
    assert parsed["prompt"] == "masterpiece, best quality, 1girl, (red hair:1.2)"
    assert parsed["negative_prompt"] == "lowres, bad anatomy"
    assert parsed["scheduler"] == "DPM++ 2M Karras"
    assert (parsed["steps"], parsed["cfg_scale"], parsed["seed"]) == (28, 7.5, 1234567890)
    assert (parsed["width"], parsed["height"]) == (512, 768)
    assert parsed["strength"] == 0.5
    assert parsed["Model hash"] == "6ce0161689"
    assert parsed["Version"] == "v1.10.1"


def test_prompt_only_text_has_no_fields():
    parsed = parse_parameters("just a prompt, nothing else")
    assert parsed == {"prompt": "just a prompt, nothing else", "negative_prompt": ""}


def test_png_chunks_and_reader():
    image = Image.new("RGB", (8, 8), (10, 20, 30))
    data = png_bytes_with_metadata(image, PARAMS, 123, "demo", {"task_id": "t-1", "user": 7})
    info = read_png_parameters(data)
    assert info["text"] == format_parameters(PARAMS, 123, "demo")
    assert GenerationParams.from_dict(info["parsed"]) == PARAMS
    assert info["daydream"]["task_id"] == "t-1"
    assert info["daydream"]["seed"] == 123
    assert info["daydream"]["params"]["scheduler"] == "Euler a"
    # The chunk is a plain tEXt chunk named "parameters", where A1111 and civitai look.
    assert b"tEXtparameters\x00a red fox" in data
    with Image.open(io.BytesIO(data)) as reread:
        assert reread.getpixel((0, 0)) == (10, 20, 30)


def test_reading_the_infotext_does_not_decode_the_pixels():
    # The A1111 API reads each result's infotext back: a 1024² PNG must not be decoded for
    # it. Proof: with the pixel data broken, the text still reads (a decode would fail).
    image = Image.effect_noise((256, 256), 64).convert("RGB")
    data = bytearray(png_bytes_with_metadata(image, PARAMS, 5, "demo", {}))
    start = data.index(b"IDAT") + 4
    data[start + 10:start + 200] = bytes(190)
    assert read_png_parameters(bytes(data))["text"] == format_parameters(PARAMS, 5, "demo")


def test_non_latin_prompt_goes_to_itxt_and_reads_back(tmp_path):
    params = GenerationParams(prompt="東京の夜景, ネオン", seed=5)
    path = tmp_path / "x.png"
    path.write_bytes(png_bytes_with_metadata(Image.new("RGB", (4, 4)), params, 5, "m"))
    info = read_png_parameters(path)
    assert info["parsed"]["prompt"] == "東京の夜景, ネオン"
    assert b"iTXtparameters" in path.read_bytes()


def test_extra_may_not_override_engine_fields():
    with pytest.raises(ValueError, match="seed"):
        png_bytes_with_metadata(Image.new("RGB", (4, 4)), PARAMS, 1, "m", {"seed": 2})


def test_reader_copes_with_png_without_metadata_and_with_foreign_chunks():
    buffer = io.BytesIO()
    info = PngImagePlugin.PngInfo()
    info.add_text("daydream", "{not json")
    Image.new("RGB", (4, 4)).save(buffer, format="PNG", pnginfo=info)
    assert read_png_parameters(buffer.getvalue()) == {"text": None, "parsed": {}, "daydream": None}


# The expression A1111 uses (and Daydream used): our one-pass scanner must find the same fields.
A1111_FIELD = re.compile(r'\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)')


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet='ab1_ é\t:,"\\-/()', max_size=40))
def test_field_scanner_agrees_with_a1111_expression(line):
    expected = [(key, value.strip()) for key, value in A1111_FIELD.findall(line)]
    found = [(key, value.strip()) for key, value in _fields(line)]
    assert found == expected


@pytest.mark.parametrize("text", [
    "a" * 1_000_000,  # the audit's text (48,000 "a" took 15 s), grown to Pillow's chunk limit
    "ab: " * 262_144,
    'ab: "\\", ' * 110_000,  # every quoted value scans to the end without closing
    "ab:," * 262_144,  # as many fields as fit
    "x, " * 300_000 + "\nSteps: 1, Seed: 2, Size: 8x8",
])
def test_a_megabyte_of_infotext_parses_in_well_under_a_second(text):
    started = time.thread_time()  # CPU time: a busy machine does not make it flaky
    parsed = parse_parameters(text)
    assert time.thread_time() - started < 0.25
    assert "prompt" in parsed


def test_text_past_the_limit_is_not_parsed():
    parsed = parse_parameters("p" * MAX_INFOTEXT_CHARS + "\nSteps: 1, Seed: 2, Size: 8x8")
    assert "steps" not in parsed and len(parsed["prompt"]) == MAX_INFOTEXT_CHARS
