"""Exercises of lesson 09, distributed training: TF_CONFIG, the loss per replica, checksums."""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from tflab.exercises.core import Exercise, Failed, call, number, require_callable


def _tf_config(answer) -> str:
    require_callable(answer, "tf_config(ports, index) returning a dict")
    for ports, index in [([23456, 23457, 23458], 2), ([40001, 40002], 0)]:
        result = call(answer, list(ports), index)
        if isinstance(result, str):
            raise Failed("return the dict itself; it becomes JSON text only when it is put in "
                         "the TF_CONFIG environment variable")
        try:
            config = json.loads(json.dumps(result))
        except (TypeError, ValueError):
            raise Failed(f"TF_CONFIG must be JSON: {result!r} cannot be written as JSON") from None
        want_cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
        if not isinstance(config, dict) or set(config) != {"cluster", "task"}:
            raise Failed("TF_CONFIG has exactly two keys, 'cluster' and 'task'; yours has "
                         f"{sorted(config) if isinstance(config, dict) else type(result).__name__}")
        if config["cluster"] != want_cluster:
            raise Failed(f"for ports {ports} the cluster should be {want_cluster}; yours is "
                         f"{config['cluster']}")
        want_task = {"type": "worker", "index": index}
        if config["task"] != want_task:
            raise Failed(f"for worker {index} the task should be {want_task} (index an int "
                         f"counting from 0); yours is {config['task']}")
    return "a three-worker and a two-worker cluster, every task right."


def _replica_loss(answer) -> str:
    require_callable(answer, "replica_loss(per_example_losses, global_batch_size)")
    rng = np.random.default_rng(9)
    for replicas, per_replica in [(2, 8), (4, 5)]:
        losses = rng.uniform(0, 3, replicas * per_replica)
        total = sum(number(call(answer, part.copy(), len(losses)), "a loss")
                    for part in np.split(losses, replicas))
        want = losses.mean()
        if np.isclose(total, want, rtol=1e-5):
            continue
        ratio = total / want
        if np.isclose(ratio, replicas, rtol=1e-3):
            raise Failed(f"summed over {replicas} replicas your losses give {ratio:.3g} × the "
                         "mean: each replica averaged over its own examples. Divide by the "
                         "global batch size instead.")
        raise Failed(f"summed over {replicas} replicas your losses give {total:.4g}; the mean "
                     f"loss of the global batch is {want:.4g}")
    return "summed over the replicas it is the mean of the global batch, for 2 and 4 replicas."


_FILES = {"saved_model.pb": b"graph" * 100, "fingerprint.pb": b"fp",
          "variables/variables.data-00000-of-00001": bytes(range(256)) * 40,
          "variables/variables.index": b"index"}


def _tree(root: Path, reverse: bool = False) -> None:
    """A SavedModel-like folder; ``reverse`` creates the files in the opposite order."""
    for name in sorted(_FILES, reverse=reverse):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(_FILES[name])


def _checksum(answer) -> str:
    require_callable(answer, "folder_checksum(path) returning a string")
    with tempfile.TemporaryDirectory() as tmp:
        a, b = Path(tmp) / "a", Path(tmp) / "b"
        _tree(a)
        _tree(b, reverse=True)
        first = call(answer, str(a))
        if not isinstance(first, str):
            raise Failed(f"folder_checksum should return a string (a hex digest), not "
                         f"{type(first).__name__}")
        if call(answer, str(b)) != first:
            raise Failed("two folders with identical files gave different checksums: hash only "
                         "the names relative to the folder and the contents, in sorted order "
                         "(not absolute paths or modification times)")
        later = time.time() + 100
        for file in a.rglob("*"):
            os.utime(file, (later, later))
        if call(answer, str(a)) != first:
            raise Failed("touching the files (same contents) changed the checksum: hash the "
                         "contents, not the modification times")
        changes = [
            ("a changed byte in the variables", lambda: _flip(b / "variables" /
                                                               "variables.data-00000-of-00001")),
            ("a renamed file", lambda: (b / "fingerprint.pb").rename(b / "fingerprint2.pb")),
            ("an added file", lambda: _add_file(b / "assets" / "vocab.txt")),
        ]
        for what, change in changes:
            change()
            if call(answer, str(b)) == first:
                raise Failed(f"{what} did not change the checksum: every file's relative name "
                             "and contents must count")
            _reset(b)
    return ("stable for identical folders and touched files; changed by edits, renames and "
            "additions.")


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[1000] ^= 1
    path.write_bytes(bytes(data))


def _add_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("new")


def _reset(root: Path) -> None:
    import shutil

    shutil.rmtree(root)
    _tree(root)


EXERCISES = [
    Exercise("09", 1, "Write tf_config(ports, index): the TF_CONFIG dict of worker `index` in a "
             "cluster of workers on 127.0.0.1 at the given ports.", _tf_config,
             ["TF_CONFIG has a 'cluster' (task type → list of 'host:port') and a 'task' "
              "(this process's type and index).",
              "{'cluster': {'worker': ['127.0.0.1:%d' % p for p in ports]}, "
              "'task': {'type': 'worker', 'index': index}}"],
             """def tf_config(ports, index):
    return {"cluster": {"worker": [f"127.0.0.1:{port}" for port in ports]},
            "task": {"type": "worker", "index": index}}

answer = tf_config"""),
    Exercise("09", 2, "Write replica_loss(per_example_losses, global_batch_size): the loss one "
             "replica should return so that the sum over all replicas is the mean loss of the "
             "global batch.", _replica_loss,
             ["The strategy adds the replicas' gradients (and losses) together.",
              "Sum this replica's losses and divide by the global batch size; "
              "tf.nn.compute_average_loss does exactly that."],
             """import numpy as np

def replica_loss(per_example_losses, global_batch_size):
    return np.sum(per_example_losses) / global_batch_size

answer = replica_loss"""),
    Exercise("09", 3, "Write folder_checksum(path): a hex digest that is the same for folders "
             "with the same files, and changes if any file's contents or relative name changes "
             "or a file is added.", _checksum,
             ["Walk the folder in a fixed (sorted) order; Path(path).rglob('*') lists every file.",
              "Feed hashlib.sha256 each file's relative name, then its bytes."],
             """import hashlib
from pathlib import Path

def folder_checksum(path):
    root, digest = Path(path), hashlib.sha256()
    for file in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(file.relative_to(root).as_posix().encode() + b"\\0")
        digest.update(file.read_bytes())
    return digest.hexdigest()

answer = folder_checksum"""),
]
