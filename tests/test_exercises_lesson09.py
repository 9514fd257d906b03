"""Lesson 09's exercises: typical wrong answers fail with a helpful message."""

from __future__ import annotations

import hashlib
import math
import sys
from pathlib import Path

import numpy as np
from exercise_checks import caller_value, failed_with

from tflab import exercises
from tflab.exercises import lesson09


def test_tf_config_wrong_answers():
    ex = exercises.get("09", 1)
    failed_with(ex, lambda ports, i: {"cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]},
                                      "task": {"type": "worker", "index": str(i)}}, "index an int")
    failed_with(ex, lambda ports, i: {"cluster": {"worker": [f"localhost:{p}" for p in ports]},
                                      "task": {"type": "worker", "index": i}},
                "the cluster should be")
    failed_with(ex, lambda ports, i: {"worker": [f"127.0.0.1:{p}" for p in ports]},
                "exactly two keys")
    # gaming: ignores its input, the lesson's three ports and worker 0
    failed_with(ex, lambda ports, i: {"cluster": {"worker": ["127.0.0.1:23456", "127.0.0.1:23457",
                                                             "127.0.0.1:23458"]},
                                      "task": {"type": "worker", "index": 0}},
                "for worker 2 the task should be")


def test_replica_loss_wrong_answers():
    ex = exercises.try_it("09", 1)
    assert ex.try_it and ex.label == "Try it 09.1"
    failed_with(ex, lambda losses, n: np.mean(losses), "Divide by the global batch size")
    failed_with(ex, lambda losses, n: np.sum(losses), "the mean loss of the global batch")
    # gaming: the number of replicas hard-coded to 2 (right for the first check only)
    failed_with(ex, lambda losses, n: np.mean(losses) / 2, "summed over 4 replicas")
    failed_with(ex, lambda losses, n: 0.75, "the mean loss of the global batch")  # a constant


def test_checksum_wrong_answers():
    ex = exercises.get("09", 3)

    def graph_only(path):
        return hashlib.sha256((Path(path) / "saved_model.pb").read_bytes()).hexdigest()

    def names_only(path):
        root = Path(path)
        names = sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))
        return hashlib.sha256("\n".join(names).encode()).hexdigest()

    def with_mtimes(path):
        root = Path(path)
        stamps = sorted(f"{p.relative_to(root)}:{p.stat().st_mtime}" for p in root.rglob("*"))
        return hashlib.sha256("\n".join(stamps).encode()).hexdigest()

    failed_with(ex, graph_only, "a changed byte in the variables")
    failed_with(ex, names_only, "a changed byte in the variables")
    failed_with(ex, with_mtimes, "modification times")
    failed_with(ex, lambda path: 1234, "should return a string")
    failed_with(ex, lambda path: "0" * 64, "did not change the checksum")  # gaming: a constant

    def absolute_names(path):  # hashes the absolute paths: two copies never agree
        files = sorted(p for p in Path(path).rglob("*") if p.is_file())
        digest = hashlib.sha256()
        for p in files:
            digest.update(str(p.resolve()).encode() + p.read_bytes())
        return digest.hexdigest()

    failed_with(ex, absolute_names, "two folders with identical files gave different checksums")


def _digest(path, *, name=lambda file, root: file.relative_to(root).as_posix(),
            order=lambda file: file, separator=b"\0", read=lambda file: file.read_bytes()):
    """The reference written out again, with switches for the typical mistakes."""
    root, digest = Path(path), hashlib.sha256()
    for file in sorted((p for p in root.rglob("*") if p.is_file()), key=order):
        digest.update(name(file, root).encode() + separator)
        digest.update(read(file))
    return digest.hexdigest()


def test_checksum_mistakes_found_by_the_review():
    """Issue 32's review: base names only, and names run into contents, passed."""
    ex = exercises.get("09", 3)
    assert ex.judge(_digest)[0] == "passed"
    base_name = dict(name=lambda file, root: file.name)
    failed_with(ex, lambda path: _digest(path, **base_name),
                "moving assets/vocab.txt to assets.extra/vocab.txt did not change the checksum: "
                "hash the name relative to the folder")
    # base names in base-name order too: any move keeps the hash
    failed_with(ex, lambda path: _digest(path, order=lambda file: file.name, **base_name),
                "not only the base name (vocab.txt)")
    failed_with(ex, lambda path: _digest(path, separator=b""),
                "renaming fingerprint.pb (contents 'fp') to fingerprint.pbf with contents 'p' did "
                "not change the checksum: put something between a file's name and its bytes")


def test_checksum_reads_every_byte():
    """New cheat (a mistake): one read of a fixed block per file misses a change at its end."""
    def first_block(file):
        with open(file, "rb") as handle:
            return handle.read(4096)

    failed_with(exercises.get("09", 3), lambda path: _digest(path, read=first_block),
                "a changed last byte of the variables (10,240 bytes) did not change the checksum: "
                "hash each file's bytes to its end")


def _ps_bytes(shapes, num_ps, min_shard_bytes, max_shards, *, ceil=math.ceil, fixed=False,
              cap_rows=True, extra_last=False, restart=False, value_bytes=4):
    """The reference written out again, with switches for the typical mistakes."""
    held, placed = [0] * num_ps, 0
    for shape in shapes:
        rows, row_bytes = shape[0], value_bytes * math.prod(shape[1:])
        pieces = max_shards if fixed else min(max_shards, ceil(rows * row_bytes / min_shard_bytes))
        pieces = max(1, min(pieces, rows) if cap_rows else pieces)
        base, extra = divmod(rows, pieces)
        placed = 0 if restart else placed
        for i in range(pieces):
            if extra_last:
                n = base + (extra if i == pieces - 1 else 0)
            else:
                n = base + (1 if i < extra else 0)
            held[placed % num_ps] += n * row_bytes
            placed += 1
    return held


def test_ps_bytes_wrong_answers():
    ex = exercises.get("09", 2)
    assert ex.judge(_ps_bytes)[0] == "passed"
    assert ex.judge(lambda *a: tuple(_ps_bytes(*a)))[0] == "passed"  # any sequence will do
    for mistake, message in [(dict(ceil=math.floor), "round the number of pieces down"),
                             (dict(fixed=True), "as FixedShardsPartitioner would"),
                             (dict(cap_rows=False), "never has more pieces than rows"),
                             (dict(extra_last=True), "the FIRST pieces take one row more"),
                             (dict(restart=True), "the count goes on from one variable"),
                             (dict(value_bytes=1), "a float32 takes 4 bytes")]:
        failed_with(ex, lambda *a, m=mistake: _ps_bytes(*a, **m), message)

    def evenly(shapes, num_ps, *_):  # the whole model split evenly, whatever the partitioner
        return [sum(math.prod(s) * 4 for s in shapes) / num_ps] * num_ps

    failed_with(ex, evenly, "you split the whole model evenly")
    # gaming: the first model's answer, whatever the input
    failed_with(ex, lambda *a: [1_921_408, 1_920_040], "return 3 numbers")
    failed_with(ex, lambda shapes, num_ps, *_: [0] * num_ps, "the servers hold")  # a constant
    failed_with(ex, lambda *a: sum(_ps_bytes(*a)), "one byte count per parameter server")


def test_ps_bytes_counts_pieces_as_tensorflow_does():
    """The checker's number of pieces is MinSizePartitioner's, capped at the rows as
    ParameterServerStrategy caps it, for every variable the exercise is judged on."""
    import tensorflow as tf

    for shapes, _, min_bytes, max_shards in lesson09._MODELS:
        partitioner = tf.distribute.experimental.partitioners.MinSizePartitioner(
            min_shard_bytes=min_bytes, max_shards=max_shards)
        for shape in shapes:
            want = min(partitioner(tf.TensorShape(shape), tf.float32)[0], shape[0])
            assert lesson09._pieces(shape, min_bytes, max_shards) == want, shape


def test_checksum_rejects_the_course_function():
    """Issue 32's corpus: files.folder_sha256 is the function 09.3 asks for."""
    from tflab import files
    from tflab.files import folder_sha256

    ex = exercises.get("09", 3)
    for gaming in (files.folder_sha256, folder_sha256,
                   lambda path: files.folder_sha256(Path(path)).upper().lower()):
        failed_with(ex, gaming, "calls the course's files.folder_sha256, the function this")

    def hashed_archive(path):  # new cheat: a tar of the folder, hashed (the tar holds mtimes)
        import io
        import tarfile

        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            tar.add(path, arcname=".")
        return hashlib.sha256(buffer.getvalue()).hexdigest()

    failed_with(ex, hashed_archive, "two folders with identical files gave different")


class _EqualsNothing(str):
    """New cheat: a digest that is neither equal nor unequal to any other."""

    def __eq__(self, other):
        return False

    def __ne__(self, other):
        return False

    __hash__ = str.__hash__


def test_checksum_answers_cannot_compare_themselves():
    import types

    from tflab import files

    ex = exercises.get("09", 3)
    failed_with(ex, lambda path: _EqualsNothing("0" * 64), "did not change the checksum")

    def copied_code(path):  # new cheat: the course's function rebuilt from its code object
        function = types.FunctionType(files.folder_sha256.__code__,
                                      files.folder_sha256.__globals__)
        return function(path)

    failed_with(ex, copied_code, "calls the course's files.folder_sha256")


def test_ps_bytes_cannot_use_the_checkers_count_or_a_table():
    """New cheats: the checker's own count, and a table of the fixed models' answers."""
    ex = exercises.get("09", 2)
    failed_with(ex, lambda *a: lesson09._held(*a),
                "calls the checker's own count (lesson09._held)")

    def pieces_from_checker(shapes, num_ps, min_bytes, max_shards):
        held, placed = [0] * num_ps, 0
        for shape in shapes:
            pieces = lesson09._pieces(shape, min_bytes, max_shards)
            for i in range(pieces):
                rows = shape[0] // pieces + (1 if i < shape[0] % pieces else 0)
                held[placed % num_ps] += rows * 4 * math.prod(shape[1:])
                placed += 1
        return held

    failed_with(ex, pieces_from_checker, "calls the checker's own count (lesson09._pieces)")
    table = {shapes: _ps_bytes(shapes, *rest) for shapes, *rest in lesson09._MODELS}
    failed_with(ex, lambda shapes, *_: table[tuple(shapes)], "KeyError")
    failed_with(ex, lambda shapes, num_ps, *_: table.get(tuple(shapes), [0] * num_ps),
                "the servers hold")


def test_ps_bytes_models_cannot_be_changed_by_the_answer():
    """New cheat: emptying the checker's list of models while the first one is judged."""
    ex = exercises.get("09", 2)

    def empties_the_models(*args):
        try:
            lesson09._MODELS.clear()
        except AttributeError:  # a tuple: nothing to clear
            pass
        return _ps_bytes(*args)

    assert ex.judge(empties_the_models)[0] == "passed"
    assert len(lesson09._MODELS) == 5


def test_ps_bytes_draws_a_new_model_on_every_check():
    """The drawn model differs from check to check, and the checker's count of pieces is
    TensorFlow's on drawn models too."""
    from random import Random

    import tensorflow as tf

    assert lesson09._drawn_model(Random(1)) != lesson09._drawn_model(Random(2))
    for seed in range(20):
        shapes, _, min_bytes, max_shards = lesson09._drawn_model(Random(seed))
        partitioner = tf.distribute.experimental.partitioners.MinSizePartitioner(
            min_shard_bytes=min_bytes, max_shards=max_shards)
        for shape in shapes:
            want = min(partitioner(tf.TensorShape(shape), tf.float32)[0], shape[0])
            assert lesson09._pieces(shape, min_bytes, max_shards) == want, (seed, shape)


def test_checksum_depends_on_the_files_not_on_the_calls():
    """New cheat: a digest that changes with the number of calls, the first three equal."""
    calls = []

    def counts_its_calls(path):
        calls.append(path)
        return "0" * 64 if len(calls) <= 3 else f"{len(calls):064d}"

    failed_with(exercises.get("09", 3), counts_its_calls,
                "the same folder, unchanged, gave another checksum when asked again")


def test_replica_loss_reference_cannot_be_changed_through_the_checker():
    """New cheat: zero the checker's losses through its frame, then return 0."""
    def zeroes_the_losses(losses, n):
        found = caller_value("losses")
        if found is not None:
            found[...] = 0
        return 0.0

    failed_with(exercises.try_it("09", 1), zeroes_the_losses, "the mean loss of the global batch")


def test_ps_bytes_one_piece_too_many_on_exact_multiples():
    """Review finding (issue 32): pieces = bytes // min_shard_bytes + 1, the ceiling everywhere
    but where the bytes are an exact multiple of min_shard_bytes, passed. A fixed model has
    such a table (4096 × 16 float32 = 4 × 64 KiB), and so has the drawn one half the time."""
    from random import Random

    ex = exercises.get("09", 2)
    message = "you count one piece too many when a variable's bytes are an exact multiple"
    failed_with(ex, lambda *a: _ps_bytes(*a, ceil=lambda r: math.floor(r) + 1), message)
    exact = 0
    for seed in range(40):
        ((rows, width), *_), _, min_bytes, max_shards = lesson09._drawn_model(Random(seed))
        if rows * width * 4 % min_bytes == 0 and rows * width * 4 // min_bytes < max_shards:
            exact += 1
    assert 10 <= exact <= 30, exact


def test_replica_loss_judges_each_replica():
    """Review finding (issue 32): the whole batch's mean over the number of replicas, both
    found up the checker's frames, passed; each replica's loss is judged on its own now."""
    ex = exercises.try_it("09", 1)
    replicas_seen = []

    def from_the_whole_batch(losses, n):  # the review's: up the frames to 'replicas'
        frame = sys._getframe(1)
        while frame is not None and "replicas" not in frame.f_locals:
            frame = frame.f_back
        if frame is None:
            return np.sum(losses) / n
        replicas_seen.append(frame.f_locals["replicas"])
        return float(np.mean(frame.f_locals["losses"])) / frame.f_locals["replicas"]

    failed_with(ex, from_the_whole_batch, "not its own share")
    assert replicas_seen  # the cheat found what it looked for
    # a replica that makes up for the others: the sum right, each replica wrong
    calls = []

    def the_last_makes_up(losses, n):
        calls.append(np.sum(losses) / n)
        return 0.0 if len(calls) % 2 else sum(calls[-2:])

    failed_with(ex, the_last_makes_up, "replica 0 returns 0")
    # right: the mean over this replica's examples divided by the number of replicas
    assert ex.judge(lambda losses, n: np.mean(losses) / (n / len(losses)))[0] == "passed"


def test_replica_loss_inputs_are_drawn_at_check_time(monkeypatch):
    """The global batches differ from check to check (the number of examples too)."""
    first, second = lesson09._global_batches(1), lesson09._global_batches(2)
    assert [len(losses) for _, losses in first] != [len(losses) for _, losses in second]
    ex = exercises.try_it("09", 1)
    monkeypatch.setattr(lesson09, "_fresh_seed", lambda: 9)
    batch = lesson09._global_batches(9)[0][1]
    failed_with(ex, lambda losses, n: np.mean(losses),
                "your losses give 2 × the mean")
    failed_with(ex, lambda losses, n: np.sum(losses),
                f"the mean loss of the global batch is {batch.mean():.4g}")


def test_checksum_binds_each_name_to_its_bytes():
    """Review finding (issue 32): the sorted names, then the sorted digests of the contents,
    hashed apart, passed; two files that trade contents must change the checksum."""
    def unbound(path):
        root = Path(path)
        files = sorted(p for p in root.rglob("*") if p.is_file())
        digest = hashlib.sha256()
        for file in files:
            digest.update(file.relative_to(root).as_posix().encode() + b"\0")
        for content in sorted(hashlib.sha256(f.read_bytes()).hexdigest() for f in files):
            digest.update(content.encode())
        return digest.hexdigest()

    failed_with(exercises.get("09", 3), unbound,
                "swapping the contents of fingerprint.pb and variables/variables.index did not "
                "change the checksum: bind each file's name to its own bytes")


def test_replica_loss_shows_enough_digits_to_differ(monkeypatch):
    """New mistake (issue 32's second review): the mean in float16 is off in the fourth digit;
    the message showed the two totals as the same number."""
    monkeypatch.setattr(lesson09, "_fresh_seed", lambda: 9)
    text = exercises.try_it("09", 1).judge(
        lambda losses, n: float(np.float16(np.mean(losses)) * len(losses) / n))[1]
    given, want = text.split("your losses give ")[1].split("; the mean loss of the global "
                                                          "batch is ")
    assert given != want, text
