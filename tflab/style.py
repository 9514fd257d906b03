"""Neural style transfer: Gatys et al. (2016), and a fast feed-forward network (Johnson et al. 2016).

- :func:`feature_extractor` gives VGG19 features: ``weights="imagenet"`` loads the
  pretrained network through Keras (downloaded and cached when online) and raises
  :class:`WeightsUnavailableError` when it cannot; ``weights="random"`` builds the same
  architecture with random weights, which still synthesises textures and transfers
  style (He, Wang & Hopcroft, NeurIPS 2016; Ustyuzhaninov et al., ICLR 2017). The
  choice is always explicit: nothing swaps one for the other silently.
- :func:`gram_matrix`, :class:`StyleLoss` (style, content and total-variation terms)
  and :func:`transfer` (Adam or L-BFGS, pixels kept in [0, 1], optionally several
  resolutions, small first).
- :func:`transform_net` and :func:`train_fast`: an image-transform network trained for
  one style, applied to a new photo in one forward pass.

Each layer's style and content loss is divided by the size of its target (the mean
square of the target Gram matrix or features), so the weights mean the same whether
the features come from trained or random filters, whose scales differ by orders of
magnitude. Images are float32 RGB in [0, 1], shaped (H, W, 3) or (1, H, W, 3).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import keras
import numpy as np
import tensorflow as tf

__all__ = ["STYLE_LAYERS", "CONTENT_LAYERS", "WeightsUnavailableError", "VGG19_WEIGHTS_URL",
           "weights_path", "fetch_weights", "feature_extractor",
           "gram_matrix", "StyleLoss", "Result", "transfer", "resize", "transform_net",
           "train_fast"]

STYLE_LAYERS = ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1")
CONTENT_LAYERS = ("block5_conv2",)


class WeightsUnavailableError(RuntimeError):
    """The pretrained ImageNet weights could not be loaded (offline, or a damaged cache)."""


VGG19_WEIGHTS_URL = ("https://storage.googleapis.com/tensorflow/keras-applications/vgg19/"
                     "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5")
VGG19_WEIGHTS_MD5 = "253f8cb515780f3b799900260a226db6"  # Keras's own check for this file


def weights_path():
    """Where Keras keeps the VGG19 ImageNet weights (``$KERAS_HOME/models`` or ``~/.keras``)."""
    from pathlib import Path

    from keras.src.backend.config import keras_home

    return Path(keras_home()) / "models" / VGG19_WEIGHTS_URL.rsplit("/", 1)[1]


def fetch_weights() -> tuple[str, object]:
    """Download the VGG19 ImageNet weights into Keras's cache unless already there.

    Returns ``("present" | "fetched", path)``; raises :class:`WeightsUnavailableError`
    with the reason when the download fails.
    """
    path = weights_path()
    if path.is_file():
        return "present", path
    try:
        keras.utils.get_file(path.name, VGG19_WEIGHTS_URL, cache_dir=str(path.parent.parent),
                             cache_subdir="models", file_hash=VGG19_WEIGHTS_MD5)
    except Exception as err:
        raise WeightsUnavailableError(
            f"could not download the VGG19 weights from {VGG19_WEIGHTS_URL} "
            f"({type(err).__name__}: {err}); lesson 08 then uses weights='random'") from err
    return "fetched", path


def feature_extractor(weights: str = "imagenet", *, style_layers=STYLE_LAYERS,
                      content_layers=CONTENT_LAYERS, seed: int = 0) -> keras.Model:
    """VGG19 up to the layers used, mapping images in [0, 1] to their feature maps.

    Returns a model whose output is a list: the ``style_layers`` then the
    ``content_layers`` activations. ``weights`` is "imagenet" (pretrained; needs the
    Keras download or its cache) or "random" (He-initialised filters, seeded).
    """
    if weights not in ("imagenet", "random"):
        raise ValueError(f"weights must be 'imagenet' or 'random', not {weights!r}")
    if weights == "imagenet":
        try:
            vgg = keras.applications.VGG19(include_top=False, weights="imagenet")
        except Exception as err:  # URLError, HTTPError, OSError, a truncated .h5 ...
            raise WeightsUnavailableError(
                f"could not load the ImageNet VGG19 weights ({type(err).__name__}: {err}). "
                "They are downloaded once by Keras into ~/.keras/models/ and need internet "
                "access the first time. To run offline, choose the random-weight network "
                "explicitly: feature_extractor(weights='random')") from err
    else:
        vgg = keras.applications.VGG19(include_top=False, weights=None)
        rng = np.random.default_rng(seed)
        for layer in vgg.layers:
            if isinstance(layer, keras.layers.Conv2D):  # He initialisation, bias 0
                fan_in = int(np.prod(layer.kernel.shape[:-1]))
                layer.kernel.assign(rng.normal(0, np.sqrt(2.0 / fan_in), layer.kernel.shape))
                layer.bias.assign(np.zeros(layer.bias.shape))
    vgg.trainable = False
    names = list(style_layers) + list(content_layers)
    outputs = [vgg.get_layer(name).output for name in names]
    body = keras.Model(vgg.input, outputs, name=f"vgg19_{weights}")
    image = keras.Input((None, None, 3), name="image")
    pixels = keras.applications.vgg19.preprocess_input(image * 255.0)
    model = keras.Model(image, body(pixels), name=f"vgg19_{weights}_features")
    model.weights_kind = weights
    model.style_layers, model.content_layers = tuple(style_layers), tuple(content_layers)
    return model


def gram_matrix(features: tf.Tensor) -> tf.Tensor:
    """Channel correlations of feature maps (B, H, W, C) → (B, C, C), divided by H·W."""
    features = tf.convert_to_tensor(features, tf.float32)
    if features.shape.rank != 4:
        raise ValueError(f"features must have shape (batch, height, width, channels), "
                         f"not {features.shape}")
    positions = tf.cast(tf.shape(features)[1] * tf.shape(features)[2], tf.float32)
    return tf.einsum("bijc,bijd->bcd", features, features) / positions


def _batch(image) -> tf.Tensor:
    image = tf.convert_to_tensor(image, tf.float32)
    return image[None] if image.shape.rank == 3 else image


def resize(image, max_side: int) -> tf.Tensor:
    """Resize so that the longer side is ``max_side`` pixels (keeps the aspect ratio)."""
    image = _batch(image)
    h, w = int(image.shape[1]), int(image.shape[2])
    scale = max_side / max(h, w)
    size = (max(1, round(h * scale)), max(1, round(w * scale)))
    return tf.clip_by_value(tf.image.resize(image, size, method="bicubic"), 0.0, 1.0)


class StyleLoss:
    """The loss of Gatys et al. for one style image and one content image.

    total = style_weight · style + content_weight · content + tv_weight · variation.
    Targets are computed once; call the object on a (1, H, W, 3) image.
    """

    def __init__(self, extractor: keras.Model, style_image, content_image, *,
                 style_weight: float = 1.0, content_weight: float = 1.0,
                 tv_weight: float = 1e-3):
        self.extractor = extractor
        self.n_style = len(extractor.style_layers)
        self.style_weight, self.content_weight, self.tv_weight = \
            style_weight, content_weight, tv_weight
        style_out = extractor(_batch(style_image))
        self.style_targets = [gram_matrix(f) for f in style_out[:self.n_style]]
        self.content_targets = extractor(_batch(content_image))[self.n_style:]

    def _style(self, features) -> tf.Tensor:
        return tf.add_n([tf.reduce_mean(tf.square(gram_matrix(f) - t)) /
                         (tf.reduce_mean(tf.square(t)) + 1e-12)
                         for f, t in zip(features, self.style_targets)]) / self.n_style

    def style_distance(self, image) -> tf.Tensor:
        """The style term alone, unweighted: how far the image's Grams are from the style's."""
        return self._style(self.extractor(_batch(image))[:self.n_style])

    def terms(self, image) -> dict[str, tf.Tensor]:
        """The three terms, weighted, and their sum under "total"."""
        image = _batch(image)
        outputs = self.extractor(image)
        style = self._style(outputs[:self.n_style])
        content = tf.add_n([tf.reduce_mean(tf.square(f - t)) /
                            (tf.reduce_mean(tf.square(t)) + 1e-12)
                            for f, t in zip(outputs[self.n_style:], self.content_targets)])
        pixels = tf.cast(tf.reduce_prod(tf.shape(image)[1:]), tf.float32)
        variation = tf.reduce_sum(tf.image.total_variation(image)) / pixels
        terms = {"style": self.style_weight * style,
                 "content": self.content_weight * content / len(self.content_targets),
                 "variation": self.tv_weight * variation}
        terms["total"] = terms["style"] + terms["content"] + terms["variation"]
        return terms

    def __call__(self, image) -> tf.Tensor:
        return self.terms(image)["total"]


@dataclass
class Result:
    """A stylised image and how it was made."""

    image: np.ndarray
    losses: list[float] = field(default_factory=list)
    seconds: float = 0.0
    steps: int = 0
    sizes: tuple[int, ...] = ()


def _adam(loss: StyleLoss, image: tf.Variable, steps: int, learning_rate: float) -> list[float]:
    optimizer = keras.optimizers.Adam(learning_rate)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            value = loss(image)
        optimizer.apply_gradients([(tape.gradient(value, image), image)])
        image.assign(tf.clip_by_value(image, 0.0, 1.0))
        return value

    return [float(step()) for _ in range(steps)]


def _lbfgs(loss: StyleLoss, image: tf.Variable, steps: int) -> list[float]:
    from scipy.optimize import minimize

    shape = image.shape
    losses: list[float] = []

    @tf.function
    def value_and_grad(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            value = loss(tf.reshape(x, shape))
        return value, tape.gradient(value, x)

    def fun(x):
        value, grad = value_and_grad(tf.constant(x, tf.float32))
        losses.append(float(value))
        return float(value), grad.numpy().astype(np.float64)

    result = minimize(fun, image.numpy().ravel().astype(np.float64), jac=True,
                      method="L-BFGS-B", bounds=[(0.0, 1.0)] * int(np.prod(shape)),
                      options={"maxiter": steps, "maxfun": steps})
    image.assign(np.asarray(result.x, np.float32).reshape(shape))
    return losses


def transfer(extractor: keras.Model, content, style, *, sizes=(256,), steps: int = 100,
             method: str = "adam", learning_rate: float = 0.02, style_weight: float = 1.0,
             content_weight: float = 1.0, tv_weight: float = 1e-3, init=None) -> Result:
    """Stylise ``content`` with ``style`` by optimising the image's pixels.

    ``sizes`` lists the resolutions (longer side, pixels), small first: the result at
    one size, upscaled, starts the next (``steps`` steps at each). ``method`` is "adam"
    (``learning_rate``) or "lbfgs" (SciPy's L-BFGS-B; ``steps`` counts loss
    evaluations). The image starts from the content photo unless ``init`` is given.
    """
    if method not in ("adam", "lbfgs"):
        raise ValueError(f"method must be 'adam' or 'lbfgs', not {method!r}")
    if not sizes or steps < 1:
        raise ValueError(f"need at least one size and one step, got sizes={sizes}, steps={steps}")
    start = time.perf_counter()
    losses: list[float] = []
    current = None if init is None else _batch(init)
    for size in sizes:
        target = resize(content, size)
        loss = StyleLoss(extractor, resize(style, size), target, style_weight=style_weight,
                         content_weight=content_weight, tv_weight=tv_weight)
        start_image = target if current is None else \
            tf.clip_by_value(tf.image.resize(current, target.shape[1:3], "bicubic"), 0.0, 1.0)
        image = tf.Variable(start_image)
        losses += _adam(loss, image, steps, learning_rate) if method == "adam" else \
            _lbfgs(loss, image, steps)
        current = tf.convert_to_tensor(image)
    return Result(image=current[0].numpy(), losses=losses, seconds=time.perf_counter() - start,
                  steps=len(losses), sizes=tuple(sizes))


# ------------------------------------------------------------------ fast style transfer

def _conv(x, filters, kernel, strides=1, relu=True):
    x = keras.layers.Conv2D(filters, kernel, strides=strides, padding="same")(x)
    x = keras.layers.GroupNormalization(groups=-1)(x)  # groups=-1: instance normalisation
    return keras.layers.ReLU()(x) if relu else x


def transform_net(filters: int = 16, residual_blocks: int = 3, name: str = "transform_net"
                  ) -> keras.Model:
    """Johnson et al.'s image-transform network, scaled down: images in, images out.

    9×9 convolution, two stride-2 convolutions, ``residual_blocks`` residual blocks,
    two ×2 upsamplings each followed by a convolution, and a 9×9 convolution to RGB
    with a sigmoid, so pixels stay in [0, 1]. Instance normalisation throughout.
    Height and width must be multiples of 4.
    """
    image = keras.Input((None, None, 3), name="image")
    x = _conv(image, filters, 9)
    x = _conv(x, filters * 2, 3, strides=2)
    x = _conv(x, filters * 4, 3, strides=2)
    for _ in range(residual_blocks):
        y = _conv(x, filters * 4, 3)
        y = _conv(y, filters * 4, 3, relu=False)
        x = keras.layers.Add()([x, y])
    for f in (filters * 2, filters):
        x = keras.layers.UpSampling2D(2, interpolation="nearest")(x)
        x = _conv(x, f, 3)
    out = keras.layers.Conv2D(3, 9, padding="same", activation="sigmoid", name="rgb")(x)
    return keras.Model(image, out, name=name)


def train_fast(net: keras.Model, extractor: keras.Model, style, contents, *, size: int = 128,
               steps: int = 200, learning_rate: float = 1e-3, style_weight: float = 1.0,
               content_weight: float = 1.0, tv_weight: float = 1e-3, seed: int = 0) -> list[float]:
    """Train ``net`` to stylise like ``style``, on square crops of the ``contents`` photos.

    Each step feeds one content image (cycling through them) at ``size``×``size`` and
    minimises the same loss as :func:`transfer` on the network's output. Returns the
    loss per step.
    """
    if size % 4:
        raise ValueError(f"size must be a multiple of 4 for the transform network, not {size}")
    keras.utils.set_random_seed(seed)
    photos = [tf.image.resize(_batch(c), (size, size), "bicubic") for c in contents]
    photos = [tf.clip_by_value(p, 0.0, 1.0) for p in photos]
    losses_per_photo = [StyleLoss(extractor, resize(style, size), p, style_weight=style_weight,
                                  content_weight=content_weight, tv_weight=tv_weight)
                        for p in photos]
    optimizer = keras.optimizers.Adam(learning_rate)
    steps_fns = []
    for photo, loss in zip(photos, losses_per_photo):
        @tf.function
        def step(photo=photo, loss=loss):
            with tf.GradientTape() as tape:
                value = loss(net(photo, training=True))
            grads = tape.gradient(value, net.trainable_variables)
            optimizer.apply_gradients(zip(grads, net.trainable_variables))
            return value
        steps_fns.append(step)
    return [float(steps_fns[i % len(steps_fns)]()) for i in range(steps)]
