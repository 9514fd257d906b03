"""tflab.probes and the per-layer plots: vanishing gradients, measured."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from tflab import data, models, plots, probes


@pytest.fixture(scope="module")
def batch():
    mnist = data.mnist(flatten=True)
    return mnist.train.images[:256], mnist.train.labels[:256]


def deep(activation, init, seed=0):
    keras.utils.set_random_seed(seed)
    return models.mlp(hidden=[100] * 20, activation=activation, kernel_initializer=init)


def test_gradient_norms_vanish_with_sigmoid(batch):
    norms = probes.gradient_norms(deep("sigmoid", "glorot_uniform"), *batch)
    assert norms.shape == (21,) and np.all(np.isfinite(norms))
    assert norms[0] * 100 <= norms[-1]


@pytest.mark.parametrize("activation", ["elu", "relu"])
def test_gradient_norms_do_not_vanish_with_he_init(batch, activation):
    norms = probes.gradient_norms(deep(activation, "he_normal"), *batch)
    assert np.all(np.isfinite(norms)) and np.all(norms > 0)
    assert 0.1 <= norms[0] / norms[-1] <= 10


def test_activation_stats_one_value_per_layer(batch):
    means, stds = probes.activation_stats(deep("relu", "he_normal"), batch[0])
    assert means.shape == stds.shape == (21,) and np.all(stds > 0)
    # a tiny initialisation makes the signal die out on the way forward
    _, small = probes.activation_stats(
        deep("tanh", keras.initializers.RandomNormal(stddev=0.01)), batch[0])
    assert small[10] < 1e-3 * small[0]
    with pytest.raises(ValueError, match="no Dense"):
        probes.gradient_norms(keras.Sequential([keras.Input((3,)), keras.layers.Flatten()]),
                              np.zeros((1, 3)), [0])


def test_per_layer_and_activation_plots():
    fig = plots.per_layer({"a": [1.0, 0.0, 0.1]}, title="norms", xlabel="layer",
                          ylabel="gradient norm")
    ax = fig.axes[0]
    assert ax.get_title() == "norms" and ax.get_yscale() == "log" and ax.get_legend()
    fig = plots.activations(["relu", "sigmoid"])
    assert [a.get_title() for a in fig.axes] == ["f(x)", "f'(x)"]
    slope = fig.axes[1].lines[1].get_ydata()  # sigmoid's derivative peaks at 0.25
    assert abs(max(slope) - 0.25) < 1e-3


@pytest.mark.parametrize("make", [lambda: keras.initializers.HeNormal(),
                                  lambda: keras.initializers.HeNormal(seed=7),
                                  lambda: keras.initializers.TruncatedNormal(stddev=0.1)],
                         ids=["unseeded", "seeded", "truncated normal"])
def test_mlp_gives_every_layer_its_own_kernel_from_one_initialiser(make):
    """A Keras 3 initialiser object returns the same values at every call, seeded or not, so
    models.mlp copies it for each layer: distinct kernels, the same again after the same seed."""
    one = make()
    assert np.array_equal(one((3, 3)), one((3, 3)))  # the trap models.mlp avoids

    def kernels():
        keras.utils.set_random_seed(0)
        net = models.mlp(hidden=[100] * 3, kernel_initializer=make())
        return [layer.kernel.numpy() for layer in net.layers if hasattr(layer, "kernel")]

    first, again = kernels(), kernels()
    assert not np.array_equal(first[1], first[2]) and not np.array_equal(first[2], first[3])
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
