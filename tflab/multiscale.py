"""Random multi-scale features for style transfer without pretrained weights, and style measures.

Ustyuzhaninov, Brendel, Gatys & Bethge ("What does it take to generate natural textures?",
ICLR 2017; arXiv:1606.00021, code at github.com/ivust/random-texture-synthesis) showed that
*one* convolutional layer of random filters, at several spatial scales, with Gram matrices as
the texture statistic, synthesises many textures about as well as an ImageNet-trained VGG.
He, Wang & Hopcroft ("A powerful generative model using random weights for the deep image
representation", NeurIPS 2016; arXiv:1606.04801) get recognisable style transfer from a
random-weight VGG once the scales of its features are handled with care.

:func:`random_multiscale` builds such an extractor. Each *scale* is a (pyramid level, kernel
size) pair: ``filters`` random filters of that size, applied with reflect padding to the image
shrunk by a factor ``2**level``, then ReLU. The filters are Glorot-uniform with zero bias (Lasagne's
default, which the authors' code uses); the input is the pixels in [0, 1] minus the ImageNet
mean colour. Where this departs from their code (``synthesise.py``):

- scales: they reach large scales with large kernels (3, 5, 7, 11, 15, 23, 37 and 55 px, 128
  filters each, all on the full image), far too slow on 2 CPU cores. Here an image pyramid
  (each level the one before, blurred with a 5x5 binomial filter and halved) gives kernels of
  3 and 7 px effective sizes of about 3, 7, 14, 28, 56 and 112 px for a fraction of the cost,
  with 64 filters per scale (384 maps, against their 1024);
- one Gram matrix per scale (the extractor's ``style_layers``, as lesson 08's loss expects),
  where they take one Gram matrix of all scales' maps together (cross-scale terms included);
- reflect padding instead of zero padding, so that the image's border adds no edge of its own;
- they synthesise textures only; for style transfer the content features here are one scale's
  maps (by default the third: 7 px kernels at half size), as Gatys et al. use one VGG layer.

The model has the interface of :func:`tflab.style.feature_extractor`: it maps a batch of
images in [0, 1] to a list, the ``style_layers`` feature maps then the ``content_layers`` ones,
and carries ``weights_kind``, ``style_layers`` and ``content_layers``. So lesson 08's
``make_loss`` and ``train_step`` run on it unchanged.

The measures judge a stylised image: :func:`gram_distance` and :func:`content_distance` with
*any* extractor (use one that did not make the image, so that the measure cannot be flattered
by the optimisation), and :func:`histogram_distance`, the colour-histogram distance.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf

__all__ = ["IMAGENET_MEAN", "DEFAULT_SCALES", "random_multiscale",
           "gram_distance", "content_distance", "histogram_distance"]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
"""Mean RGB colour of the ImageNet training images, in [0, 1]; subtracted from the input."""

DEFAULT_SCALES: tuple[tuple[int, int], ...] = ((0, 3), (0, 7), (1, 7), (2, 7), (3, 7), (4, 7))
"""(pyramid level, kernel size) per scale: effective filter sizes about 3, 7, 14, 28, 56, 112 px."""

_BINOMIAL = np.array([1.0, 4.0, 6.0, 4.0, 1.0]) / 16.0


def _mirror(x: tf.Tensor, pad: int, axis: int) -> tf.Tensor:
    """Mirror-pad one spatial axis by ``pad`` on both sides.

    Reflect padding needs more pixels than it adds; maps smaller than that (the coarse pyramid
    levels of a small image) are padded symmetrically in rounds, each at most the map's width.
    """
    size = x.shape[axis]
    widths = [[0, 0]] * 4
    if size is None or pad < size:
        widths[axis] = [pad, pad]
        return tf.pad(x, widths, mode="REFLECT")
    done = 0
    while done < pad:
        step = max(1, min(pad - done, size + 2 * done))
        widths[axis] = [step, step]
        x, done = tf.pad(x, widths, mode="SYMMETRIC"), done + step
    return x


def _reflect(x: tf.Tensor, pad: int) -> tf.Tensor:
    """Mirror-pad height and width by ``pad`` pixels (any map size)."""
    return _mirror(_mirror(x, pad, 1), pad, 2) if pad else x


class CentrePixels(keras.layers.Layer):
    """Subtracts the ImageNet mean colour from images in [0, 1]."""

    def call(self, image):
        return image - tf.constant(IMAGENET_MEAN, image.dtype)


class BlurHalve(keras.layers.Layer):
    """One pyramid step: 5x5 binomial blur (reflect padding), then every other pixel."""

    def call(self, x):
        kernel = np.outer(_BINOMIAL, _BINOMIAL)[:, :, None, None]
        kernel = tf.constant(np.tile(kernel, (1, 1, x.shape[-1], 1)), x.dtype)
        return tf.nn.depthwise_conv2d(_reflect(x, 2), kernel, [1, 2, 2, 1], "VALID")


class RandomConv(keras.layers.Layer):
    """Fixed random filters with reflect padding, zero bias, then ReLU (nothing trains)."""

    def __init__(self, kernel: np.ndarray | None = None, *, kernel_size: int = 3,
                 filters: int = 64, **kwargs):
        super().__init__(trainable=False, **kwargs)
        self.kernel_size, self.filters = kernel_size, filters
        self._initial = kernel

    def build(self, input_shape):
        init = ("zeros" if self._initial is None
                else keras.initializers.Constant(self._initial))
        self.kernel = self.add_weight(
            name="kernel", shape=(self.kernel_size, self.kernel_size, input_shape[-1],
                                  self.filters), initializer=init, trainable=False)

    def call(self, x):
        padded = _reflect(x, self.kernel_size // 2)
        return tf.nn.relu(tf.nn.conv2d(padded, self.kernel, 1, "VALID"))

    def get_config(self):
        return {**super().get_config(), "kernel_size": self.kernel_size, "filters": self.filters}


def glorot_filters(rng: np.random.Generator, kernel_size: int, filters: int,
                   channels: int = 3) -> np.ndarray:
    """Glorot-uniform filters, shape (k, k, channels, filters), as Lasagne (the authors') draws."""
    fan_in, fan_out = kernel_size * kernel_size * channels, kernel_size * kernel_size * filters
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, (kernel_size, kernel_size, channels, filters)).astype(
        np.float32)


def _check_scales(scales, filters: int, content_scale: int) -> tuple[tuple[int, int], ...]:
    try:
        scales = tuple((int(level), int(kernel)) for level, kernel in scales)
    except (TypeError, ValueError):
        raise ValueError(f"scales must be (pyramid level, kernel size) pairs, not {scales!r}") \
            from None
    if not scales or any(level < 0 or kernel < 1 or kernel % 2 == 0 for level, kernel in scales):
        raise ValueError("scales must be a non-empty sequence of (level >= 0, odd kernel "
                         f"size >= 1) pairs, not {scales!r}")
    if len(set(scales)) != len(scales):
        raise ValueError(f"scales must not repeat a (level, kernel size) pair: {scales!r}")
    if isinstance(filters, bool) or not isinstance(filters, int) or filters < 1:
        raise ValueError(f"filters must be a positive int, not {filters!r}")
    if not -len(scales) <= content_scale < len(scales):
        raise ValueError(f"content_scale must index one of the {len(scales)} scales, "
                         f"not {content_scale!r}")
    return scales


def random_multiscale(seed: int = 0, *, filters: int = 64,
                      scales: Sequence[tuple[int, int]] = DEFAULT_SCALES,
                      content_scale: int = 2) -> keras.Model:
    """Random filters at several spatial scales, mapping images in [0, 1] to feature maps.

    Args:
        seed: seeds the filters; the same seed gives the same filters.
        filters: random filters per scale.
        scales: (pyramid level, odd kernel size) per scale, each pair once; level ``L``
            sees the image shrunk by a factor ``2**L`` (halved ``L`` times).
        content_scale: index of the scale whose maps are the content features.

    Returns:
        A model from a (B, H, W, 3) batch to a list: one feature map per scale (the
        ``style_layers``), then the ``content_scale`` one again (the ``content_layers``).
    """
    scales = _check_scales(scales, filters, content_scale)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, not {seed!r}")
    rng = np.random.default_rng(seed)
    image = keras.Input((None, None, 3), name="image")
    pyramid = [CentrePixels(name="centre")(image)]
    for level in range(1, max(level for level, _ in scales) + 1):
        pyramid.append(BlurHalve(name=f"pyramid_{level}")(pyramid[-1]))
    names = tuple(f"level{level}_k{kernel}" for level, kernel in scales)
    maps = [RandomConv(glorot_filters(rng, kernel, filters), kernel_size=kernel, filters=filters,
                       name=name)(pyramid[level])
            for (level, kernel), name in zip(scales, names)]
    content = keras.layers.Identity(name="content")(maps[content_scale])
    model = keras.Model(image, maps + [content], name=f"random_multiscale_seed{seed}")
    model.trainable = False
    model.weights_kind = "random-multiscale"
    model.seed = seed
    model.style_layers, model.content_layers = names, (names[content_scale],)
    return model


# ------------------------------------------------------------------------------- measures

def _image(x, name: str) -> tf.Tensor:
    """One RGB image in [0, 1] as a float32 (1, H, W, 3) tensor; a clear error otherwise."""
    try:
        x = tf.convert_to_tensor(x, tf.float32)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be an image array, not {type(x).__name__}") from err
    if x.shape.rank == 3:
        x = x[None]
    if x.shape.rank != 4 or x.shape[0] != 1 or x.shape[-1] != 3:
        raise ValueError(f"{name} must be one RGB image shaped (H, W, 3) or (1, H, W, 3), "
                         f"not {tuple(x.shape)}")
    if x.shape[1] == 0 or x.shape[2] == 0:
        raise ValueError(f"{name} is empty: shape {tuple(x.shape)}")
    low, high = float(tf.reduce_min(x)), float(tf.reduce_max(x))
    if not (np.isfinite(low) and np.isfinite(high)) or low < -1e-6 or high > 1 + 1e-6:
        raise ValueError(f"{name} must hold values in [0, 1], got [{low:.4g}, {high:.4g}]"
                         + (" (divide 0-255 pixels by 255)" if high > 1.5 else ""))
    return x


def _extractor(extractor) -> int:
    if not callable(extractor) or not hasattr(extractor, "style_layers") \
            or not hasattr(extractor, "content_layers"):
        raise ValueError("extractor must be a feature extractor with style_layers and "
                         "content_layers (style.feature_extractor or random_multiscale), "
                         f"not {extractor!r}")
    return len(extractor.style_layers)


def _gram(features: tf.Tensor) -> tf.Tensor:
    positions = tf.cast(tf.shape(features)[1] * tf.shape(features)[2], features.dtype)
    return tf.einsum("bijc,bijd->bcd", features, features) / positions


def _relative(a: tf.Tensor, target: tf.Tensor) -> float:
    return float(tf.reduce_mean(tf.square(a - target)) / tf.reduce_mean(tf.square(target)))


def gram_distance(image, style_image, extractor: keras.Model) -> float:
    """Style distance: the squared Gram-matrix difference relative to the style's, averaged
    over the extractor's style layers (lesson 08's style loss, as a number).

    0 for the style image itself. The two images may differ in size (a Gram matrix averages
    over positions). To judge a result fairly, measure it with an extractor (another seed,
    another kind) that did not make it.
    """
    n = _extractor(extractor)
    mine = extractor(_image(image, "image"))[:n]
    theirs = extractor(_image(style_image, "style_image"))[:n]
    return float(np.mean([_relative(_gram(a), _gram(b)) for a, b in zip(mine, theirs)]))


def content_distance(image, content_image, extractor: keras.Model) -> float:
    """Content distance: squared difference of the content-layer feature maps relative to the
    content image's, averaged over the content layers (lesson 08's content loss, as a number).

    ``image`` and ``content_image`` must have the same height and width.
    """
    n = _extractor(extractor)
    image, content_image = _image(image, "image"), _image(content_image, "content_image")
    if image.shape[1:3] != content_image.shape[1:3]:
        raise ValueError(f"image {tuple(image.shape[1:3])} and content_image "
                         f"{tuple(content_image.shape[1:3])} must have the same height and width")
    mine, theirs = extractor(image)[n:], extractor(content_image)[n:]
    return float(np.mean([_relative(a, b) for a, b in zip(mine, theirs)]))


def _histogram(image: tf.Tensor, bins: int) -> np.ndarray:
    cells = np.clip((image.numpy().reshape(-1, 3) * bins).astype(np.int64), 0, bins - 1)
    counts = np.bincount((cells[:, 0] * bins + cells[:, 1]) * bins + cells[:, 2],
                         minlength=bins ** 3)
    return counts / counts.sum()


def histogram_distance(a, b, bins: int = 8) -> float:
    """Total-variation distance between the joint RGB histograms of two images.

    Each channel is cut into ``bins`` equal bins (``bins**3`` colour cells); the result is
    half the summed absolute difference of the two images' shares of pixels per cell: 0 for
    the same colours in the same proportions, 1 when no colour cell is shared. The images
    may differ in size.
    """
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or not 1 <= bins <= 64:
        raise ValueError(f"bins must be an int from 1 to 64, not {bins!r}")
    p, q = _histogram(_image(a, "a"), int(bins)), _histogram(_image(b, "b"), int(bins))
    return 0.5 * float(np.abs(p - q).sum())
