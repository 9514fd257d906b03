"""tflab.machine: the FLOP count of a model's forward pass, and the matmul rate's checks."""

from __future__ import annotations

import keras
import pytest

from tflab import machine, models


def test_forward_flops_of_a_tiny_model_by_hand():
    model = keras.Sequential([
        keras.Input(shape=(6, 6, 2)),
        keras.layers.Conv2D(3, 3, padding="valid"),           # 4×4 outputs × (3·3·2·3) × 2
        keras.layers.Conv2D(5, 1, strides=2, padding="same"),  # 2×2 outputs × (1·1·3·5) × 2
        keras.layers.MaxPooling2D(2),                          # 1×1×5, no products
        keras.layers.Flatten(),
        keras.layers.Dense(4),                                 # 5·4 × 2
    ])
    assert machine.forward_flops(model) == 16 * 54 * 2 + 4 * 15 * 2 + 20 * 2  # 1728+120+40


def test_forward_flops_of_the_seed_cnn_and_nested_models():
    # conv 5×5×1×32 at 28×28, conv 5×5×32×64 at 14×14, dense 3136×1024, dense 1024×10
    by_hand = 2 * (25 * 32 * 784 + 25 * 32 * 64 * 196 + 3136 * 1024 + 1024 * 10)
    assert machine.forward_flops(models.lesson_04().seed_cnn()) == by_hand == 27_767_808
    inner = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(2)])
    outer = keras.Sequential([keras.Input(shape=(3,)), inner, keras.layers.Dense(7)])
    assert machine.forward_flops(outer) == 2 * (3 * 2 + 2 * 7)


def test_forward_flops_refuses_what_it_cannot_count_and_takes_an_input_shape():
    with pytest.raises(ValueError, match="built keras.Model"):
        machine.forward_flops(keras.layers.Dense(3))
    model = keras.Sequential([keras.Input(shape=(8, 2)), keras.layers.Conv1D(3, 2)])
    with pytest.raises(ValueError, match="Conv1D"):
        machine.forward_flops(model)
    any_size = keras.Sequential([keras.Input(shape=(None, None, 2)), keras.layers.Conv2D(3, 3)])
    with pytest.raises(ValueError, match="input_shape"):
        machine.forward_flops(any_size)
    # counted on a copy built for 6×6 images: 4×4 outputs × (3·3·2·3) × 2
    assert machine.forward_flops(any_size, input_shape=(6, 6, 2)) == 1728
    nested = keras.Sequential([keras.Input(shape=(None, None, 2)), any_size])
    with pytest.raises(ValueError, match="no fixed shape"):
        machine.forward_flops(nested, input_shape=(10, 10, 2))


def test_share_and_matmul_arguments():
    assert machine.share(2e9, 1.0, 4.0) == "       2 GFLOP/s =      50 % of matmul"
    assert machine.share(3e3, 2.0, 100.0) == " 1.5e-06 GFLOP/s = 1.5e-06 % of matmul"
    assert "2048.4 GFLOP/s" in machine.matmul_line(2048.4)
    with pytest.raises(ValueError, match="seconds"):
        machine.share(1e9, 0.0, 4.0)
    with pytest.raises(ValueError, match="n and repeats"):
        machine.matmul_gflops(n=0)
