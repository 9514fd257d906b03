"""tflab.data on the real mirrored files, and on broken ones.

Each test stands alone, in any order: the real-file tests read the mirror
(``TFLAB_DATA_DIR``) or fetch what they need themselves; the others work in their own
``tmp_path`` on files they write or on ``tests/fixtures/data``, with the environment they
need set by ``monkeypatch`` (``pytest --reverse tests/test_data.py`` checks it).
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import FIXTURE_DATA, write_idx, write_jpeg, write_png

from tflab import __main__ as cli
from tflab import data

HEART_HEAD = FIXTURE_DATA / "heart_head.csv"  # header and the first 10 rows

# --------------------------------------------------------------- the real files


def test_fire_theft_has_42_rows_and_known_first_row():
    x, y = data.fire_theft()
    assert x.shape == y.shape == (42,)
    assert x.dtype == y.dtype == np.float64
    assert (x[0], y[0]) == (6.2, 29.0)


@pytest.fixture(scope="module")
def digits():
    return data.mnist()


def test_mnist_splits_have_old_tutorial_sizes(digits):
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = digits
    assert x_train.shape == (55000, 28, 28) and y_train.shape == (55000,)
    assert x_val.shape == (5000, 28, 28) and y_val.shape == (5000,)
    assert x_test.shape == (10000, 28, 28) and y_test.shape == (10000,)
    assert x_train.dtype == np.float32 and 0.0 <= x_train.min() and x_train.max() <= 1.0
    assert y_train.dtype == np.uint8


def test_mnist_first_training_labels_and_test_class_counts(digits):
    # The training file starts 5 0 4 1 9 2 1 3 1 4; those images form the start of
    # the validation split, which is the first 5000 training images.
    raw_labels = data.read_idx(data.fetch("mnist/train-labels"), data.IDX_LABELS_MAGIC)
    assert raw_labels[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert digits.validation.labels[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert digits.train.labels[:10].tolist() == raw_labels[5000:5010].tolist()
    counts = np.bincount(digits.test.labels, minlength=10)
    assert counts.tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_mnist_options_flatten_uint8_one_hot():
    splits = data.mnist(dtype="uint8", flatten=True, one_hot=True, validation_size=1000)
    images, labels = splits.train
    assert images.shape == (59000, 784) and images.dtype == np.uint8
    assert labels.shape == (59000, 10) and labels.dtype == np.float32
    assert np.all(labels.sum(axis=1) == 1)
    assert splits.validation.images.shape == (1000, 784)


def test_mnist_rejects_bad_arguments():
    with pytest.raises(ValueError, match="variant"):
        data.mnist("letters")
    with pytest.raises(ValueError, match="dtype"):
        data.mnist(dtype="float64")
    with pytest.raises(ValueError, match="validation_size"):
        data.mnist(validation_size=-1)


def test_heart_has_462_typed_rows():
    table = data.heart()
    assert list(table) == list(data.HEART_COLUMNS)
    assert all(len(column) == 462 for column in table.values())
    assert set(table["famhist"]) == {"Present", "Absent"}
    assert table["chd"].dtype == np.int64 and set(table["chd"]) == {0, 1}
    assert table["ldl"].dtype == np.float64


def test_birth_life_has_190_countries():
    country, birth, life = data.birth_life()
    assert len(country) == len(birth) == len(life) == 190
    assert country[0] == "Vietnam" and birth[0] == pytest.approx(1.822)


@pytest.mark.parametrize("name", data.STYLE_IMAGES)
def test_style_images_decode_to_float_rgb(name):
    image = data.style_image(name)
    assert image.ndim == 3 and image.shape[2] == 3 and image.dtype == np.float32
    assert 0.0 <= image.min() and image.max() <= 1.0
    small = data.style_image(name, max_side=64)
    assert max(small.shape[:2]) == 64
    # aspect ratio kept to within a pixel
    assert abs(small.shape[0] / small.shape[1] - image.shape[0] / image.shape[1]) < 0.05


@pytest.mark.parametrize("name", data.CONTENT_IMAGES)
def test_content_images_decode_to_float_rgb(name):
    image = data.content_image(name, max_side=100)
    assert image.ndim == 3 and image.shape[2] == 3 and image.dtype == np.float32
    assert max(image.shape[:2]) == 100
    assert 0.0 <= image.min() and image.max() <= 1.0


def test_unknown_image_names_are_clear_errors():
    with pytest.raises(ValueError, match="starry_night"):
        data.style_image("mona_lisa")
    with pytest.raises(ValueError, match="astronaut"):
        data.content_image("lena")
    with pytest.raises(ValueError, match="known datasets"):
        data.fetch("imagenet")


# ------------------------------------------------------------------ data directory


def test_fetch_against_the_mirror(data_mirror, monkeypatch, capsys):
    """``python -m tflab fetch`` finds every file in the mirror; with downloads switched
    off, a file missing there shows as FAILED, never as "fetched"."""
    monkeypatch.setenv("TFLAB_OFFLINE", "1")
    # Fashion-MNIST is not in the mirror: it comes from Debian's package when installed.
    names = [n for n in data.DATASETS if not n.startswith("fashion-mnist/")]
    assert cli.main(["fetch", *names, "--data-dir", str(data_mirror)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(names)
    assert all(line.startswith("present ") and str(data_mirror) in line for line in lines)


def test_data_dir_order(monkeypatch, tmp_path):
    monkeypatch.setenv("TFLAB_DATA_DIR", str(tmp_path / "env"))
    assert data.get_data_dir(tmp_path / "arg") == tmp_path / "arg"
    assert data.get_data_dir() == tmp_path / "env"
    monkeypatch.delenv("TFLAB_DATA_DIR")
    default = data.get_data_dir()
    assert default.name == "data" and (default / "README.md").is_file()


def test_data_readme_lists_every_dataset():
    readme = Path(data.__file__).parents[1] / "data" / "README.md"
    text = readme.read_text()
    for ds in data.DATASETS.values():
        assert ds.path in text, f"data/README.md does not mention {ds.path}"
        assert ds.url in text, f"data/README.md does not give the address of {ds.path}"


def test_registry_entries_are_complete():
    for ds in data.DATASETS.values():
        assert len(ds.sha256) == 64 and int(ds.sha256, 16) >= 0
        assert ds.size > 0 and ds.url.startswith("http") and ds.licence and ds.citation


# --------------------------------------------------------------------- Fashion


def _fake_fashion(tmp_path, monkeypatch):
    """Point the Fashion-MNIST entries' system paths at small fake IDX files."""
    rng = np.random.default_rng(0)
    system = tmp_path / "usr-share"
    for part, n in (("train", 60000), ("t10k", 10000)):
        name_i, name_l = f"fashion-mnist/{part}-images", f"fashion-mnist/{part}-labels"
        img = write_idx(system / f"{part}-images-idx3-ubyte.gz", np.zeros((n, 28, 28), np.uint8))
        lab = write_idx(system / f"{part}-labels-idx1-ubyte.gz", rng.integers(0, 10, n))
        for name, path in ((name_i, img), (name_l, lab)):
            entry = dataclasses.replace(data.DATASETS[name], system_paths=(str(path),))
            monkeypatch.setitem(data.DATASETS, name, entry)
            monkeypatch.setattr(data, "_REGISTRY", list(data.DATASETS.values()))
    return system


def test_fashion_is_found_where_debian_installs_it(tmp_path, monkeypatch):
    _fake_fashion(tmp_path, monkeypatch)
    empty = tmp_path / "empty-data-dir"
    splits = data.mnist("fashion", data_dir=empty, dtype="uint8")
    assert splits.train.images.shape == (55000, 28, 28)
    assert splits.test.labels.shape == (10000,)
    assert not empty.exists()  # nothing was downloaded or copied


def test_real_fashion_mnist_when_installed():
    status = {row.name: row.present for row in data.dataset_status()}
    if not all(status[f"fashion-mnist/{p}"] for p in ("train-images", "train-labels",
                                                       "t10k-images", "t10k-labels")):
        pytest.skip("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)")
    splits = data.mnist("fashion")
    assert splits.test.images.shape == (10000, 28, 28)
    assert np.bincount(splits.test.labels).tolist() == [1000] * 10
    assert len(data.FASHION_CLASSES) == 10


# -------------------------------------------------------------------- batches


def test_batch_iterator_sees_every_example_once_per_epoch():
    images = np.arange(10)
    it = data.BatchIterator(images, images * 10, seed=1)
    seen = [it.next_batch(3) for _ in range(10)]  # 30 examples = 3 epochs
    flat = np.concatenate([b[0] for b in seen])
    assert all(np.array_equal(b[1], b[0] * 10) for b in seen)  # pairs stay together
    for epoch in range(3):
        assert sorted(flat[epoch * 10:(epoch + 1) * 10].tolist()) == list(range(10))
    assert it.epochs_completed == 2  # the 3rd epoch ended exactly at the last batch
    # the batch crossing an epoch boundary holds the rest of one epoch and the start of the next
    assert seen[3][0].shape == (3,)


def test_batch_iterator_is_reproducible_and_reshuffles():
    a = data.BatchIterator(np.arange(100), np.arange(100), seed=7)
    b = data.BatchIterator(np.arange(100), np.arange(100), seed=7)
    first = [a.next_batch(100)[0] for _ in range(2)]
    assert np.array_equal(first[0], b.next_batch(100)[0])
    assert not np.array_equal(first[0], first[1])  # a new order each epoch
    ordered = data.BatchIterator(np.arange(5), np.arange(5), shuffle=False)
    assert ordered.next_batch(3)[0].tolist() == [0, 1, 2]
    assert ordered.next_batch(3)[0].tolist() == [3, 4, 0]


def test_batch_iterator_rejects_bad_sizes():
    with pytest.raises(ValueError, match="differ in length"):
        data.BatchIterator(np.zeros(3), np.zeros(2))
    it = data.BatchIterator(np.zeros(3), np.zeros(3))
    with pytest.raises(ValueError, match="batch_size"):
        it.next_batch(4)


def test_make_dataset_batches_and_is_reproducible():
    x = np.arange(20, dtype=np.float32).reshape(10, 2)
    y = np.arange(10)
    ds = data.make_dataset(x, y, batch_size=4, seed=3)
    batches = list(ds.as_numpy_iterator())
    assert [len(b[1]) for b in batches] == [4, 4, 2]
    labels = np.concatenate([b[1] for b in batches])
    assert sorted(labels.tolist()) == list(range(10))
    for bx, by in batches:
        assert np.array_equal(bx[:, 0], by * 2)
    again = np.concatenate([b[1] for b in data.make_dataset(x, y, batch_size=4, seed=3)
                            .as_numpy_iterator()])
    assert np.array_equal(labels, again)


# --------------------------------------------------------------------- bad files


def test_truncated_idx_is_named(tmp_path):
    good = write_idx(tmp_path / "good.gz", np.zeros((5, 28, 28)), compress=False).read_bytes()
    path = tmp_path / "short-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(good[:-100]))
    with pytest.raises(data.DataFormatError, match="short-images.*truncated"):
        data.read_idx(path, data.IDX_IMAGES_MAGIC)


def test_cut_off_gzip_stream_is_named(tmp_path):
    path = write_idx(tmp_path / "cut-images-idx3-ubyte.gz", np.zeros((50, 28, 28)))
    path.write_bytes(path.read_bytes()[:-30])
    with pytest.raises(data.DataFormatError, match="cut-images.*truncated"):
        data.read_idx(path)


def test_wrong_magic_is_named(tmp_path):
    path = write_idx(tmp_path / "labels.gz", np.zeros(10), magic=2051 - 2)
    with pytest.raises(data.DataFormatError, match="labels.gz.*magic number 2049, expected 2051"):
        data.read_idx(path, data.IDX_IMAGES_MAGIC)


def test_image_label_count_mismatch_is_named(tmp_path):
    images = write_idx(tmp_path / "img.gz", np.zeros((5, 28, 28)))
    labels = write_idx(tmp_path / "lab.gz", np.zeros(4))
    with pytest.raises(data.DataFormatError, match="img.gz holds 5 images but .*lab.gz holds 4"):
        data.read_idx_pair(images, labels)


def test_present_file_with_wrong_count_is_rejected_by_fetch(tmp_path):
    write_idx(tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz", np.zeros(9999))
    with pytest.raises(data.DataFormatError, match=r"t10k-labels.*shape \(10000,\)"):
        data.fetch("mnist/t10k-labels", tmp_path)


def _write_xls(path, rows):
    import xlwt

    book = xlwt.Workbook()
    sheet = book.add_sheet("fire")
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            sheet.write(r, c, value)
    book.save(str(path))
    return path


def test_xls_with_a_text_cell_names_the_row(tmp_path):
    _write_xls(tmp_path / "fire_theft.xls", [("X", "Y"), (6.2, 29.0), (9.5, "many")])
    with pytest.raises(data.DataFormatError, match=r"fire_theft.xls: row 3, column Y.*'many'"):
        data.fire_theft(tmp_path)


def test_xls_without_header_is_named(tmp_path):
    _write_xls(tmp_path / "fire_theft.xls", [(6.2, 29.0), (9.5, 44.0)])
    with pytest.raises(data.DataFormatError, match="fire_theft.xls: row 1 must be the header X, Y"):
        data.fire_theft(tmp_path)


def test_a_good_written_xls_reads(tmp_path):
    _write_xls(tmp_path / "fire_theft.xls", _fire_rows(42))
    x, y = data.fire_theft(tmp_path)
    assert x.tolist() == list(range(42)) and y.tolist() == [2.0 * i for i in range(42)]


def test_heart_with_a_bad_value_names_line_and_column(tmp_path):
    lines = HEART_HEAD.read_text().splitlines()[:4]
    lines[2] = lines[2].replace("144", "abc", 1)
    (tmp_path / "heart.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(data.DataFormatError, match="heart.csv: line 3, column sbp"):
        data.heart(tmp_path)


def test_unreadable_image_is_named(tmp_path):
    (tmp_path / "style").mkdir()
    (tmp_path / "style" / "wave.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(data.DataFormatError, match="wave.jpg: not a readable image"):
        data.style_image("wave", data_dir=tmp_path)


def test_missing_file_offline_says_what_and_how(tmp_path, monkeypatch):
    monkeypatch.setenv("TFLAB_OFFLINE", "1")
    with pytest.raises(data.DataNotFoundError) as info:
        data.fetch("heart", tmp_path)
    message = str(info.value)
    assert "heart.csv" in message and data.DATASETS["heart"].url in message
    assert "TFLAB_DATA_DIR" in message


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_missing_file_with_no_network_says_what_and_how(tmp_path, monkeypatch):
    monkeypatch.delenv("TFLAB_OFFLINE", raising=False)  # it tries, and the download fails
    url = f"http://127.0.0.1:{_closed_port()}/heart.csv"
    monkeypatch.setitem(data.DATASETS, "heart",
                        dataclasses.replace(data.DATASETS["heart"], url=url))
    with pytest.raises(data.DataNotFoundError) as info:
        data.fetch("heart", tmp_path, progress=False)
    message = str(info.value)
    assert "heart.csv" in message and url in message and "TFLAB_DATA_DIR" in message
    assert "could not be downloaded" in message
    assert list(tmp_path.iterdir()) == []


# -------------------------------------------------------------------- downloads


def _serve_heart(http_server, monkeypatch, body: bytes, sha: str | None = None, mode="ok"):
    url = http_server.serve("/heart.csv", body, mode)
    entry = dataclasses.replace(data.DATASETS["heart"], url=url,
                                sha256=sha or hashlib.sha256(body).hexdigest(), size=len(body),
                                rows=body.count(b"\n") - 1)
    monkeypatch.setitem(data.DATASETS, "heart", entry)
    return url


def test_download_caches_the_file(tmp_path, monkeypatch, http_server):
    body = HEART_HEAD.read_bytes()
    _serve_heart(http_server, monkeypatch, body)
    path = data.fetch("heart", tmp_path / "cache", progress=False)
    assert path == tmp_path / "cache" / "heart.csv" and path.read_bytes() == body
    assert data.heart(tmp_path / "cache")["chd"].tolist() == [1, 1, 0, 1, 1, 0, 0, 1, 0, 1]
    assert http_server.hits == ["/heart.csv"]  # the second call used the cached file
    assert sorted(p.name for p in path.parent.iterdir()) == ["heart.csv"]


def test_checksum_mismatch_leaves_no_file(tmp_path, monkeypatch, http_server):
    _serve_heart(http_server, monkeypatch, b"sbp,tampered\n", sha="0" * 64)
    with pytest.raises(data.ChecksumError, match="checksum mismatch for heart.csv"):
        data.fetch("heart", tmp_path, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_dropped_connection_leaves_no_file(tmp_path, monkeypatch, http_server):
    body = HEART_HEAD.read_bytes()
    _serve_heart(http_server, monkeypatch, body, mode="drop")
    with pytest.raises(data.DataNotFoundError, match="heart.csv.*could not be downloaded"):
        data.fetch("heart", tmp_path, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_failed_download_keeps_an_existing_file(tmp_path, http_server):
    url = http_server.serve("/x.bin", b"new bytes")
    dest = tmp_path / "x.bin"
    dest.write_bytes(b"good old bytes")
    with pytest.raises(data.ChecksumError):
        data.download(url, dest, sha256="f" * 64, progress=False)
    assert dest.read_bytes() == b"good old bytes"
    assert [p.name for p in tmp_path.iterdir()] == ["x.bin"]


def test_http_error_is_a_download_error(tmp_path, http_server):
    url = http_server.serve("/missing", b"", mode="missing")
    with pytest.raises(data.DownloadError, match="404|Not Found"):
        data.download(url, tmp_path / "m", sha256="0" * 64, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_damaged_gzip_is_named(tmp_path):
    path = write_idx(tmp_path / "flipped-images-idx3-ubyte.gz", np.random.default_rng(0)
                     .integers(0, 255, (50, 28, 28)))
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2: len(raw) // 2 + 40] = bytes(40)
    path.write_bytes(bytes(raw))
    with pytest.raises(data.DataFormatError, match="flipped-images"):
        data.read_idx(path)


def test_truncated_xls_is_named(tmp_path):
    (tmp_path / "good").mkdir()
    rows = [("X", "Y")] + [(i, 2.0 * i) for i in range(42)]
    good = _write_xls(tmp_path / "good" / "fire_theft.xls", rows)
    assert len(data.fire_theft(tmp_path / "good")[0]) == 42  # whole, it reads
    (tmp_path / "fire_theft.xls").write_bytes(good.read_bytes()[:600])
    with pytest.raises(data.DataFormatError, match="fire_theft.xls: not a readable .xls"):
        data.fire_theft(tmp_path)


def test_non_utf8_text_files_are_named(tmp_path):
    (tmp_path / "heart.csv").write_bytes(b"sbp,tob\xe9\n")
    with pytest.raises(data.DataFormatError, match="heart.csv: not a UTF-8"):
        data.heart(tmp_path)
    (tmp_path / "birth_life_2010.txt").write_bytes(b"Country\xff\n")
    with pytest.raises(data.DataFormatError, match="birth_life_2010.txt: not a UTF-8"):
        data.birth_life(tmp_path)


def test_failed_download_leaves_no_new_folders(tmp_path, monkeypatch):
    monkeypatch.delenv("TFLAB_OFFLINE", raising=False)  # it tries, and the download fails
    url = f"http://127.0.0.1:{_closed_port()}/t10k-labels-idx1-ubyte.gz"
    monkeypatch.setitem(data.DATASETS, "mnist/t10k-labels",
                        dataclasses.replace(data.DATASETS["mnist/t10k-labels"], url=url))
    with pytest.raises(data.DataNotFoundError, match="could not be downloaded"):
        data.fetch("mnist/t10k-labels", tmp_path / "new" / "data", progress=False)
    assert list(tmp_path.iterdir()) == []


def test_interrupted_download_leaves_nothing(tmp_path, http_server, monkeypatch):
    """Ctrl-C in the middle of a transfer removes the partial file and new folders."""
    url = http_server.serve("/big", b"x" * 300_000)

    class CtrlCWhileHashing:
        def update(self, chunk):
            raise KeyboardInterrupt

    monkeypatch.setattr(data.hashlib, "sha256", CtrlCWhileHashing)
    with pytest.raises(KeyboardInterrupt):
        data.download(url, tmp_path / "sub" / "big", sha256="0" * 64, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_idx_pair_checks_expected_shape_and_label_range(tmp_path):
    images = write_idx(tmp_path / "img.gz", np.zeros((5, 28, 28)))
    labels = write_idx(tmp_path / "lab.gz", np.zeros(5))
    assert data.read_idx_pair(images, labels, image_shape=(5, 28, 28)).images.shape == (5, 28, 28)
    with pytest.raises(data.DataFormatError,
                       match=r"img.gz: expected an array of shape \(6, 28, 28\)"):
        data.read_idx_pair(images, labels, image_shape=(6, 28, 28))
    bad = write_idx(tmp_path / "bad-labels.gz", np.full(5, 12))
    with pytest.raises(data.DataFormatError, match="bad-labels.gz: labels must be 0..9, found 12"):
        data.read_idx_pair(images, bad)


def test_fetch_can_leave_validation_to_the_caller(tmp_path):
    path = write_idx(tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz", np.zeros(9999))
    assert data.fetch("mnist/t10k-labels", tmp_path, validate=False) == path


@pytest.mark.parametrize("value, off", [("1", True), ("true", True), ("YES", True), (" on ", True),
                                        ("", False), ("0", False), ("False", False),
                                        ("no", False), ("off", False)])
def test_downloads_off_reads_the_usual_true_and_false_values(monkeypatch, value, off):
    monkeypatch.setenv("TFLAB_OFFLINE", value)
    assert data.downloads_off() is off


def test_downloads_off_rejects_a_value_it_cannot_read(monkeypatch):
    monkeypatch.delenv("TFLAB_OFFLINE", raising=False)
    assert data.downloads_off() is False
    monkeypatch.setenv("TFLAB_OFFLINE", "offline")
    with pytest.raises(ValueError, match="TFLAB_OFFLINE='offline'"):
        data.downloads_off()


# ------------------------------------------------------------- decompression bombs


class _RecordingReads:
    """Wraps an open file and records every ``read`` size asked for and the bytes returned."""

    def __init__(self, f, log: dict):
        self.f, self.log = f, log

    def read(self, n=-1):
        self.log["asked"].append(n)
        chunk = self.f.read(n)
        self.log["got"] += len(chunk)
        return chunk

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.f.close()


def _record_gzip_reads(monkeypatch) -> dict:
    log = {"asked": [], "got": 0}
    real_open = gzip.open
    monkeypatch.setattr(data.gzip, "open", lambda *a, **k: _RecordingReads(real_open(*a, **k), log))
    return log


def _idx_header(magic: int, dims: tuple[int, ...]) -> bytes:
    return magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in dims)


def test_gzip_bomb_stops_at_the_size_the_registry_expects(tmp_path, monkeypatch):
    """A header for 10,000 labels followed by 20 MB of zeros: a file of a few kB. Reading
    stops one byte past the 10,008 bytes the registry's shape allows."""
    path = tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz"
    path.parent.mkdir()
    with gzip.open(path, "wb", compresslevel=9) as f:
        f.write(_idx_header(data.IDX_LABELS_MAGIC, (10000,)))
        for _ in range(20):
            f.write(bytes(1 << 20))
    assert path.stat().st_size < 40_000
    log = _record_gzip_reads(monkeypatch)
    with pytest.raises(data.DataTooLargeError,
                       match=r"t10k-labels-idx1-ubyte.gz: .*more than .*10,008 bytes"):
        data.fetch("mnist/t10k-labels", tmp_path)
    cap = 8 + 10000
    assert log["asked"] and all(0 <= n <= cap + 1 for n in log["asked"]), log["asked"]
    assert log["got"] <= cap + 1


def test_idx_header_declaring_more_than_the_registry_shape_is_refused_unread(tmp_path,
                                                                             monkeypatch):
    """The registry expects 10,000 test labels: a header declaring 60,000 is refused before
    any label is inflated, not read and then found to have the wrong shape."""
    path = write_idx(tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz", np.zeros(60000))
    log = _record_gzip_reads(monkeypatch)
    with pytest.raises(data.DataTooLargeError, match=r"t10k-labels-idx1-ubyte.gz: the IDX header "
                                                     r"declares shape \(60000,\) \(60,008 bytes\), "
                                                     r"more than the limit of 10,008 bytes"):
        data.fetch("mnist/t10k-labels", tmp_path)
    assert log["got"] <= 8
    assert path.exists()  # a bad file is reported, never deleted


def test_idx_header_declaring_more_than_the_limit_is_refused_unread(tmp_path, monkeypatch):
    path = tmp_path / "huge-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(_idx_header(data.IDX_IMAGES_MAGIC, (60000, 1000, 1000))
                                   + bytes(1 << 20)))
    log = _record_gzip_reads(monkeypatch)
    with pytest.raises(data.DataTooLargeError,
                       match=r"huge-images-idx3-ubyte.gz: .*\(60000, 1000, 1000\).*"
                             r"60,000,000,016 bytes.*limit of 268,435,456 bytes"):
        data.read_idx(path)  # the default limit
    assert log["got"] <= 16  # the header only
    with pytest.raises(data.DataTooLargeError, match="limit of 1,000 bytes"):
        data.read_idx(write_idx(tmp_path / "small.gz", np.zeros((2, 28, 28))), max_bytes=1000)
    # at the limit exactly, it reads
    exact = write_idx(tmp_path / "exact.gz", np.zeros((2, 28, 28)))
    assert data.read_idx(exact, max_bytes=16 + 2 * 28 * 28).shape == (2, 28, 28)


@pytest.mark.parametrize("dims", [(65536,) * 4, (2**32 - 1,) * 3])
def test_idx_dimensions_that_overflow_are_a_format_error(tmp_path, dims):
    """2**64 wraps to 0 in int64: the old reader then failed in NumPy's reshape."""
    path = tmp_path / "overflow.gz"
    path.write_bytes(gzip.compress(_idx_header(0x0800 + len(dims), dims)))
    with pytest.raises(data.DataFormatError, match="overflow.gz: truncated IDX data"):
        data.read_idx(path, max_bytes=None)
    with pytest.raises(data.DataTooLargeError, match="overflow.gz"):
        data.read_idx(path)


def _style_file(tmp_path: Path) -> Path:
    (tmp_path / "style").mkdir()
    return tmp_path / "style" / "wave.jpg"


def test_png_declaring_50000_squared_pixels_is_the_courses_error(tmp_path):
    """Pillow's own limit raised its raw DecompressionBombError; now it is ours, naming the
    file and the limit."""
    write_png(_style_file(tmp_path), 50000, 50000)
    with pytest.raises(data.DataTooLargeError,
                       match=r"wave.jpg: the image declares 2,500,000,000 pixels, more than "
                             r"the limit of 25,000,000 pixels"):
        data.style_image("wave", data_dir=tmp_path)


@pytest.mark.parametrize("kind", ["png", "jpeg"])
def test_image_over_the_limit_is_refused_before_decoding(tmp_path, monkeypatch, kind):
    """Under Pillow's own limit (89 M pixels) but over the course's: refused from the header,
    the pixels are never decoded."""
    from PIL import ImageFile

    path = _style_file(tmp_path)
    if kind == "png":
        write_png(path, 6000, 6000, whole=True)  # 35 kB that inflate to 36 MB
        declared = "6000 × 6000"
    else:
        write_jpeg(path, 8000, 7000)
        declared = "8000 × 7000"
    assert path.stat().st_size < 40_000
    decoded = []
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: decoded.append(self))
    with pytest.raises(data.DataTooLargeError, match=f"wave.jpg: the image declares {declared}"):
        data.style_image("wave", data_dir=tmp_path)
    assert decoded == []


def test_open_image_limit_is_inclusive(tmp_path):
    path = write_png(tmp_path / "square.png", 100, 100, whole=True)
    assert data.open_image(path, max_pixels=10_000).size == (100, 100)
    with pytest.raises(data.DataTooLargeError, match="more than the limit of 9,999 pixels"):
        data.open_image(path, max_pixels=9_999)
    with pytest.raises(ValueError, match="max_pixels"):
        data.open_image(path, max_pixels=0)


# ------------------------------------------------------------ downloads under faults


def test_download_stops_at_the_registry_size(tmp_path, http_server, monkeypatch):
    """A server that sends 64 MB without announcing a length: reading stops one byte past the
    size the registry expects."""
    url = http_server.serve("/flood", b"x" * 65536, mode="flood")
    hashed = []
    real_sha256 = hashlib.sha256

    class CountingSha256:
        def __init__(self):
            self.h = real_sha256()

        def update(self, chunk):
            hashed.append(len(chunk))
            self.h.update(chunk)

        def hexdigest(self):
            return self.h.hexdigest()

    monkeypatch.setattr(data.hashlib, "sha256", CountingSha256)
    with pytest.raises(data.DownloadError, match="more than the 100000 bytes expected"):
        data.download(url, tmp_path / "sub" / "f", sha256="0" * 64, size=100_000, progress=False)
    assert sum(hashed) <= 100_001
    assert list(tmp_path.iterdir()) == []


def test_download_refuses_an_announced_length_over_the_registry_size(tmp_path, http_server):
    url = http_server.serve("/big", b"x" * 300_000)
    with pytest.raises(data.DownloadError, match="announces 300000 bytes, more than the 100000"):
        data.download(url, tmp_path / "f", sha256="0" * 64, size=100_000, progress=False)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("mode", ["slow", "slow_headers"])
def test_slow_server_meets_the_overall_deadline(tmp_path, http_server, mode):
    """10 bytes/s for a 1000-byte body (or headers that never end): the download gives up at
    its deadline instead of hanging, and leaves nothing."""
    url = http_server.serve("/slow", b"x" * 1000, mode=mode)
    with pytest.raises(data.DownloadError, match=r"did not finish within its deadline of 1 s"):
        data.download(url, tmp_path / "sub" / "f", sha256="0" * 64, size=1000, progress=False,
                      deadline=1.0)
    assert list(tmp_path.iterdir()) == []


def test_fetch_applies_the_download_deadline(tmp_path, monkeypatch, http_server):
    _serve_heart(http_server, monkeypatch, HEART_HEAD.read_bytes(), mode="slow")
    monkeypatch.setattr(data, "DOWNLOAD_DEADLINE_S", 1.0)
    with pytest.raises(data.DataNotFoundError, match="heart.csv.*deadline of 1 s"):
        data.fetch("heart", tmp_path, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_non_numeric_content_length_is_a_download_error(tmp_path, http_server):
    url = http_server.serve("/bad", b"x" * 100, mode="bad_length")
    with pytest.raises(data.DownloadError, match="Content-Length '12abc'"):
        data.download(url, tmp_path / "f", sha256="0" * 64, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_sigterm_mid_download_leaves_no_partial_file(tmp_path, http_server):
    """A process terminated during a download removes its partial file and new folders, and
    still dies of SIGTERM."""
    url = http_server.serve("/slow", b"x" * 1000, mode="slow")
    dest = tmp_path / "sub" / "f.bin"
    script = (f"from tflab import data; data.download({url!r}, {str(dest)!r}, "
              f"sha256='0' * 64, size=1000, progress=False)")
    root = Path(data.__file__).parents[1]
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=root)
    try:
        # Wait (up to a minute on a busy machine) until the partial file exists and the server
        # is sending the body (its 1000 bytes take 100 s).
        for _ in range(600):
            parts = list(dest.parent.glob("*.part")) if dest.parent.exists() else []
            if parts and http_server.hits == ["/slow"]:
                break
            assert proc.poll() is None, "the download ended before it was terminated"
            time.sleep(0.1)
        else:
            pytest.fail("the download did not start")
        time.sleep(0.3)  # a few bytes in
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == -signal.SIGTERM
    finally:
        proc.kill()
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------- values and row counts, by file


def _rows(monkeypatch, name: str, rows: int) -> None:
    monkeypatch.setitem(data.DATASETS, name, dataclasses.replace(data.DATASETS[name], rows=rows))


def _heart_with(tmp_path, column: str, value: str, line: int = 3) -> None:
    lines = HEART_HEAD.read_text().splitlines()
    fields = lines[line - 1].split(",")
    fields[list(data.HEART_COLUMNS).index(column)] = value
    lines[line - 1] = ",".join(fields)
    (tmp_path / "heart.csv").write_text("\n".join(lines) + "\n")


def test_heart_fixture_reads_with_its_own_row_count(tmp_path, monkeypatch):
    _rows(monkeypatch, "heart", 10)
    (tmp_path / "heart.csv").write_bytes(HEART_HEAD.read_bytes())
    assert data.heart(tmp_path)["chd"].tolist() == [1, 1, 0, 1, 1, 0, 0, 1, 0, 1]


@pytest.mark.parametrize("column, value, expected", [
    ("ldl", "nan", "a finite number"),
    ("obesity", "inf", "a finite number"),
    ("tobacco", "-0.5", "at least 0"),
    ("chd", "2", "0 or 1"),
    ("famhist", "Maybe", "Present or Absent"),
    ("famhist", "Present\0", "a NUL byte"),
    ("alcohol", "1\0", "a NUL byte"),
])
def test_heart_bad_values_name_file_line_and_column(tmp_path, monkeypatch, column, value,
                                                    expected):
    _rows(monkeypatch, "heart", 10)
    _heart_with(tmp_path, column, value)
    with pytest.raises(data.DataFormatError,
                       match=f"heart.csv: line 3, column {column}: .*{expected}"):
        data.heart(tmp_path)


def test_heart_row_count_must_match_the_registry(tmp_path):
    (tmp_path / "heart.csv").write_bytes(HEART_HEAD.read_bytes())  # 10 rows; the registry: 462
    with pytest.raises(data.DataFormatError, match="heart.csv: 10 data rows, expected 462"):
        data.heart(tmp_path)
    header_only = HEART_HEAD.read_text().splitlines()[0] + "\n"
    (tmp_path / "heart.csv").write_text(header_only)
    with pytest.raises(data.DataFormatError, match="heart.csv: 0 data rows, expected 462"):
        data.heart(tmp_path)


def _fire_rows(n: int) -> list[tuple]:
    return [("X", "Y")] + [(float(i), 2.0 * i) for i in range(n)]


def test_fire_theft_with_a_row_missing_is_refused(tmp_path):
    _write_xls(tmp_path / "fire_theft.xls", _fire_rows(41))
    with pytest.raises(data.DataFormatError, match="fire_theft.xls: 41 data rows, expected 42"):
        data.fire_theft(tmp_path)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -1.0])
def test_fire_theft_bad_number_names_row_and_column(tmp_path, value):
    rows = _fire_rows(42)
    rows[5] = (rows[5][0], value)
    _write_xls(tmp_path / "fire_theft.xls", rows)
    with pytest.raises(data.DataFormatError, match="fire_theft.xls: row 6, column Y: expected a "
                                                   "finite number at least 0"):
        data.fire_theft(tmp_path)


def _birth_life_lines(n: int) -> list[str]:
    return ["Country\tBirth rate\tLife expectancy"] + [f"C{i}\t2.5\t70.1" for i in range(n)]


def test_birth_life_written_file_reads(tmp_path):
    (tmp_path / "birth_life_2010.txt").write_text("\n".join(_birth_life_lines(190)) + "\n")
    country, birth, life = data.birth_life(tmp_path)
    assert len(country) == 190 and birth[0] == 2.5 and life[-1] == 70.1


@pytest.mark.parametrize("field, value, column", [
    (1, "nan", "Birth rate"), (2, "inf", "Life expectancy"), (1, "0", "Birth rate"),
    (0, "", "Country"),
])
def test_birth_life_bad_values_name_line_and_column(tmp_path, field, value, column):
    lines = _birth_life_lines(190)
    fields = lines[4].split("\t")
    fields[field] = value
    lines[4] = "\t".join(fields)
    (tmp_path / "birth_life_2010.txt").write_text("\n".join(lines) + "\n")
    with pytest.raises(data.DataFormatError,
                       match=f"birth_life_2010.txt: line 5, column {column}: expected"):
        data.birth_life(tmp_path)


def test_birth_life_row_count_must_match_the_registry(tmp_path):
    (tmp_path / "birth_life_2010.txt").write_text("\n".join(_birth_life_lines(189)) + "\n")
    with pytest.raises(data.DataFormatError,
                       match="birth_life_2010.txt: 189 data rows, expected 190"):
        data.birth_life(tmp_path)


def test_scale_images_allocates_one_float_array():
    """uint8 → float32 / 255 with one float array allocated, not two (MNIST's training split
    as floats is 172 MB; a second temporary would raise every loader's peak by as much; NumPy
    divides the astype result in place, as it is a temporary)."""
    import tracemalloc

    raw = (np.arange(3200 * 784) % 256).astype(np.uint8).reshape(-1, 28, 28)
    before = raw.copy()
    tracemalloc.start()
    try:
        scaled = data.scale_images(raw)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert scaled.dtype == np.float32 and scaled.shape == raw.shape
    np.testing.assert_array_equal(scaled, raw.astype(np.float32) / np.float32(255))
    assert scaled.min() == 0.0 and scaled.max() == 1.0
    assert np.array_equal(raw, before)  # the input is left as it was
    assert peak < 1.5 * scaled.nbytes, f"peak {peak:,} B for a {scaled.nbytes:,} B result"
    floats = np.linspace(0, 1, 10, dtype=np.float64)
    assert data.scale_images(floats).dtype == np.float32
