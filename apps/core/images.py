"""Image validation and renditions (Pillow). Pure functions: bytes in, bytes out.

An upload is accepted only if Pillow recognises it as one of :data:`ALLOWED_FORMATS`,
``verify()`` passes and its pixel count is at most ``MAX_IMAGE_PIXELS`` (checked from the
header, before any pixel is decoded, so a decompression bomb costs nothing).
Renditions: EXIF orientation applied, never upscaled, aspect ratio kept, metadata
stripped, saved as JPEG, or PNG when the source has transparency.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field

from django.conf import settings
from PIL import Image, ImageOps, UnidentifiedImageError

from apps.core.errors import DomainError

#: variant -> longest edge in pixels
RENDITIONS: dict[str, int] = {"small": 160, "medium": 480, "large": 1080}
ALLOWED_FORMATS = {"JPEG", "PNG", "GIF", "WEBP", "BMP"}
_MIME = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "GIF": "image/gif",
    "WEBP": "image/webp",
    "BMP": "image/bmp",
}
_EXT = {"JPEG": "jpg", "PNG": "png", "GIF": "gif", "WEBP": "webp", "BMP": "bmp"}


@dataclass
class Rendition:
    variant: str
    content: bytes
    content_type: str
    extension: str
    width: int
    height: int


@dataclass
class ProcessedImage:
    width: int
    height: int
    format: str
    original: bytes
    original_content_type: str
    original_extension: str
    renditions: list[Rendition] = field(default_factory=list)


def _invalid(message: str) -> DomainError:
    return DomainError("invalid_image", message, field="file")


def _open_checked(content: bytes) -> Image.Image:
    """Open (header only) and refuse unknown formats and too many pixels."""
    max_pixels = int(settings.CHATADMIN["MAX_IMAGE_PIXELS"])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(content))
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _invalid("The file is not a supported image.") from None
    except Exception:  # Pillow raises many types on malformed headers
        raise _invalid("The file is not a supported image.") from None
    if image.format not in ALLOWED_FORMATS:
        raise _invalid(f"Unsupported image format {image.format!r}; use JPEG, PNG, GIF or WebP.")
    width, height = image.size
    if width < 1 or height < 1 or width * height > max_pixels:
        raise _invalid(f"The image has too many pixels (at most {max_pixels}).")
    return image


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info
    )


def _encode(image: Image.Image, variant: str) -> Rendition:
    if _has_alpha(image):
        image = image.convert("RGBA")
        fmt, content_type, ext = "PNG", "image/png", "png"
        params: dict[str, object] = {"optimize": True}
    else:
        image = image.convert("RGB")
        fmt, content_type, ext = "JPEG", "image/jpeg", "jpg"
        params = {"quality": 85, "optimize": True}
    image.info = {}  # no EXIF, ICC, comments or text chunks in what we serve
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    return Rendition(variant, buffer.getvalue(), content_type, ext, image.width, image.height)


def process_image(content: bytes, *, keep_original: bool) -> ProcessedImage:
    """Validate ``content`` and produce its renditions (and the original if asked)."""
    if not content:
        raise _invalid("The file is empty.")
    image = _open_checked(content)
    fmt = image.format or ""
    try:
        image.verify()
    except Exception:
        raise _invalid("The image is damaged or truncated.") from None
    image = _open_checked(content)  # verify() leaves the image unusable: reopen
    try:
        image.seek(0)
        image.load()
        oriented = ImageOps.exif_transpose(image)
    except Exception:
        raise _invalid("The image could not be decoded.") from None
    processed = ProcessedImage(
        width=oriented.width,
        height=oriented.height,
        format=fmt,
        original=content if keep_original else b"",
        original_content_type=_MIME[fmt],
        original_extension=_EXT[fmt],
    )
    try:
        for variant, edge in RENDITIONS.items():
            copy = oriented.copy()
            copy.thumbnail((edge, edge), Image.Resampling.LANCZOS)  # never upscales
            processed.renditions.append(_encode(copy, variant))
    except Exception:
        raise _invalid("The image could not be converted.") from None
    return processed
