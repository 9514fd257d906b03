"""tflab.files: the one repository-root finder, atomic replacement, folder checksums."""

from __future__ import annotations

from pathlib import Path

import pytest

from tflab import data, files, saving


def test_repo_root_is_the_checkout_and_every_default_folder_uses_it(monkeypatch, tmp_path):
    assert files.repo_root() == Path(files.__file__).resolve().parents[1]
    assert (files.repo_root() / "pyproject.toml").is_file()
    monkeypatch.delenv("TFLAB_DATA_DIR", raising=False)
    monkeypatch.delenv("TFLAB_MODEL_DIR", raising=False)
    (tmp_path / "data").mkdir()
    monkeypatch.setattr(files, "repo_root", lambda: tmp_path)  # another checkout
    assert data.get_data_dir() == tmp_path / "data"
    assert saving.model_dir() == tmp_path / "models"
    monkeypatch.setattr(files, "repo_root", lambda: None)  # installed outside a checkout
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert data.get_data_dir() == tmp_path / "home" / ".cache" / "tflab" / "data"
    assert saving.model_dir() == tmp_path / "home" / ".cache" / "tflab" / "models"


def test_replace_atomically_keeps_the_old_copy_when_writing_fails(tmp_path):
    target = tmp_path / "model"
    with files.replace_atomically(target) as tmp:
        tmp.mkdir()
        (tmp / "weights").write_text("one")
    assert (target / "weights").read_text() == "one"
    with pytest.raises(RuntimeError, match="half-way"):
        with files.replace_atomically(target) as tmp:
            tmp.mkdir()
            (tmp / "weights").write_text("half")
            raise RuntimeError("half-way")
    assert (target / "weights").read_text() == "one"
    with files.replace_atomically(target) as tmp:  # a folder is replaced by a new one
        tmp.mkdir()
        (tmp / "other").write_text("two")
    assert [p.name for p in target.iterdir()] == ["other"]
    assert [p.name for p in tmp_path.iterdir()] == ["model"]  # no temporary left


def test_folder_sha256_changes_with_any_name_or_content(tmp_path):
    def folder(name: str, contents: dict[str, str]) -> Path:
        root = tmp_path / name
        for relative, text in contents.items():
            (root / relative).parent.mkdir(parents=True, exist_ok=True)
            (root / relative).write_text(text)
        return root

    base = {"saved_model.pb": "graph", "variables/v.index": "index", "variables/v.data": "data"}
    digest = files.folder_sha256(folder("a", base))
    assert len(digest) == 64 and digest == files.folder_sha256(folder("b", base))
    changed = [{**base, "variables/v.data": "datA"},  # one byte of content
               {"saved_model.pb": "graph", "variables/v.index": "index", "v.data": "data"},  # moved
               {**base, "extra": ""},  # an added empty file
               {k: v for k, v in base.items() if k != "variables/v.index"}]  # one missing
    for i, contents in enumerate(changed):
        assert files.folder_sha256(folder(f"c{i}", contents)) != digest, contents
    with pytest.raises(NotADirectoryError, match="path must be an existing folder"):
        files.folder_sha256(tmp_path / "missing")


# ---- a folder swap readers and crashes cannot catch half-way (issue 20)

_WRITER = r"""
import sys, time
from pathlib import Path
from tflab import files
path, n = Path(sys.argv[1]), 0
while True:  # rewrite the folder for ever, alternating two versions of six files
    letter = "AB"[n % 2]
    with files.replace_atomically(path) as tmp:
        tmp.mkdir()
        for i in range(6):
            (tmp / f"part{i}").write_text(letter * 1000)
            time.sleep(0.001)
    n += 1
    if n == 1:
        print("first", flush=True)
"""

_READER = r"""
import os, sys
path, stop = sys.argv[1], sys.argv[2]
looks = misses = 0
while not os.path.exists(stop):
    looks += 1
    misses += not os.path.exists(os.path.join(path, "part0"))
print(looks, misses)
"""


def _whole_version(path):
    """The letter of the complete version at ``path``; fails when it is missing or mixed."""
    parts = sorted(path.iterdir())
    assert [p.name for p in parts] == [f"part{i}" for i in range(6)], parts
    texts = {p.read_text() for p in parts}
    assert texts in ({"A" * 1000}, {"B" * 1000}), "a mix of two versions"
    return texts.pop()[0]


def test_a_save_killed_at_random_points_leaves_the_old_or_the_new_folder(tmp_path):
    import random
    import signal
    import subprocess
    import sys
    import time

    path, seen = tmp_path / "model", set()
    rng = random.Random(20)
    for _ in range(25):
        writer = subprocess.Popen([sys.executable, "-c", _WRITER, str(path)],
                                  stdout=subprocess.PIPE, text=True)
        assert writer.stdout.readline() == "first\n"  # one full version written
        time.sleep(rng.uniform(0.0, 0.05))  # then killed at a random point of the next ones
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        files.recover(path)  # what every loader does first (a no-op after an exchange)
        seen.add(_whole_version(path))
    assert seen == {"A", "B"}  # the kills landed in different saves


def test_readers_never_find_the_folder_missing_during_swaps(tmp_path):
    import subprocess
    import sys

    path, stop = tmp_path / "model", tmp_path / "stop"
    with files.replace_atomically(path) as tmp:
        tmp.mkdir()
        (tmp / "part0").write_text("0")
    reader = subprocess.Popen([sys.executable, "-c", _READER, str(path), str(stop)],
                              stdout=subprocess.PIPE, text=True)
    try:
        for n in range(300):
            with files.replace_atomically(path) as tmp:
                tmp.mkdir()
                (tmp / "part0").write_text(str(n))
    finally:
        stop.touch()
    looks, misses = map(int, reader.communicate(timeout=60)[0].split())
    assert looks > 1000 and misses == 0, f"{misses} of {looks} looks found no folder"
    assert (path / "part0").read_text() == "299"


def test_recover_puts_back_a_folder_left_aside_between_two_renames(tmp_path):
    path = tmp_path / "model"
    aside = tmp_path / ".model.k1l2.tmp" / "old"  # the state after the first of two renames
    aside.mkdir(parents=True)
    (aside / "saved_model.pb").write_text("good")
    assert files.remove_stale_temps(path, older_than=0.0) == [aside.parent]  # recovers first
    assert (path / "saved_model.pb").read_text() == "good"
    assert files.recover(path) is None  # something is at path: nothing to do


def test_replace_atomically_falls_back_to_two_renames_where_it_cannot_exchange(tmp_path,
                                                                           monkeypatch):
    monkeypatch.setattr(files, "_exchange", lambda a, b: False)
    path = tmp_path / "model"
    for text in ("old", "new"):
        with files.replace_atomically(path) as tmp:
            tmp.mkdir()
            (tmp / "part0").write_text(text)
    assert (path / "part0").read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["model"]  # no temporary folder left
