"""Init images uploaded by people: checked by content, bounded, re-encoded."""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image as PILImage
from PIL import UnidentifiedImageError

ALLOWED_FORMATS = {"PNG": "PNG", "JPEG": "JPEG", "WEBP": "WebP", "GIF": "GIF", "BMP": "BMP"}


class UploadError(ValueError):
    """The upload is not an image we accept; the message says why."""


@dataclass
class InitImage:
    """A decoded, re-encoded upload ready for img2img."""

    png: bytes
    width: int
    height: int


def read_init_image(data: bytes, max_pixels: int, *, mask: bool = False) -> InitImage:
    """Decode an upload by its content (not its name), guard against bombs, re-encode as PNG.

    ``mask``: an inpainting mask, kept as greyscale (white = repaint); one with nothing
    painted is refused, since it would repaint nothing and still cost credits.
    """
    if not data:
        raise UploadError("The uploaded file is empty.")
    try:
        # Pillow errors above 2x its own limit and only warns below that; our limit is far
        # lower and checked from the header, before any pixel is decoded.
        with PILImage.open(io.BytesIO(data)) as probe:
            kind = probe.format
            if kind not in ALLOWED_FORMATS:
                raise UploadError(
                    f"{kind or 'This'} images are not accepted; "
                    "upload a PNG, JPEG, WebP, GIF or BMP.")
            width, height = probe.size
            if width * height > max_pixels:
                raise UploadError(
                    f"The image is {width}x{height} pixels; at most {max_pixels} pixels "
                    "are accepted.")
            probe.seek(0)
            image = _mask_of(probe) if mask else probe.convert("RGB")
    except UploadError:
        raise
    except (PILImage.DecompressionBombError, PILImage.DecompressionBombWarning) as error:
        raise UploadError(
            f"The image claims an enormous size; at most {max_pixels} pixels are accepted."
        ) from error
    except UnidentifiedImageError as error:
        raise UploadError("The file is not an image we can read.") from error
    except (OSError, ValueError, SyntaxError, EOFError) as error:
        raise UploadError("The image is damaged or truncated.") from error
    if mask and image.getextrema()[1] == 0:
        raise UploadError("The mask is empty: paint the area to repaint in white.")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return InitImage(buffer.getvalue(), image.width, image.height)


def _mask_of(image: PILImage.Image) -> PILImage.Image:
    """Greyscale mask: a transparent PNG's alpha (painted = repaint), else its brightness."""
    if image.mode in ("RGBA", "LA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        alpha = rgba.getchannel("A")
        if alpha.getextrema()[0] < 255:  # really uses transparency
            return alpha
        return rgba.convert("L")
    return image.convert("L")


def invert_mask(mask: InitImage) -> InitImage:
    """The mask the other way round (A1111's ``inpainting_mask_invert``)."""
    with PILImage.open(io.BytesIO(mask.png)) as image:
        inverted = PILImage.eval(image.convert("L"), lambda value: 255 - value)
    if inverted.getextrema()[1] == 0:
        raise UploadError("The inverted mask is empty: nothing would be repainted.")
    buffer = io.BytesIO()
    inverted.save(buffer, "PNG")
    return InitImage(buffer.getvalue(), inverted.width, inverted.height)
