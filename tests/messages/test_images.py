"""apps.core.images: validation and renditions, without HTTP."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from apps.core.errors import DomainError
from apps.core.images import process_image


def _encode(image: Image.Image, fmt: str, **kwargs: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def test_a_palette_gif_with_transparency_becomes_png() -> None:
    image = Image.new("P", (300, 150), 0)
    content = _encode(image, "GIF", transparency=0)

    processed = process_image(content, keep_original=False)

    assert [r.content_type for r in processed.renditions] == ["image/png"] * 3
    assert processed.renditions[0].width == 160
    assert processed.original == b""


def test_a_cmyk_jpeg_becomes_an_rgb_jpeg() -> None:
    content = _encode(Image.new("CMYK", (50, 40)), "JPEG")

    processed = process_image(content, keep_original=True)

    small = Image.open(io.BytesIO(processed.renditions[0].content))
    assert (small.format, small.mode, small.size) == ("JPEG", "RGB", (50, 40))
    assert processed.original == content
    assert processed.original_content_type == "image/jpeg"


@pytest.mark.parametrize(
    "content",
    [b"", b"GIF89a", b"%PDF-1.4", _encode(Image.new("RGB", (10, 10)), "TIFF")],
)
def test_it_refuses_what_is_not_an_accepted_image(content: bytes) -> None:
    with pytest.raises(DomainError) as info:
        process_image(content, keep_original=False)

    assert info.value.code == "invalid_image"
