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
