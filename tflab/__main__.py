"""Command line: ``python -m tflab doctor``, ``fetch`` and ``run``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tflab import data, doctor
from tflab.files import repo_root

# the checkout's folders by default; where tflab is installed elsewhere, the current folder's
_ROOT = repo_root() or Path.cwd()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tflab", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("doctor", help="print versions, devices, data directory and datasets")
    fetch = sub.add_parser("fetch", help="download datasets into the data directory")
    fetch.add_argument("names", nargs="*", help=f"datasets to fetch ({', '.join(data.DATASETS)})")
    fetch.add_argument("--all", action="store_true",
                       help="fetch every dataset and the VGG19 ImageNet weights")
    run = sub.add_parser("run", help="run every notebook in a fresh kernel; reports in reports/")
    run.add_argument("--only", nargs="+", help="notebooks to run (names or prefixes, e.g. 01 02)")
    run.add_argument("--notebooks", default=str(_ROOT / "notebooks"), help="notebook folder")
    run.add_argument("--reports", default=str(_ROOT / "reports"),
                     help="where executed copies, HTML, summary.md and course.log go")
    run.add_argument("--machine-gflops", type=float, default=None, metavar="RATE",
                     help="this machine's float32 matmul rate in GFLOP/s, to scale the "
                          "notebooks' run times by (default: measured first, in seconds)")
    for p in sub.choices.values():
        p.add_argument("--data-dir", default=None, help="data directory (default: TFLAB_DATA_DIR "
                                                        "or the repository's data/)")
    args = parser.parse_args(argv)

    if args.command == "doctor":
        print(doctor.report(args.data_dir))
        return 0
    if args.command == "run":
        from tflab import runner

        if args.data_dir:
            import os
            os.environ["TFLAB_DATA_DIR"] = str(Path(args.data_dir).resolve())
        try:
            course = runner.run_course(Path(args.notebooks), Path(args.reports), args.only,
                                       gflops=args.machine_gflops)
        except ValueError as err:
            parser.error(str(err))
        print(runner.summary_markdown(course), end="")
        return 0 if course.passed else 1

    names = list(data.DATASETS) if args.all else args.names
    if not names:
        parser.error("name the datasets to fetch, or use --all")
    unknown = [n for n in names if n not in data.DATASETS]
    if unknown:
        parser.error(f"unknown datasets {unknown}; known: {', '.join(data.DATASETS)}")
    failed = 0
    present = {row.name: row.present for row in data.dataset_status(args.data_dir)}
    for name in names:
        try:
            path = data.fetch(name, args.data_dir)
        except data.DataError as exc:
            print(f"FAILED   {name}: {exc}", file=sys.stderr)
            failed += 1
            continue
        print(f"{'present ' if present[name] else 'fetched '} {name:<28} {path}")
    if args.all:  # the pretrained weights lesson 08 uses when it can
        from tflab import style

        try:
            state, path = style.fetch_weights()
            print(f"{state:<8} {'vgg19 imagenet weights':<28} {path}")
        except style.WeightsUnavailableError as exc:
            print(f"FAILED   vgg19 imagenet weights: {exc}", file=sys.stderr)
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
