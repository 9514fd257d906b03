"""tflab.imaging on hostile pictures: decompression bombs are refused from their headers.

(The preprocessing itself is tested in tests/test_serving.py, beside the server it feeds.)
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from conftest import write_jpeg, write_png

from tflab import data, imaging


def test_png_declaring_50000_squared_pixels_is_the_courses_error(tmp_path):
    """Pillow's own limit used to surface as its raw DecompressionBombError."""
    path = write_png(tmp_path / "bomb.png", 50000, 50000)
    assert path.stat().st_size < 1000
    with pytest.raises(data.DataTooLargeError,
                       match=r"bomb.png: the image declares 2,500,000,000 pixels, more than "
                             r"the limit of 25,000,000 pixels; it was not decoded"):
        imaging.preprocess_image(path)


@pytest.mark.parametrize("kind", ["png", "jpeg"])
def test_picture_over_the_limit_is_refused_before_decoding(tmp_path, monkeypatch, kind):
    """Under Pillow's limit but over the course's: refused from the header, never decoded
    (before, this PNG of 35 kB was inflated to 36 MB of pixels, then to floats)."""
    from PIL import ImageFile

    if kind == "png":
        path = write_png(tmp_path / "bomb.png", 6000, 6000, whole=True)
        declared = "6000 × 6000 = 36,000,000"
    else:
        path = write_jpeg(tmp_path / "bomb.jpg", 8000, 7000)
        declared = "8000 × 7000 = 56,000,000"
    assert path.stat().st_size < 40_000
    decoded = []
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: decoded.append(self))
    with pytest.raises(data.DataTooLargeError,
                       match=f"{path.name}: the image declares {declared} pixels, more than "
                             "the limit of 25,000,000 pixels"):
        imaging.preprocess_image(path)
    assert decoded == []


def test_the_limit_is_a_value_error_for_callers_that_catch_bad_input(tmp_path):
    path = write_png(tmp_path / "square.png", 100, 100, whole=True)
    assert imaging.read_image(path, max_pixels=10_000).size == (100, 100)
    with pytest.raises(ValueError, match="square.png: .*limit of 9,999 pixels"):
        imaging.read_image(path, max_pixels=9_999)


def test_a_file_object_is_checked_too(tmp_path):
    raw = write_png(tmp_path / "bomb.png", 6000, 6000, whole=True).read_bytes()
    with pytest.raises(data.DataTooLargeError, match="6000 × 6000"):
        imaging.read_image(io.BytesIO(raw))


def test_an_ordinary_picture_still_reads(tmp_path):
    digit = np.zeros((28, 28), np.float32)
    digit[8:20, 12:16] = 1.0
    path = imaging.save_digit_image(digit, tmp_path / "d.png", size=(3000, 2000), mode="RGB")
    pixels = imaging.preprocess_image(path)
    assert pixels.shape == (784,) and pixels.reshape(28, 28)[14, 14] > 0.5


def test_saving_a_digit_refuses_uint8_pixels(tmp_path):
    # uint8 0..255 would be clipped to [0, 1] and drawn as a solid block of ink
    digit = np.zeros((28, 28), np.uint8)
    digit[8:20, 12:16] = 255
    with pytest.raises(ValueError, match=r"digit must be 784 floats in \[0, 1\].*uint8.*"
                                         r"data\.scale_images"):
        imaging.save_digit_image(digit, tmp_path / "d.png")
    with pytest.raises(ValueError, match=r"not float32 of shape \(10,\)"):
        imaging.save_digit_image(np.zeros(10, np.float32), tmp_path / "d.png")
    assert not (tmp_path / "d.png").exists()
    scaled = data.scale_images(digit)  # the fix the message names
    path = imaging.save_digit_image(scaled, tmp_path / "d.png")
    assert imaging.preprocess_image(path).reshape(28, 28)[14, 14] > 0.5
