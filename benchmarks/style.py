"""Style transfer speed (lesson 08): seconds per optimisation step and fast-network inference.

Prints one table: seconds per Adam step of ``tflab.style.transfer`` at 128, 256 and 512 px,
and the time of one forward pass of the fast transform network on a 512 px photo (goal:
at most 1 s on 2 cores). Uses the random-weight VGG19 unless ``--weights imagenet``
(which needs the Keras download or its cache); both have the same cost.

    .venv/bin/python benchmarks/style.py [--sizes 128 256 512] [--steps 20]
"""

from __future__ import annotations

import argparse
import time

import tensorflow as tf

from tflab import data, style


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256, 512])
    parser.add_argument("--steps", type=int, default=20,
                        help="timed steps per size, tracing included (default 20)")
    parser.add_argument("--weights", choices=["random", "imagenet"], default="random")
    args = parser.parse_args()

    extractor = style.feature_extractor(args.weights)
    content = data.content_image("chelsea")
    painting = data.style_image("starry_night")
    print(f"{'what':42s} {'seconds':>9s}")
    for size in args.sizes:
        style.transfer(extractor, content, painting, sizes=(size,), steps=1)  # trace first
        result = style.transfer(extractor, content, painting, sizes=(size,), steps=args.steps)
        print(f"{f'optimisation step at {size} px ({args.weights} VGG19)':42s} "
              f"{result.seconds / result.steps:9.3f}")
    net = style.transform_net()
    side = max(args.sizes)
    photo = tf.image.resize(content[None], (side // 4 * 3 // 4 * 4, side))
    net(photo)  # trace first
    start = time.perf_counter()
    net(photo)
    seconds = time.perf_counter() - start
    print(f"{f'fast network, one {side} px photo':42s} {seconds:9.3f}   (goal ≤ 1 s)")


if __name__ == "__main__":
    main()
