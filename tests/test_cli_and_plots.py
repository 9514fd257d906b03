"""python -m tflab doctor / fetch, the environment report, and plots."""

from __future__ import annotations

import dataclasses
import hashlib
import os

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from tflab import __main__ as cli  # noqa: E402
from tflab import data, doctor, plots  # noqa: E402


def test_doctor_reports_versions_devices_and_datasets(capsys):
    assert cli.main(["doctor"]) == 0
    out = capsys.readouterr().out
    for word in ("tensorflow", "keras", "python", "cpus", "gpus", "data dir", "mnist/train-images",
                 "vgg19 imagenet (lesson 08)"):
        assert word in out
    assert doctor.versions()["tensorflow"].startswith("2.21")


def test_setup_seeds_checks_versions_and_says_so(capsys):
    import random

    import tensorflow as tf

    doctor.setup(7)
    first = (random.random(), np.random.rand(), float(tf.random.uniform([])))
    doctor.setup(7)
    assert (random.random(), np.random.rand(), float(tf.random.uniform([]))) == first
    out = capsys.readouterr().out
    assert "seed 7" in out and "versions OK" in out and doctor.versions()["tensorflow"] in out


def test_version_problems_are_named(monkeypatch):
    from importlib import metadata

    real = metadata.version
    monkeypatch.setattr(metadata, "version",
                        lambda name: "2.15.0" if name == "tensorflow" else real(name))
    problems = doctor.check_versions()
    assert problems == [
        "tensorflow 2.15.0 is installed, but the course needs tensorflow<2.22,>=2.21"]
    with pytest.warns(UserWarning, match="tensorflow 2.15.0 is installed.*run `make venv`"):
        doctor.setup(0)


def test_doctor_shows_missing_datasets(tmp_path, monkeypatch):
    monkeypatch.delenv("TFLAB_DATA_DIR", raising=False)
    text = doctor.report(tmp_path)
    assert "missing, would download https://storage.googleapis.com/cvdf-datasets/mnist" in text
    assert f"{tmp_path} (argument)" in text


def test_fetch_reports_present_and_fetched(tmp_path, monkeypatch, capsys, http_server):
    body = data.fetch("heart").read_bytes()
    url = http_server.serve("/heart.csv", body)
    monkeypatch.setitem(data.DATASETS, "heart", dataclasses.replace(
        data.DATASETS["heart"], url=url, sha256=hashlib.sha256(body).hexdigest()))
    monkeypatch.setattr(data, "_REGISTRY", list(data.DATASETS.values()))
    assert cli.main(["fetch", "heart", "--data-dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out.startswith("fetched ")
    assert cli.main(["fetch", "heart", "--data-dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out.startswith("present ")


def test_fetch_all_fetches_every_dataset_and_the_weights(tmp_path, monkeypatch, capsys):
    fetched = []
    monkeypatch.setattr(data, "fetch", lambda name, data_dir=None: fetched.append(name) or tmp_path)
    from tflab import style

    weights = tmp_path / "keras" / "models" / "vgg19.h5"
    monkeypatch.setattr(style, "weights_path", lambda: weights)
    weights.parent.mkdir(parents=True)
    weights.write_bytes(b"cached")
    assert cli.main(["fetch", "--all"]) == 0
    assert fetched == list(data.DATASETS)
    assert "present  vgg19 imagenet weights" in capsys.readouterr().out


def test_fetch_all_offline_says_the_weights_failed(tmp_path, monkeypatch, capsys):
    import keras

    from tflab import style

    monkeypatch.setattr(data, "fetch", lambda name, data_dir=None: tmp_path)
    monkeypatch.setattr(style, "weights_path", lambda: tmp_path / "keras" / "models" / "w.h5")

    def offline(*args, **kwargs):
        raise Exception("URL fetch failure: Name or service not known")

    monkeypatch.setattr(keras.utils, "get_file", offline)
    assert cli.main(["fetch", "--all"]) == 1
    err = capsys.readouterr().err
    assert "FAILED   vgg19 imagenet weights" in err and "weights='random-multiscale'" in err


def test_fetch_failure_is_reported_and_exit_code_nonzero(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TFLAB_OFFLINE", "1")
    assert cli.main(["fetch", "heart", "--data-dir", str(tmp_path)]) == 1
    assert "FAILED   heart" in capsys.readouterr().err


def test_fetch_rejects_unknown_names():
    with pytest.raises(SystemExit):
        cli.main(["fetch", "imagenet"])


def test_image_grid_has_title_and_one_axis_per_image():
    fig = plots.image_grid(np.zeros((12, 784)), labels=list(range(12)), title="digits", ncols=5)
    assert fig._suptitle.get_text() == "digits"
    assert len(fig.axes) == 15  # 3 rows of 5
    assert [ax.get_title() for ax in fig.axes[:3]] == ["0", "1", "2"]
    with pytest.raises(ValueError, match="labels"):
        plots.image_grid(np.zeros((2, 28, 28)), labels=[1], title="x")


def test_image_grid_captions_overlap_neither_each_other_nor_the_images():
    """Long class names ("T-shirt/top", "Ankle boot") once ran into their neighbours."""
    labels = ["T-shirt/top", "Ankle boot", "Pullover", "Sneaker"] * 5
    fig = plots.image_grid(np.zeros((20, 28, 28)), labels, title="Fashion-MNIST", size=1.1)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    titles = [ax.title.get_window_extent(renderer) for ax in fig.axes]
    images = [ax.get_window_extent(renderer) for ax in fig.axes]
    for i, title in enumerate(titles):
        assert not any(title.overlaps(other) for j, other in enumerate(titles) if j != i), i
        assert not any(title.overlaps(image) for image in images), i
    assert not fig._suptitle.get_window_extent(renderer).overlaps(titles[0])


def test_fit_lines_loss_curves_and_rate_sweep_have_titles_and_labels():
    from tflab.solvers import LinearFit

    x = np.array([1.0, 2.0, 3.0])
    figs = [
        plots.fit_lines(x, 2 * x, {"exact": LinearFit(2.0, 0.0)}, title="fit", xlabel="fires",
                        ylabel="thefts"),
        plots.loss_curves({"lr": [3.0, 2.0, 1.0]}, title="loss", xlabel="epoch",
                          ylabel="cross-entropy"),
        plots.rate_sweep([1e-3, 1e-2], {"100 epochs": [0.1, np.inf]}, title="sweep",
                         xlabel="learning rate", ylabel="error", bounds={"bound": 5e-3}),
        plots.param_paths(x, 2 * x, {"gd": [[0.0, 0.0], [1.0, 0.5], [np.inf, np.nan]]},
                          title="paths", xlabel="slope w", ylabel="intercept b",
                          exact=LinearFit(2.0, 0.0)),
        plots.per_layer({"relu": [1.0, 0.5, 0.0]}, title="layers", xlabel="layer",
                        ylabel="spread"),
    ]
    labels = [("fires", "thefts"), ("epoch", "cross-entropy"), ("learning rate", "error"),
              ("slope w", "intercept b"), ("layer", "spread")]
    for fig, title, (xlabel, ylabel) in zip(figs, ["fit", "loss", "sweep", "paths", "layers"],
                                            labels):
        ax = fig.axes[0]
        assert (ax.get_title(), ax.get_xlabel(), ax.get_ylabel()) == (title, xlabel, ylabel)
        assert ax.get_legend() is not None
    assert figs[1].axes[0].get_yscale() == "log"
    assert "y = 2.0000·x + 0.0000" in figs[0].axes[0].get_legend().get_texts()[1].get_text()


@pytest.mark.parametrize("draw", [
    lambda: plots.fit_lines(np.ones(2), np.ones(2), {}, title="t"),
    lambda: plots.loss_curves({"a": [1.0]}, title="t"),
    lambda: plots.rate_sweep([1e-3], {"a": [1.0]}, title="t"),
    lambda: plots.param_paths(np.ones(2), np.ones(2), {"a": [[0.0, 0.0]]}, title="t"),
    lambda: plots.per_layer({"a": [1.0]}, title="t"),
], ids=["fit_lines", "loss_curves", "rate_sweep", "param_paths", "per_layer"])
def test_plots_take_axis_labels_from_the_caller(draw):
    """No helper invents a label such as 'mean squared error' for a quantity it cannot know."""
    with pytest.raises(TypeError, match="xlabel"):
        draw()


def test_a_diverged_loss_curve_stops_where_it_blew_up():
    fig = plots.loss_curves({"diverged": [4.0, 8.0, np.inf, np.nan]}, title="t", xlabel="epoch",
                            ylabel="loss")
    line = fig.axes[0].get_lines()[0]
    assert np.isnan(line.get_ydata()[2:]).all() and list(line.get_ydata()[:2]) == [4.0, 8.0]


def test_show_source_renders_a_tflab_function_from_its_one_copy():
    import inspect

    from tflab import solvers
    from tflab.source import show_source

    code = show_source(solvers.limit_point)
    assert code.data.startswith("# tflab.solvers.limit_point\n")
    assert inspect.getsource(solvers.limit_point) in code.data
    assert "<span" in code._repr_html_()  # highlighted in a notebook
    with pytest.raises(TypeError, match="written in Python"):
        show_source(len)


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs Linux's /proc")
def test_peak_memory_is_in_megabytes_of_ten_to_the_six_bytes():
    """ru_maxrss is KiB on Linux: the figure must match the kernel's own VmHWM in MB."""
    held = np.ones(50_000_000, dtype=np.uint8)  # 50 MB, touched
    status = open("/proc/self/status").read()
    hwm_kib = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM")))
    assert doctor.peak_memory_mb() == pytest.approx(hwm_kib * 1024 / 1e6, rel=0.02)
    del held


def test_quiet_tensorflow_hides_warnings_in_its_block_only():
    import logging

    import tensorflow as tf

    from tflab import quiet_tensorflow

    logger = tf.get_logger()
    before = logger.level
    with quiet_tensorflow():
        assert not logger.isEnabledFor(logging.WARNING) and logger.isEnabledFor(logging.ERROR)
    assert logger.level == before
    with pytest.raises(KeyError), quiet_tensorflow():
        raise KeyError("the block fails")
    assert logger.level == before  # restored after an error too


@pytest.mark.parametrize("flags, found", [
    ("fpu sse2 avx avx2 fma", ["avx2"]),
    ("fpu avx2 avx512f avx512bw amx_bf16 amx_tile", ["avx2", "avx512f", "amx_tile"]),
    ("fpu sse2 avx", []),
])
def test_cpu_features_reads_the_simd_flags(tmp_path, flags, found):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\nmodel name\t: Some CPU\nflags\t\t: {flags}\n\n"
                       "processor\t: 1\nflags\t\t: fpu\n")
    assert doctor.cpu_features(cpuinfo) == found
    assert doctor.cpu_features(tmp_path / "missing") == []


def test_doctor_says_whether_checked_outputs_are_made_to_hold_here(monkeypatch):
    monkeypatch.setattr(doctor, "cpu_features", lambda: ["avx2", "avx512f"])
    monkeypatch.setattr(doctor.platform, "machine", lambda: "x86_64")
    assert "simd         avx2, avx512f (x86-64 with AVX2 or newer: the notebooks' checked" \
        in doctor.report()
    monkeypatch.setattr(doctor, "cpu_features", lambda: [])
    monkeypatch.setattr(doctor.platform, "machine", lambda: "arm64")
    assert "none of avx2/avx512f/amx_tile (checked outputs may differ in their last digits" \
        in doctor.report()
