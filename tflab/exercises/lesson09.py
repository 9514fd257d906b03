"""Exercises of lesson 09, distributed training: TF_CONFIG, what each parameter server holds,
checksums; its Try it: the loss each replica returns."""

from __future__ import annotations

import json
import math
import os
import random
import tempfile
import time
from pathlib import Path

import numpy as np

from tflab.exercises.core import Exercise, Failed, call, calls_of, number, numbers, require_callable
from tflab.exercises.lesson08 import _fresh_seed, _generator


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


def _global_batches(seed: int) -> list[tuple[int, np.ndarray]]:
    """(replicas, per-example losses of the global batch) from ``seed``: 2 and 4 replicas, a
    drawn number of examples each."""
    rng = _generator(seed)
    return [(replicas, rng.uniform(0, 3, replicas * int(rng.integers(3, 10))))
            for replicas in (2, 4)]


def _replica_loss(answer) -> str:
    """Each replica's loss is judged on its own, against its own share of the global batch's
    mean (the sum of its losses / the global batch size), computed after the answer returns
    from the losses drawn again: an answer handed one replica's losses cannot get every
    replica's right from the whole batch (found through the checker's frames, say)."""
    require_callable(answer, "replica_loss(per_example_losses, global_batch_size)")
    seed = _fresh_seed()
    for index, (replicas, losses) in enumerate(_global_batches(seed)):
        got = [number(call(answer, part.copy(), len(losses)), "a loss")
               for part in np.split(losses, replicas)]
        replicas, losses = _global_batches(seed)[index]  # drawn again: the answer cannot change it
        parts = np.split(losses, replicas)
        want = [part.sum() / len(losses) for part in parts]
        if np.allclose(got, want, rtol=1e-5, atol=0):
            continue
        total, mean = sum(got), losses.mean()
        if np.allclose(got, [part.mean() for part in parts], rtol=1e-3, atol=0):
            raise Failed(f"summed over {replicas} replicas your losses give {total / mean:.3g} × "
                         "the mean: each replica averaged over its own examples. Divide by the "
                         "global batch size instead.")
        if np.isclose(total, mean, rtol=1e-5):
            k = next(k for k in range(replicas) if not np.isclose(got[k], want[k], rtol=1e-5))
            raise Failed(f"summed over {replicas} replicas your losses give the mean of the global "
                         f"batch, but replica {k} returns {got[k]:.4g}, not its own share "
                         f"{want[k]:.4g}: each replica's loss comes from its own examples only "
                         "(the sum of its losses divided by the global batch size)")
        digits = next((d for d in range(4, 12) if f"{total:.{d}g}" != f"{mean:.{d}g}"), 12)
        raise Failed(f"summed over {replicas} replicas your losses give {total:.{digits}g}; the "
                     f"mean loss of the global batch is {mean:.{digits}g}")
    return ("each replica's loss is its share of the global batch's mean, for 2 and 4 "
            "replicas: summed over them, it is that mean.")


# (shapes, parameter servers, min_shard_bytes, max_shards) that 09.2 is judged on: a table split
# in two and small variables; three servers and rows that do not divide evenly; more pieces
# than max_shards allows; a table with fewer rows than MinSizePartitioner would cut; a table of
# exactly 4 × min_shard_bytes (4 pieces: bytes // min_shard_bytes + 1 makes 5). Tuples:
# an answer cannot change them while it runs. _drawn_model adds one drawn at check time.
_MODELS = (((30_001, 32), (32, 10), (10,)), 2, 1 << 20, 2), \
          (((10_001, 16), (16, 16), (1_000, 16), (16,)), 3, 64 << 10, 3), \
          (((5_000, 8), (8, 4)), 2, 64 << 10, 4), \
          (((3, 100_000), (100_000,)), 2, 64 << 10, 8), \
          (((4_096, 16), (16,)), 2, 64 << 10, 6)


def _drawn_model(draw: random.Random) -> tuple:
    """A model no answer can know beforehand: two to four variables (an embedding table large
    enough to be cut, half the time exactly k × min_shard_bytes with k < max_shards, then
    small ones), on two to four servers."""
    num_ps, min_bytes, max_shards = draw.randint(2, 4), draw.choice([16, 32, 64, 128]) << 10, \
        draw.randint(2, 6)
    width = draw.choice([8, 16, 32, 64])
    if draw.random() < 0.5:  # an exact multiple: only ceil cuts it into k pieces
        rows = draw.randint(1, max_shards - 1) * min_bytes // (4 * width)
    else:
        rows = draw.randint(2_000, 60_000)
    shapes = [(rows, width)]
    shapes += [tuple(draw.randint(1, 300) for _ in range(draw.randint(1, 2)))
               for _ in range(draw.randint(1, 3))]
    return tuple(shapes), num_ps, min_bytes, max_shards


def _pieces(shape, min_shard_bytes, max_shards, *, pieces_by=math.ceil, fixed=False,
            cap_rows=True, bytes_per_value=4) -> int:
    """How many pieces MinSizePartitioner and ParameterServerStrategy cut a variable into."""
    rows = shape[0]
    size = bytes_per_value * math.prod(shape)
    pieces = max_shards if fixed else max(1, min(max_shards, pieces_by(size / min_shard_bytes)))
    return min(pieces, rows) if cap_rows else pieces


def _held(shapes, num_ps, min_shard_bytes, max_shards, *, extra_first=True,
          per_variable=False, bytes_per_value=4, **counting) -> list[int]:
    """Bytes each parameter server holds; the keywords give the typical mistakes."""
    held, placed = [0] * num_ps, 0
    for shape in shapes:
        rows, row_bytes = shape[0], bytes_per_value * math.prod(shape[1:])
        pieces = _pieces(shape, min_shard_bytes, max_shards, bytes_per_value=bytes_per_value,
                         **counting)
        base, extra = divmod(rows, pieces)
        if per_variable:
            placed = 0
        for i in range(pieces):
            if extra_first:
                piece_rows = base + (1 if i < extra else 0)
            else:
                piece_rows = base + (extra if i == pieces - 1 else 0)
            held[placed % num_ps] += piece_rows * row_bytes
            placed += 1
    return held


_MISTAKES = [
    (dict(pieces_by=math.floor), "you round the number of pieces down: MinSizePartitioner makes "
     "as many pieces as it can while each holds at least min_shard_bytes, that is "
     "ceil(bytes / min_shard_bytes) (then at most max_shards, and at most the rows)"),
    (dict(pieces_by=lambda ratio: math.floor(ratio) + 1), "you count one piece too many when "
     "a variable's bytes are an exact multiple of min_shard_bytes (bytes // min_shard_bytes + 1 "
     "is not the ceiling there): MinSizePartitioner makes ceil(bytes / min_shard_bytes) "
     "pieces, math.ceil"),
    (dict(fixed=True), "you always cut max_shards pieces, as FixedShardsPartitioner would: "
     "MinSizePartitioner cuts ceil(bytes / min_shard_bytes) pieces, at most max_shards, so a "
     "small variable stays whole"),
    (dict(cap_rows=False), "a variable is cut along its rows, so it never has more pieces "
     "than rows: cap the number of pieces at shape[0]"),
    (dict(extra_first=False), "when the rows do not divide evenly, the FIRST pieces take one "
     "row more each (10 rows in 4 pieces: 3, 3, 2, 2), not the last piece"),
    (dict(per_variable=True), "every variable's first piece goes to parameter server 0 in "
     "your answer: the strategy deals pieces to the servers in turn, and the count goes on "
     "from one variable to the next"),
    (dict(bytes_per_value=1), "you count values, not bytes: a float32 takes 4 bytes"),
]


_CHECKERS_COUNT = ("your ps_bytes calls the checker's own count (lesson09.{}), which is what "
                   "this exercise asks you to write: apply section 6's three rules yourself")


def _ps_bytes(answer) -> str:
    require_callable(answer, "ps_bytes(shapes, num_ps, min_shard_bytes, max_shards) returning "
                     "a list of byte counts")
    models = _MODELS + (_drawn_model(random.SystemRandom()),)
    for shapes, num_ps, min_bytes, max_shards in models:
        setting = (f"shapes {list(shapes)} on {num_ps} parameter servers (min_shard_bytes "
                   f"{min_bytes:,}, max_shards {max_shards})")
        with calls_of(_held, rule=_CHECKERS_COUNT.format("_held")), \
                calls_of(_pieces, rule=_CHECKERS_COUNT.format("_pieces")):
            result = call(answer, [tuple(s) for s in shapes], num_ps, min_bytes, max_shards)
        if isinstance(result, (int, float)) or not hasattr(result, "__len__"):
            raise Failed(f"ps_bytes should return a list with one byte count per parameter "
                         f"server, not {result!r}"[:300])
        got = numbers(result, "the byte counts")
        if got.shape != (num_ps,):
            raise Failed(f"for {setting} return {num_ps} numbers, one per parameter server; "
                         f"yours has shape {got.shape}")
        want = _held(shapes, num_ps, min_bytes, max_shards)
        if np.array_equal(got, want):
            continue
        total = sum(math.prod(s) * 4 for s in shapes)
        if np.allclose(got, total / num_ps, rtol=1e-9):
            raise Failed("you split the whole model evenly between the servers: only the "
                         "variables MinSizePartitioner cuts are split, and each piece lives "
                         f"whole on one server (for {setting}: {want}, not {got.tolist()})")
        for mistake, message in _MISTAKES:
            if np.array_equal(got, _held(shapes, num_ps, min_bytes, max_shards, **mistake)):
                raise Failed(f"{message} (for {setting}: {want}, not {got.tolist()})")
        raise Failed(f"for {setting} the servers hold {want} bytes; yours says {got.tolist()}")
    return (f"right for {len(models)} models you had not seen, one drawn just now: two to "
            "four servers, uneven rows, small variables left whole.")


_FILES = {"saved_model.pb": b"graph" * 100, "fingerprint.pb": b"fp",
          "assets/vocab.txt": b"cat\ndog\n",
          "variables/variables.data-00000-of-00001": bytes(range(256)) * 40,
          "variables/variables.index": b"index"}


def _tree(root: Path, reverse: bool = False) -> None:
    """A SavedModel-like folder; ``reverse`` creates the files in the opposite order."""
    for name in sorted(_FILES, reverse=reverse):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(_FILES[name])


def _checksum(answer) -> str:
    from tflab import files

    require_callable(answer, "folder_checksum(path) returning a string")
    with calls_of(files.folder_sha256) as library:  # by any name
        try:
            verdict = _check_checksum(answer)
        except Failed:
            if not library:
                raise
            verdict = ""
    if library:
        raise Failed("your folder_checksum calls the course's files.folder_sha256, the "
                     "function this exercise asks you to write: walk the folder and feed "
                     "hashlib.sha256 the names and bytes yourself")
    return verdict


def _check_checksum(answer) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        a, b = Path(tmp) / "a", Path(tmp) / "b"
        _tree(a)
        _tree(b, reverse=True)
        first = call(answer, str(a))
        if not isinstance(first, str):
            raise Failed(f"folder_checksum should return a string (a hex digest), not "
                         f"{type(first).__name__}")
        first = str.__str__(first)  # a plain str: a subclass of the answer's cannot compare itself

        def checksum(path: Path) -> object:
            digest = call(answer, str(path))
            return str.__str__(digest) if isinstance(digest, str) else digest

        if checksum(b) != first:
            raise Failed("two folders with identical files gave different checksums: hash only "
                         "the names relative to the folder and the contents, in sorted order "
                         "(not absolute paths or modification times)")
        later = time.time() + 100
        for file in a.rglob("*"):
            os.utime(file, (later, later))
        if checksum(a) != first:
            raise Failed("touching the files (same contents) changed the checksum: hash the "
                         "contents, not the modification times")
        variables = b / "variables" / "variables.data-00000-of-00001"
        changes = [
            ("a changed byte in the variables", lambda: _flip(variables, 1000), ""),
            ("a changed last byte of the variables (10,240 bytes)", lambda: _flip(variables, -1),
             ": hash each file's bytes to its end, not only its first block"),
            ("a renamed file", lambda: (b / "fingerprint.pb").rename(b / "fingerprint2.pb"), ""),
            ("an added file", lambda: _add_file(b / "assets" / "labels.txt"), ""),
            # a file's base name stays, its folder changes, and it keeps its place in the
            # sorted order: only its relative name tells the two folders apart
            ("moving assets/vocab.txt to assets.extra/vocab.txt",
             lambda: _move(b, "assets/vocab.txt", "assets.extra/vocab.txt"),
             ": hash the name relative to the folder (assets/vocab.txt), not only the base "
             "name (vocab.txt)"),
            # the names and the contents, each hashed on its own, do not see files trade bytes
            ("swapping the contents of fingerprint.pb and variables/variables.index",
             lambda: _swap(b / "fingerprint.pb", b / "variables" / "variables.index"),
             ": bind each file's name to its own bytes (hash the name, then that file's "
             "bytes, file by file), or two files can trade contents unnoticed"),
            # name and contents run together when nothing separates them
            ("renaming fingerprint.pb (contents 'fp') to fingerprint.pbf with contents 'p'",
             lambda: _rename_into(b, "fingerprint.pb", "fingerprint.pbf"),
             ": put something between a file's name and its bytes that no name contains (a "
             "zero byte, b'\\0'), or the end of the name and the start of the bytes can "
             "trade places"),
        ]
        # before each change, b as it is, asked again one to three times at random: an answer
        # that counts its calls instead of reading the files cannot tell when to change
        draw = random.SystemRandom()  # not the learner's generators, nor a seed they can read
        for what, change, why in changes:
            for _ in range(draw.randint(1, 3)):
                if checksum(b) != first:
                    raise Failed("the same folder, unchanged, gave another checksum when asked "
                                 "again: the checksum must depend on the files' names and "
                                 "contents only, not on how often or when it is computed")
            change()
            if checksum(b) == first:
                raise Failed(f"{what} did not change the checksum"
                             + (why or ": every file's relative name and contents must count"))
            _reset(b)
    return ("stable for identical folders and touched files; changed by edits, renames and "
            "additions.")


def _flip(path: Path, at: int) -> None:
    data = bytearray(path.read_bytes())
    data[at] ^= 1
    path.write_bytes(bytes(data))


def _swap(first: Path, second: Path) -> None:
    data = first.read_bytes()
    first.write_bytes(second.read_bytes())
    second.write_bytes(data)


def _move(root: Path, old: str, new: str) -> None:
    (root / new).parent.mkdir(parents=True, exist_ok=True)
    (root / old).rename(root / new)
    (root / old).parent.rmdir()  # the folder it leaves is empty: an empty folder holds no file


def _rename_into(root: Path, old: str, new: str) -> None:
    """Rename ``old`` to ``new``, which is ``old`` plus the first bytes of its contents, and
    drop those bytes from the contents: the same bytes, read in a row."""
    data = (root / old).read_bytes()
    moved = len(new) - len(old)
    assert new.encode() == old.encode() + data[:moved]
    (root / old).unlink()
    (root / new).write_bytes(data[moved:])


def _add_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("new")


def _reset(root: Path) -> None:
    import shutil

    shutil.rmtree(root)
    _tree(root)


TRY_ITS = [
    Exercise("09", 1, "Write replica_loss(per_example_losses, global_batch_size): the loss one "
             "replica should return so that the sum over all replicas is the mean loss of the "
             "global batch.", _replica_loss,
             ["The strategy adds the replicas' gradients (and losses) together.",
              "Sum this replica's losses and divide by the global batch size; "
              "tf.nn.compute_average_loss does exactly that."],
             """import numpy as np

def replica_loss(per_example_losses, global_batch_size):
    return np.sum(per_example_losses) / global_batch_size

answer = replica_loss""", try_it=True),
]


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
    Exercise("09", 2, "Write ps_bytes(shapes, num_ps, min_shard_bytes, max_shards): the bytes "
             "each of num_ps parameter servers holds when ParameterServerStrategy creates "
             "float32 variables of these shapes, in this order, with variable_partitioner="
             "MinSizePartitioner(min_shard_bytes, max_shards), as section 6 does. Return a list, "
             "one number per server.", _ps_bytes,
             ["Section 6's three rules: how many pieces (ceil(bytes / min_shard_bytes), at most "
              "max_shards and at most the rows), how many rows each piece gets (as even as "
              "possible, the first pieces one more), and which server gets each piece (in "
              "turn: piece k of the whole model on server k % num_ps).",
              "Keep one counter of pieces placed so far across all variables; for each piece "
              "add rows × (4 × the product of the other dimensions) to held[counter % num_ps]."],
             """import math

def ps_bytes(shapes, num_ps, min_shard_bytes, max_shards):
    held, placed = [0] * num_ps, 0
    for shape in shapes:
        rows, row_bytes = shape[0], 4 * math.prod(shape[1:])
        pieces = min(max_shards, rows, math.ceil(rows * row_bytes / min_shard_bytes))
        for i in range(pieces):
            piece_rows = rows // pieces + (1 if i < rows % pieces else 0)
            held[placed % num_ps] += piece_rows * row_bytes
            placed += 1
    return held

answer = ps_bytes"""),
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
