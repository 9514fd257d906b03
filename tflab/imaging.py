"""Image files in, model inputs out: what an inference service does before scoring.

``preprocess_image`` (``read_image`` → ``ink_pixels`` → ``pad_to_square`` →
``resize_square``) turns any picture of a digit into 784 pixels as MNIST draws them;
``save_digit_image`` writes a digit as the kinds of picture a user might send.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from tflab.data import MAX_IMAGE_PIXELS, open_image
from tflab.saving import PIXELS

__all__ = ["save_digit_image", "read_image", "ink_pixels", "pad_to_square", "resize_square",
           "preprocess_image"]


def save_digit_image(digit: np.ndarray, path: str | os.PathLike, *,
                     size: int | tuple[int, int] = 28, mode: str = "L",
                     invert: bool = False) -> Path:
    """Write a 28×28 digit (floats in [0, 1], white on black) as an image file.

    ``size`` rescales it: a side, or ``(width, height)`` for a picture that is not square
    (the digit fills the shorter side, centred on a wider or taller sheet). ``mode`` is a
    Pillow mode ("L", "RGB" or "RGBA"; in RGBA the strokes are opaque and the background
    transparent), ``invert`` writes a dark digit on a light background, as a photo or
    scan of handwriting would be.
    """
    from PIL import Image

    width, height = (size, size) if isinstance(size, (int, np.integer)) else tuple(size)
    if min(width, height) < 1:
        raise ValueError(f"size must be a positive side or (width, height), not {size!r}")
    if mode not in ("L", "RGB", "RGBA"):
        raise ValueError(f"mode must be 'L', 'RGB' or 'RGBA', not {mode!r}")
    digit = np.asarray(digit)
    if not np.issubdtype(digit.dtype, np.floating) or digit.size != 28 * 28:
        raise ValueError(f"digit must be 784 floats in [0, 1] (28×28 or flat), not {digit.dtype} "
                         f"of shape {digit.shape}; scale uint8 pixels with data.scale_images")
    pixels = np.clip(digit.astype(np.float32).reshape(28, 28), 0, 1)
    grey = np.round((1.0 - pixels if invert else pixels) * 255).astype(np.uint8)
    side = min(width, height)
    image = Image.new("L", (width, height), 255 if invert else 0)  # the sheet
    image.paste(Image.fromarray(grey, "L").resize((side, side), Image.Resampling.BILINEAR),
                ((width - side) // 2, (height - side) // 2))
    if mode == "RGBA":
        ink = np.asarray(image)
        alpha = 255 - ink if invert else ink
        colour = np.full((height, width, 3), 0 if invert else 255, np.uint8)
        image = Image.fromarray(np.dstack([colour, alpha]), "RGBA")
    elif mode != "L":
        image = image.convert(mode)
    path = Path(path)
    image.save(path)
    return path


def preprocess_image(source) -> np.ndarray:
    """An image file (or PIL image) → the model's input: 784 float32 pixels in [0, 1]."""
    image = read_image(source)         # 1. open and read the file
    ink = ink_pixels(image)            # 2. any mode → white digit on black, levels in [0, 1]
    square = pad_to_square(ink)        # 3. centre it on a square: resizing will not stretch it
    small = resize_square(square, 28)  # 4. 28 × 28, the size of MNIST's digits
    return small.reshape(PIXELS)       # 5. one row of 784 pixels, as the signature takes them


def read_image(source, *, max_pixels: int = MAX_IMAGE_PIXELS):
    """Open an image file and read it (a PIL image is returned as it is).

    The size is checked from the file's header before decoding: a picture declaring
    more than ``max_pixels`` pixels raises ``DataTooLargeError`` (a ``ValueError``)
    naming the file and the limit. Raises ``FileNotFoundError`` or ``ValueError``
    naming the file when it is missing or not an image.
    """
    from PIL import Image

    if isinstance(source, Image.Image):
        return source
    try:
        return open_image(source, max_pixels=max_pixels)
    except FileNotFoundError:
        raise FileNotFoundError(f"{source}: no such image file") from None


def ink_pixels(image) -> np.ndarray:
    """The digit as MNIST draws it: ink levels in [0, 1] (H, W), white digit on black.

    - A drawing on a transparent background (some pixels less than half opaque): the
      opacity is the ink, whatever colour the strokes are.
    - Otherwise any transparency is composited over white paper, colour becomes grey,
      and a light background (the border's median above 0.5: a dark digit on paper)
      is inverted.
    """
    from PIL import Image

    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        image = image.convert("RGBA")
        alpha = np.asarray(image, dtype=np.float32)[..., 3] / 255.0
        if alpha.min() < 0.5:
            return alpha
        image = Image.alpha_composite(Image.new("RGBA", image.size, "white"), image)
    grey = np.asarray(image.convert("L"), dtype=np.float32) / 255.0
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    return 1.0 - grey if np.median(border) > 0.5 else grey


def pad_to_square(pixels: np.ndarray) -> np.ndarray:
    """Centre ``pixels`` (H, W) on a black square of side max(H, W)."""
    if np.ndim(pixels) != 2:
        raise ValueError(f"pixels must be one grey image (H, W), not shape {np.shape(pixels)}")
    h, w = pixels.shape
    side = max(h, w)
    top, left = (side - h) // 2, (side - w) // 2
    square = np.zeros((side, side), np.float32)
    square[top:top + h, left:left + w] = pixels
    return square


def resize_square(pixels: np.ndarray, side: int = 28) -> np.ndarray:
    """Resize a square of levels in [0, 1] to ``side`` × ``side``, bilinear (it smooths)."""
    from PIL import Image

    if np.ndim(pixels) != 2 or pixels.shape[0] != pixels.shape[1]:
        raise ValueError(f"pixels must be a square grey image, not shape {np.shape(pixels)}")
    image = Image.fromarray(np.round(pixels * 255).astype(np.uint8), "L")
    small = image.resize((side, side), Image.Resampling.BILINEAR)
    return np.asarray(small, dtype=np.float32) / 255.0
