"""Small plotting helpers for the notebooks.

Every figure has a title, and every axis label names the quantity plotted: the caller
gives the labels, since only the caller knows what was measured.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def image_grid(images: np.ndarray, labels: Sequence | None = None, *, title: str,
               ncols: int = 10, cmap: str = "gray_r", size: float = 1.1,
               fontsize: float = 9):
    """Show ``images`` (N, H, W) or (N, H, W, 3) in a grid, each captioned by its label.

    Each image is ``size`` inches high. A column is widened to fit the longest caption,
    and every row keeps room above its images for the captions, so long labels such as
    ``"T-shirt/top"`` neither run into each other nor into the row above. Returns the
    matplotlib Figure. Flattened MNIST rows (N, 784) are reshaped to 28 x 28.
    """
    import matplotlib.pyplot as plt
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath

    images = np.asarray(images)
    if images.ndim == 2 and images.shape[1] == 784:
        images = images.reshape(-1, 28, 28)
    if images.ndim not in (3, 4) or len(images) == 0:
        raise ValueError(f"images must have shape (N, H, W) or (N, H, W, 3), not {images.shape}")
    if labels is not None and len(labels) != len(images):
        raise ValueError(f"got {len(images)} images but {len(labels)} labels")
    captions = [] if labels is None else [str(label) for label in labels]
    n = len(images)
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    font = FontProperties(size=fontsize)
    widest = max((TextToPath().get_text_width_height_descent(c, font, ismath=False)[0]
                  for c in captions), default=0.0) / 72  # points -> inches
    cell_width = max(size, widest + 0.15)
    caption_height = 1.8 * fontsize / 72 if captions else 0.0
    fig, axes = plt.subplots(nrows, ncols, squeeze=False, layout="constrained",
                             figsize=(cell_width * ncols, (size + caption_height) * nrows + 0.5))
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(images[i], cmap=cmap if images.ndim == 3 else None)
            if captions:
                ax.set_title(captions[i], fontsize=fontsize)
    fig.suptitle(title)
    return fig


def fit_lines(x: np.ndarray, y: np.ndarray, fits: dict, *, title: str, xlabel: str,
              ylabel: str, ax=None):
    """Scatter the data and draw one line per entry of ``fits`` (label -> LinearFit)."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 4.2))
    ax.scatter(x, y, s=18, color="0.3", label="data", zorder=3)
    grid = np.linspace(np.min(x), np.max(x), 100)
    for label, fit in fits.items():
        ax.plot(grid, fit.predict(grid), lw=2,
                label=f"{label}: y = {float(fit.coef):.4f}·x + {fit.intercept:.4f}")
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.legend(fontsize=8)
    return ax.figure


def loss_curves(curves: dict, *, title: str, xlabel: str, ylabel: str, log: bool = True,
                ax=None):
    """One line per entry of ``curves`` (label -> one loss per step or epoch), log scale by default.

    Non-finite values (a run that diverged) end the line, so the curve stops where it blew up.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 4.2))
    for label, losses in curves.items():
        losses = np.asarray(losses, dtype=float)
        losses = np.where(np.isfinite(losses), losses, np.nan)
        ax.plot(np.arange(1, len(losses) + 1), losses, label=str(label))
    if log:
        ax.set_yscale("log")
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.legend(fontsize=8)
    return ax.figure


def rate_sweep(rates, errors: dict, *, title: str, xlabel: str, ylabel: str,
               bounds: dict | None = None, ax=None):
    """Final error against learning rate (log-log), one line per entry of ``errors``.

    ``errors`` maps a label (say, an epoch count) to one error per rate; a diverged run
    is ``inf`` or ``nan`` and is drawn as a gap. ``bounds`` (label -> rate) draws
    vertical lines, e.g. at the stability bound.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 4.2))
    rates = np.asarray(rates, dtype=float)
    for label, errs in errors.items():
        errs = np.asarray(errs, dtype=float)
        errs = np.where(np.isfinite(errs), errs, np.nan)
        ax.plot(rates, errs, marker="o", ms=3, label=str(label))
    for label, rate in (bounds or {}).items():
        ax.axvline(rate, ls="--", color="0.4")
        ax.annotate(label, (rate, 1), xycoords=("data", "axes fraction"), rotation=90,
                    va="top", ha="right", fontsize=8)
    ax.set(xscale="log", yscale="log", title=title, xlabel=xlabel, ylabel=ylabel)
    ax.legend(fontsize=8)
    return ax.figure


def param_paths(x: np.ndarray, y: np.ndarray, paths: dict, *, title: str, xlabel: str,
                ylabel: str, exact=None, ax=None):
    """Paths of (slope, intercept) during training, over the contours of the loss.

    ``paths`` maps a label to an array of shape (steps, 2); ``exact`` (a LinearFit)
    is marked with a star. The contours show the mean squared error of ``(x, y)``.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 4.6))
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    points = np.concatenate([np.asarray(p, dtype=float).reshape(-1, 2) for p in paths.values()])
    if exact is not None:
        points = np.vstack([points, [float(exact.coef), exact.intercept]])
    points = points[np.all(np.isfinite(points), axis=1)]
    (w0, b0), (w1, b1) = points.min(axis=0), points.max(axis=0)
    pad_w, pad_b = 0.1 * (w1 - w0) + 1e-3, 0.1 * (b1 - b0) + 1e-3
    ws = np.linspace(w0 - pad_w, w1 + pad_w, 120)
    bs = np.linspace(b0 - pad_b, b1 + pad_b, 120)
    W, B = np.meshgrid(ws, bs)
    loss = np.mean((W[..., None] * x + B[..., None] - y) ** 2, axis=-1)
    ax.contour(W, B, np.log10(loss), levels=15, colors="0.75", linewidths=0.8)
    for label, path in paths.items():
        path = np.asarray(path, dtype=float).reshape(-1, 2)
        ax.plot(path[:, 0], path[:, 1], marker=".", ms=3, lw=1, label=str(label))
    if exact is not None:
        ax.plot(float(exact.coef), exact.intercept, "*", ms=14, color="k", label="exact")
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.legend(fontsize=8)
    return ax.figure


def per_layer(values: dict, *, title: str, xlabel: str, ylabel: str, log: bool = True,
              ax=None):
    """One line per entry of ``values`` (label -> one number per layer), layer 1 first."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 4.2))
    for label, series in values.items():
        series = np.asarray(series, dtype=float)
        if log:
            series = np.where(series > 0, series, np.nan)  # a log axis cannot show 0
        ax.plot(np.arange(1, len(series) + 1), series, marker="o", ms=3, label=str(label))
    if log:
        ax.set_yscale("log")
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.legend(fontsize=8)
    return ax.figure


def activations(names, *, title: str = "Activation functions and their derivatives",
                lo: float = -5.0, hi: float = 5.0):
    """Each Keras activation in ``names`` (left) and its derivative (right)."""
    import keras
    import matplotlib.pyplot as plt
    import tensorflow as tf

    grid = tf.constant(np.linspace(lo, hi, 401), tf.float32)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    styles = ["-", "--", ":", "-."]  # curves that coincide (ReLU and ELU for x > 0) stay visible
    for i, name in enumerate(names):
        fn = keras.activations.get(name)
        style = dict(label=name, ls=styles[i % len(styles)],
                     lw=2.2 if i % len(styles) == 0 else 1.6)
        with tf.GradientTape() as tape:
            tape.watch(grid)
            out = fn(grid)
        slope = tape.gradient(out, grid)
        left.plot(grid.numpy(), np.asarray(out), **style)
        right.plot(grid.numpy(), np.asarray(slope), **style)
    left.set(title="f(x)", xlabel="x", ylabel="f(x)")
    right.set(title="f'(x)", xlabel="x", ylabel="f'(x)")
    for ax in (left, right):
        ax.axhline(0, color="0.7", lw=0.8)
        ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig
