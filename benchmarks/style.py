"""Style transfer speed (lesson 08): seconds per optimisation step and fast-network inference.

Prints one table: seconds per Adam step of ``tflab.style.transfer`` at 128, 256 and 512 px,
and the time of one forward pass of the fast transform network on a 512 px photo (goal:
at most 1 s on 2 cores). The loss and the step are notebook 08's own and the network 08b's
(``make_loss``, ``train_step``, ``transform_net``), read from its cells. Uses the
random-weight VGG19 unless ``--weights imagenet`` (which needs the Keras download or its
cache); both have the same cost.

    .venv/bin/python benchmarks/style.py [--sizes 128 256 512] [--steps 20]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import keras
import tensorflow as tf

from tflab import data, machine, style
from tflab.source import notebook_definitions

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "08_style_transfer.ipynb"
NOTEBOOK_B = NOTEBOOK.with_name("08b_fast_style_transfer.ipynb")  # the transform network


def lesson_code() -> dict:
    """Notebook 08's Gram matrix, losses and step, 08b's transform network (the one copy)."""
    namespace: dict = {"tf": tf, "keras": keras}
    code = notebook_definitions(NOTEBOOK, "gram_matrix", "style_loss", "content_loss",
                                "variation_loss", "make_loss", "train_step")
    exec(compile(code, str(NOTEBOOK), "exec"), namespace)
    code = notebook_definitions(NOTEBOOK_B, "reflect_pad", "conv_block", "transform_net")
    exec(compile(code, str(NOTEBOOK_B), "exec"), namespace)
    return namespace


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256, 512])
    parser.add_argument("--steps", type=int, default=20,
                        help="timed steps per size, tracing included (default 20)")
    parser.add_argument("--weights", choices=["random", "imagenet"], default="random")
    args = parser.parse_args()

    matmul = machine.matmul_gflops()
    lesson = lesson_code()
    extractor = style.feature_extractor(args.weights)
    vgg = next(layer for layer in extractor.layers if isinstance(layer, keras.Model))
    content = data.content_image("chelsea")
    painting = data.style_image("starry_night")
    print(machine.matmul_line(matmul))
    print(f"{'what':42s} {'seconds':>9s}   work (step: VGG19 forward + gradient to the image "
          f"≈ 2× forward)")
    for size in args.sizes:
        run = dict(make_loss=lesson["make_loss"], step=lesson["train_step"], sizes=(size,))
        style.transfer(extractor, content, painting, steps=1, **run)  # trace first
        result = style.transfer(extractor, content, painting, steps=args.steps, **run)
        step = result.seconds / result.steps
        flops = 2 * machine.forward_flops(vgg, input_shape=result.image.shape[-3:])
        print(f"{f'optimisation step at {size} px ({args.weights} VGG19)':42s} "
              f"{step:9.3f}   {machine.share(flops, step, matmul)}")
    net = lesson["transform_net"]()
    side = max(args.sizes)
    photo = tf.image.resize(content[None], (side // 4 * 3 // 4 * 4, side))
    net(photo)  # trace first
    start = time.perf_counter()
    net(photo)
    seconds = time.perf_counter() - start
    flops = machine.forward_flops(net, input_shape=photo.shape[1:])
    print(f"{f'fast network, one {side} px photo':42s} {seconds:9.3f}   "
          f"{machine.share(flops, seconds, matmul)} (goal ≤ 1 s)")


if __name__ == "__main__":
    main()
