"""Preparing an inpainting job and putting its result back (Pillow only).

A1111's behaviour, step by step: the init image and the mask are resized to the requested
size, the mask's edge is blurred, the masked area is pre-filled ("masked content"), and
after generation the result is laid over the original through the mask, so pixels outside
the mask come back exactly as they were (with a blur of 0).
"""

from __future__ import annotations

import random

import numpy as np
from PIL import Image, ImageFilter

FILLS = ("fill", "original", "latent noise", "latent nothing")


def prepare_mask(mask: Image.Image, size: tuple[int, int], blur: int) -> Image.Image:
    """The mask at ``size`` (greyscale, white = repaint), its edge blurred by ``blur`` px."""
    mask = mask.convert("L").resize(size, Image.Resampling.NEAREST)
    if blur > 0:
        mask = mask.filter(ImageFilter.GaussianBlur(blur))
    return mask


def prefill(image: Image.Image, mask: Image.Image, fill: str, seed: int) -> Image.Image:
    """The init image with its masked area replaced as ``fill`` says ("original": as is)."""
    if fill == "original":
        return image
    if fill == "fill":
        # Surrounding colours flowing in: the unmasked picture blurred until it covers it.
        base = Image.new("RGB", image.size, _mean_colour(image, mask))
        base.paste(image, mask=Image.eval(mask, lambda v: 255 if v < 128 else 0))
        filler = base.filter(ImageFilter.GaussianBlur(max(image.size) / 16))
    elif fill == "latent noise":
        rng = random.Random(seed)
        filler = Image.frombytes("RGB", image.size, rng.randbytes(image.width * image.height * 3))
    elif fill == "latent nothing":
        filler = Image.new("RGB", image.size, (128, 128, 128))
    else:
        raise ValueError(f"unknown inpainting fill {fill!r}; use one of {FILLS}")
    return Image.composite(filler, image, mask)


def _mean_colour(image: Image.Image, mask: Image.Image) -> tuple[int, int, int]:
    """Average colour of the unmasked pixels (grey when everything is masked)."""
    pixels = np.asarray(image.convert("RGB"))[np.asarray(mask) < 128]
    if not len(pixels):
        return (128, 128, 128)
    red, green, blue = (int(value) for value in pixels.mean(axis=0))
    return red, green, blue


def overlay(generated: Image.Image, original: Image.Image, mask: Image.Image) -> Image.Image:
    """The generated picture inside the mask, the original outside it."""
    return Image.composite(generated.convert("RGB").resize(original.size), original, mask)


def full_mask(size: tuple[int, int]) -> Image.Image:
    """A mask that repaints everything (how an inpainting model does txt2img and img2img)."""
    return Image.new("L", size, 255)
