"""Small plotting helpers for the notebooks. Every figure has a title."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def image_grid(images: np.ndarray, labels: Sequence | None = None, *, title: str,
               ncols: int = 10, cmap: str = "gray_r", size: float = 1.1):
    """Show ``images`` (N, H, W) or (N, H, W, 3) in a grid, each captioned by its label.

    Returns the matplotlib Figure. Flattened MNIST rows (N, 784) are reshaped to
    28 x 28.
    """
    import matplotlib.pyplot as plt

    images = np.asarray(images)
    if images.ndim == 2 and images.shape[1] == 784:
        images = images.reshape(-1, 28, 28)
    if images.ndim not in (3, 4) or len(images) == 0:
        raise ValueError(f"images must have shape (N, H, W) or (N, H, W, 3), not {images.shape}")
    if labels is not None and len(labels) != len(images):
        raise ValueError(f"got {len(images)} images but {len(labels)} labels")
    n = len(images)
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + 0.5),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(images[i], cmap=cmap if images.ndim == 3 else None)
            if labels is not None:
                ax.set_title(str(labels[i]), fontsize=9)
    fig.suptitle(title)
    fig.tight_layout()
    return fig
