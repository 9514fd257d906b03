"""Exercises of lesson 06, feature columns: the Keras layers that replace them."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from tflab import quiet_tensorflow
from tflab.exercises.core import Exercise, Failed, call, calls_of, first_line, require_callable

BOUNDARIES = [18.0, 35.0, 50.0, 65.0]
HASH_BINS = 20


def _same_encoding(got, want: np.ndarray, inputs: np.ndarray, what: str, slots: str,
                   handed: np.ndarray | None = None) -> None:
    """Fail unless the learner's output ``got`` equals the column's ``want`` row by row;
    ``handed``, what the object handed in gave where ``got`` is a rebuilt copy's, says so when
    only the object was right."""
    got = np.asarray(got)
    if (handed is not None and handed.shape == want.shape and not np.array_equal(got, handed)
            and np.array_equal(handed.astype(np.float64), want)):
        raise Failed(_TAMPERED.format(role="layer"))
    if got.shape != want.shape:
        looks_like = (" (one number per row: that is the bucket index; ask for one-hot rows with "
                      "output_mode='one_hot')" if got.ndim == 2 and got.shape[1] == 1 else "")
        raise Failed(f"for {len(inputs)} {what} of shape {inputs.shape} your layer gives shape "
                     f"{got.shape}; the feature column gives {want.shape}, {slots}{looks_like}")
    wrong = np.flatnonzero(np.any(got.astype(np.float64) != want, axis=1))
    if len(wrong):
        i = wrong[0]
        ones = np.flatnonzero(got[i] == 1)
        yours = (f"in slot {ones[0]}" if len(ones) == 1 and np.sum(got[i] != 0) == 1 else
                 f"the row {np.round(got[i].astype(float), 3).tolist()}")
        raise Failed(f"{len(wrong)} of {len(inputs)} rows differ; for {inputs[i, 0].item()!r} the "
                     f"feature column puts a 1 in slot {np.argmax(want[i])}, your layer {yours}")


def _bucketized(answer) -> str:
    """The answer is a Keras layer mapping ages (N, 1) to the column's one-hot rows; judged as
    a fresh layer rebuilt from its config, the column's rows computed after it has run."""
    from tflab import features

    rng = np.random.default_rng()  # fresh ages on every check
    edges = np.array(BOUNDARIES, np.float32)
    just_below = np.nextafter(edges, np.float32(0))
    ages = np.concatenate([edges, just_below, [-3.0, 0.0, 120.0], rng.uniform(0, 100, 40)])
    ages = ages.astype(np.float32).reshape(-1, 1)
    got, handed = _outputs(answer, "answer", "Discretization", ages)
    fc = _real_columns()
    with quiet_tensorflow():
        column = fc.bucketized_column(fc.numeric_column("age"), BOUNDARIES)
        want = features.feature_column_output(column, {"age": ages})
    _same_encoding(got, want, ages, "ages",
                   f"one 0/1 slot per bucket ({len(BOUNDARIES)} boundaries make "
                   f"{len(BOUNDARIES) + 1} buckets)", handed)
    return (f"the same one-hot buckets as the feature column on {len(ages)} ages you had not "
            "seen, each boundary and the values just below it included.")


_COLUMN_FUNCTIONS = ("numeric_column", "bucketized_column", "categorical_column_with_hash_bucket",
                     "crossed_column", "indicator_column")


def _real_columns():
    """``tf.feature_column``, once its functions the checkers use (and input_layer, through
    which features.feature_column_output runs them) are checked to be TensorFlow's and the
    course's own: an answer that replaced one (crossed_column with its own bins) would make
    the reference agree with it. Called after the answer has run."""
    import os

    import tensorflow as tf

    from tflab import features

    home = os.path.dirname(tf.__file__)
    functions = {f"tf.feature_column.{name}": (getattr(tf.feature_column, name, None), home)
                 for name in _COLUMN_FUNCTIONS}
    functions["tf.compat.v1.feature_column.input_layer"] = (
        getattr(tf.compat.v1.feature_column, "input_layer", None), home)
    functions["features.feature_column_output"] = (
        getattr(features, "feature_column_output", None), os.path.abspath(features.__file__))
    for name, (function, where) in functions.items():
        chain = [function]
        while hasattr(chain[-1], "__wrapped__") and len(chain) < 10:
            chain.append(chain[-1].__wrapped__)
        files = [getattr(getattr(item, "__code__", None), "co_filename", "") for item in chain]
        if not all(os.path.abspath(file).startswith(where) for file in files if file) or not all(
                files):
            raise Failed(f"{name} is not the one TensorFlow and the course ship (your code "
                         "replaced it?): the checker compares your layers with the real "
                         "feature column. Leave TensorFlow as it is (restart the kernel)")
    return tf.feature_column


def _random_words(rng: np.random.Generator, n: int) -> np.ndarray:
    letters = np.array(list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ -"))
    return np.array(["".join(rng.choice(letters, rng.integers(1, 12))) for _ in range(n)])


def _hash_bucket(answer) -> str:
    """The answer is a Keras layer mapping strings (N, 1) to the column's one-hot rows; judged
    as a fresh layer rebuilt from its config, the column's rows computed after it has run."""
    from tflab import features

    rng = np.random.default_rng()  # fresh strings on every check
    words = np.concatenate([["Paris", "paris", "Lima", "Absent", "Present"],
                            _random_words(rng, 60)]).reshape(-1, 1)
    got, handed = _outputs(answer, "answer", "Hashing", words)
    fc = _real_columns()
    with quiet_tensorflow():
        column = fc.indicator_column(fc.categorical_column_with_hash_bucket("city", HASH_BINS))
        want = features.feature_column_output(column, {"city": words})
    _same_encoding(got, want, words, "strings",
                   f"one 0/1 slot per hash bucket ({HASH_BINS})", handed)
    return (f"the same hash buckets as the feature column on {len(words)} strings you had not "
            "seen.")


def _outputs(layer, role: str, example: str, inputs) -> tuple[np.ndarray, np.ndarray | None]:
    """What a fresh copy of the learner's ``layer``, rebuilt from its config, gives for
    ``inputs``, and what the layer handed in gives (None if it raises): the judged one is the
    copy, the other only words the message of an answer whose instance was tampered with."""
    import keras

    fresh = _rebuilt(layer, role, example)
    try:
        handed = np.asarray(call(layer, inputs))
    except Failed:
        handed = None
    try:
        return np.asarray(call(fresh, inputs)), handed
    except Failed:
        given = getattr(fresh, "_layers", [])[:1] if isinstance(fresh, keras.Sequential) else []
        first = fresh.layers[:1] if given else []
        if (np.asarray(inputs).dtype.kind in "USO" and given and first
                and getattr(given[0], "dtype", None) != "string"):  # its InputLayer, or none
            raise Failed("your Sequential has no keras.Input of strings, so Keras turns the "
                         "strings it is given into numbers before its first layer "
                         f"({type(first[0]).__name__}), which fails (Cast string to int64 is not "
                         "supported): start it with keras.Input(shape=(1,), dtype='string')"
                         ) from None
        raise


_TAMPERED = ("a fresh copy of your {role}, rebuilt from its config as Keras saves and loads "
             "layers, gives other results than the object you handed in: attributes set on the "
             "layer after it was made (its call, backend, boundaries, hashing) do not count. "
             "Give Keras's layer the settings it needs when you make it")


def _files(folder: str) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(Path(folder).iterdir())}


def _rebuilt(layer, role: str, example: str):
    """``layer`` rebuilt as Keras saves and loads it: its config through JSON into a new
    object of the same Keras class, its variables and vocabulary files copied over. What the
    copy computes is what the layer's settings say, not what the object handed in was made to
    do afterwards (an attribute set on it that replaces Keras's internals)."""
    import json
    import tempfile

    import keras

    _require_preprocessing_layers(layer, role, example)
    try:
        config = call(lambda: json.loads(json.dumps(keras.saving.serialize_keras_object(layer))))
        fresh = keras.saving.deserialize_keras_object(config)
        pairs = zip(keras.layers.Layer._flatten_layers(layer, include_self=True, recursive=True),
                    keras.layers.Layer._flatten_layers(fresh, include_self=True, recursive=True),
                    strict=True)
        for old, new in pairs:
            if type(new) is not type(old):
                raise TypeError(f"{type(old).__name__} came back as {type(new).__name__}")
            store: dict = {}
            type(old).save_own_variables(old, store)  # the class's: no instance can change it
            if store:
                type(new).load_own_variables(new, {k: np.array(v) for k, v in store.items()})
            if hasattr(type(old), "save_assets"):  # a lookup layer's vocabulary, if adapted
                with tempfile.TemporaryDirectory() as theirs, \
                        tempfile.TemporaryDirectory() as ours:
                    type(old).save_assets(old, theirs)
                    type(new).save_assets(new, ours)
                    if _files(theirs) != _files(ours):
                        type(new).load_assets(new, theirs)
    except Failed as err:
        if str(err).startswith("your answer replaced"):
            raise
        reason = str(err).removeprefix("your function raised ")
        raise Failed(f"your {role} could not be saved and rebuilt from its config, as Keras "
                     f"saves layers ({reason}): make it with Keras's own settings") from None
    except Exception as err:
        raise Failed(f"your {role} could not be saved and rebuilt from its config, as Keras "
                     f"saves layers ({type(err).__name__}: {first_line(err)}): make it with "
                     "Keras's own settings") from None
    _require_preprocessing_layers(fresh, role, example)
    return fresh


_PREPROCESSING_LAYERS = ("Discretization", "HashedCrossing", "Hashing", "IntegerLookup",
                         "StringLookup", "CategoryEncoding", "Sequential", "InputLayer")


def _allowed_classes() -> list:
    import keras

    return [getattr(keras.layers, name, None) or getattr(keras, name)
            for name in _PREPROCESSING_LAYERS]


def _methods(kind) -> dict:
    """What ``kind``'s own namespace holds that can run: functions and the methods, properties
    and descriptors around them, by name."""
    return {name: value for name, value in vars(kind).items()
            if callable(value) or hasattr(value, "__get__") and not isinstance(value, type)}


def _capture_methods() -> dict:
    """Every class in the allowed layers' MROs (object aside) -> its methods, as Keras defined
    them: taken when this module loads if Keras is loaded already (the lessons import Keras
    first), so that a method the learner replaces later is not the one recorded."""
    if "keras" not in sys.modules:
        return {}
    try:
        return {base: _methods(base) for kind in _allowed_classes()
                for base in kind.__mro__[:-1]}
    except Exception:  # a Keras without one of these layers: the file check still runs
        return {}


_KERAS_METHODS: dict = _capture_methods()

_LIBRARY_MODULES = ("keras.", "tensorflow._api.v2.", "tensorflow.python.ops.")


def _capture_library() -> dict:
    """The functions of Keras's modules and of the TensorFlow ops under them (their backend's
    digitize, tf.strings' hashing, ...), by module and name, as loaded: an answer that
    replaced one (a wrong layer made right by a library patched under it) fails. Taken when
    this module loads if Keras is loaded already."""
    if "keras" not in sys.modules:
        return {}
    return {module: {name: value for name, value in vars(module).items()
                     if callable(value) and not isinstance(value, type)}
            for name, module in list(sys.modules.items())
            if module is not None and name.startswith(_LIBRARY_MODULES)
            and "feature_column" not in name}  # _real_columns checks those, and says so


_LIBRARY_FUNCTIONS: dict = _capture_library()


def _require_library_as_loaded() -> None:
    for module, functions in _LIBRARY_FUNCTIONS.items():
        now = vars(module)
        for name, value in functions.items():
            if now.get(name) is not value:
                shown = module.__name__.replace("tensorflow._api.v2.", "tf.")
                raise Failed(f"your code replaced {shown}.{name}, which Keras's layers, "
                             "TensorFlow under them or the checker's copy of your layer run: a "
                             "replaced library function could just run the feature column the "
                             "layer replaces. Leave Keras and TensorFlow as they are (restart "
                             "the kernel)")


def _foreign(value, homes: tuple[str, ...]) -> bool:
    """Whether ``value``, a class attribute, runs code from outside ``homes`` (Keras's and
    TensorFlow's folders), as it is: not unwrapped, since a wrapper's own code is what runs."""
    import os
    import types

    if isinstance(value, type):
        return False  # a nested class: the recorded objects cover it
    parts = [value]
    if isinstance(value, (classmethod, staticmethod)):
        parts = [value.__func__]
    elif isinstance(value, property):
        parts = [part for part in (value.fget, value.fset, value.fdel) if part is not None]
    elif not callable(value):
        return False
    return not all(isinstance(part, types.FunctionType)
                   and os.path.abspath(part.__code__.co_filename).startswith(homes)
                   for part in parts)


def _require_keras_methods(kind, role: str) -> None:
    """Fail unless every class in ``kind``'s MRO holds the methods Keras (and TensorFlow under
    it) defined: the same objects as when this module loaded, and code from their files.

    A method replaced on the class (for every layer of that kind), even one dressed with
    functools.wraps to look like Keras's, could run the feature column it replaces."""
    import os

    import keras
    import tensorflow as tf

    homes = (os.path.dirname(keras.__file__), os.path.dirname(tf.__file__))
    for base in kind.__mro__[:-1]:
        methods = _methods(base)
        recorded = _KERAS_METHODS.get(base)
        changed = sorted(name for name in set(methods) | set(recorded or ())
                         if recorded is not None and methods.get(name) is not recorded.get(name))
        changed += sorted(name for name, value in methods.items()
                          if name not in changed and _foreign(value, homes))
        if changed:
            raise Failed(f"your {role}'s {kind.__name__} does not run Keras's own "
                         f"{base.__name__}.{changed[0]}: your code replaced it on the class "
                         "(a replaced method could just run the feature column the layer "
                         "replaces). Use the layers as Keras ships them (restart the kernel)")


def _require_preprocessing_layers(layer, role: str, example: str) -> None:
    """Fail unless ``layer`` is one of Keras's own preprocessing layers (or a Sequential of
    them), exactly that class, with Keras's own methods: nothing in it can run the feature
    column (a Lambda, an RNN around a cell, a subclass or a replaced call could).

    ``role`` names the layer in the messages ("answer", "bucket", "cross"), ``example`` the
    Keras layer it should be."""
    import keras

    allowed = set(_allowed_classes())
    if not isinstance(layer, keras.layers.Layer):
        raise Failed(f"the {role} should be a Keras layer, such as keras.layers.{example}(...), "
                     f"not {type(layer).__name__}: a function (for instance one that runs the "
                     "feature column itself) is not its Keras replacement")
    _require_library_as_loaded()
    parts = keras.layers.Layer._flatten_layers(layer, include_self=True, recursive=True)
    for part in parts:  # the class's method: an instance cannot hide what it holds
        kind = type(part)
        if kind not in allowed:
            raise Failed(f"your {role} is (or holds) {kind.__name__}, a layer this exercise does "
                         "not take: build it from Keras's preprocessing layers (Discretization, "
                         "HashedCrossing, ...) as they are; a Lambda, a wrapper or a layer of "
                         "your own could just run the feature column it replaces")
        for name in ("call", "__call__", "get_config"):  # get_config: what a rebuild reads
            if name in vars(part):
                raise Failed(f"your {role}'s {kind.__name__} does not run Keras's own {name}: "
                             "use the layer as Keras ships it (a replaced method could just "
                             "run the feature column it replaces)")
        _require_keras_methods(kind, role)


def _cross_case(rng: np.random.Generator) -> tuple[list[float], int, np.ndarray, np.ndarray]:
    """Fresh boundaries, a number of hash bins, ages (boundaries and just below them included)
    and strings ('' and the famhist words included)."""
    count = int(rng.integers(2, 6))
    boundaries = sorted({float(v) for v in np.round(rng.uniform(5, 95, count) * 2) / 2})
    num_bins = int(rng.integers(6, 40))
    edges = np.array(boundaries, np.float32)
    ages = np.concatenate([edges, np.nextafter(edges, np.float32(0)), [-3.0, 0.0, 120.0],
                           rng.uniform(0, 100, 40)]).astype(np.float32).reshape(-1, 1)
    words = np.concatenate([["", "Absent", "Present"],
                            _random_words(rng, len(ages) - 3)]).reshape(-1, 1)
    return boundaries, num_bins, ages, words


def _crossed_by(bucket, cross, ages: np.ndarray, words: np.ndarray) -> np.ndarray | None:
    """What the learner's two layers, as handed in, give for ``ages`` and ``words`` (None if
    they raise): only to word the message when they differ from fresh copies."""
    import tensorflow as tf

    try:
        ids = tf.convert_to_tensor(np.asarray(call(bucket, ages)))
        return np.asarray(call(cross, (ids, tf.constant(words))))
    except Exception:  # the fresh copies, judged next, say what is wrong
        return None


def _crossed(answer) -> str:
    """The answer is cross_layers(boundaries, num_bins) -> (bucket, cross), Keras layers that
    reproduce the crossed column on fresh boundaries, bins, ages and strings."""
    import keras
    import tensorflow as tf

    from tflab import features

    require_callable(answer, "cross_layers(boundaries, num_bins) returning (bucket, cross)")
    rng = np.random.default_rng()  # fresh boundaries, bins and rows on every check
    for _ in range(3):
        boundaries, num_bins, ages, words = _cross_case(rng)
        layers = call(answer, list(boundaries), num_bins)
        if not (isinstance(layers, (tuple, list)) and len(layers) == 2):
            raise Failed("cross_layers should return a pair of layers (bucket, cross), not "
                         f"{type(layers).__name__}"[:300])
        bucket, cross = layers
        if isinstance(bucket, keras.layers.HashedCrossing) and not isinstance(
                cross, keras.layers.HashedCrossing):
            raise Failed("your pair starts with the HashedCrossing: return (bucket, cross), the "
                         "layer that turns ages into bucket ids first")
        handed = _crossed_by(bucket, cross, ages, words)  # the objects as handed in
        bucket = _rebuilt(bucket, "bucket", "Discretization")  # judged: fresh copies
        cross = _rebuilt(cross, "cross", "HashedCrossing")
        shown = f"with boundaries {boundaries} and num_bins {num_bins}"
        ids = np.asarray(call(bucket, ages))
        if ids.ndim == 2 and ids.shape[1] == len(boundaries) + 1 > 1:
            raise Failed(f"{shown} your bucket layer gives one-hot rows (shape {ids.shape}): "
                         "HashedCrossing crosses one value per row, so give it the bucket ids "
                         "(Discretization without output_mode='one_hot')")
        try:
            got = np.asarray(call(cross, (tf.convert_to_tensor(ids), tf.constant(words))))
        except Failed as err:
            reason = str(err).rstrip(".")
            raise Failed(f"{shown}, cross((bucket ids, strings)) failed: {reason}. The cross "
                         "takes that pair of inputs and hashes each row's two values together"
                         ) from None
        fc = _real_columns()
        with quiet_tensorflow():  # the column, computed once your layers have run
            age_buckets = fc.bucketized_column(fc.numeric_column("age"), boundaries)
            column = fc.indicator_column(fc.crossed_column([age_buckets, "famhist"],
                                                           hash_bucket_size=num_bins))
            want = features.feature_column_output(column, {"age": ages, "famhist": words})
        if got.shape == want.shape and np.array_equal(got.astype(np.float64), want):
            continue
        if (handed is not None and handed.shape == want.shape
                and np.array_equal(handed.astype(np.float64), want)):
            raise Failed(_TAMPERED.format(role="layers"))
        right_ids = np.searchsorted(np.array(boundaries, np.float32), ages, side="right")
        if ids.shape in (right_ids.shape, right_ids.shape[:1]):
            flat = ids.reshape(-1)
            if not np.array_equal(flat.astype(np.float64), right_ids.reshape(-1)):
                i = int(np.flatnonzero(flat.astype(np.float64) != right_ids.reshape(-1))[0])
                raise Failed(f"{shown} your bucket layer gives {flat[i].item()!r} for age "
                             f"{ages[i, 0]:g}; bucketized_column puts it in bucket "
                             f"{right_ids[i, 0]} (ids 0 to {len(boundaries)}, an age equal to a "
                             "boundary in the bucket above it): use the boundaries given")
        if got.ndim != 2 or got.shape[0] != len(ages):
            raise Failed(f"{shown} your layers give shape {got.shape} for {len(ages)} rows; the "
                         f"feature column gives {want.shape}, one 0/1 slot per hash bin")
        if got.shape[1] != num_bins:
            why = (" (one number per row: the bin's index; ask HashedCrossing for "
                   "output_mode='one_hot')" if got.shape[1] == 1 else
                   f": the column has hash_bucket_size={num_bins} slots; use num_bins")
            raise Failed(f"{shown} your layers give {got.shape[1]} value"
                         f"{'s' * (got.shape[1] != 1)} per row{why}")
        wrong = np.flatnonzero(np.any(got.astype(np.float64) != want, axis=1))
        i = int(wrong[0])
        ones = np.flatnonzero(got[i] == 1)
        yours = (f"in slot {ones[0]}" if len(ones) == 1 and np.sum(got[i] != 0) == 1 else
                 f"the row {np.round(got[i].astype(float), 3).tolist()}")
        raise Failed(f"{shown}, {len(wrong)} of {len(ages)} rows differ; for age "
                     f"{ages[i, 0]:g} and famhist {words[i, 0]!r} the crossed column puts a 1 "
                     f"in slot {int(np.argmax(want[i]))}, your layers {yours}")
    return ("the same crossed buckets as the feature column for three sets of boundaries and "
            "bins you had not seen, ages on the boundaries and '' included.")


EXERCISES = [
    Exercise("06", 1, "Give a Keras layer (Keras's own layers only) that encodes ages (float32, "
             "shape (N, 1)) exactly like "
             f"tf.feature_column.bucketized_column(numeric_column('age'), {BOUNDARIES}).",
             _bucketized,
             ["Section 2's bucketized_pair shows the pattern: which layer replaces "
              "bucketized_column, and which output_mode makes one 0/1 slot per bucket?",
              "keras.layers.Discretization(bin_boundaries=..., output_mode='one_hot'): four "
              "boundaries make five buckets."],
             """import keras

answer = keras.layers.Discretization(bin_boundaries=[18.0, 35.0, 50.0, 65.0],
                                     output_mode="one_hot")"""),
    Exercise("06", 2, "Give a Keras layer (Keras's own layers only) that encodes non-empty "
             "strings (shape (N, 1)) exactly like tf.feature_column.indicator_column("
             f"categorical_column_with_hash_bucket('city', {HASH_BINS})).", _hash_bucket,
             ["Section 2's hash_bucket_pair shows the pattern: no vocabulary, the bucket is a "
              "hash of the string modulo the number of buckets. Which Keras layer hashes?",
              f"keras.layers.Hashing(num_bins={HASH_BINS}, output_mode='one_hot') uses the same "
              "FarmHash64 as the feature column."],
             """import keras

answer = keras.layers.Hashing(num_bins=20, output_mode="one_hot")"""),
    Exercise("06", 3, "Write cross_layers(boundaries, num_bins): return a pair (bucket, cross) of "
             "Keras's own preprocessing layers such that cross((bucket(ages), words)), for ages "
             "(float32, shape (N, 1)) and strings words (shape (N, 1)), gives exactly what "
             "tf.feature_column.indicator_column(crossed_column([bucketized_column("
             "numeric_column('age'), boundaries), 'famhist'], hash_bucket_size=num_bins)) gives "
             "for the features {'age': ages, 'famhist': words}.", _crossed,
             ["Section 2's crossed_pair shows the pattern: the cross hashes each age's bucket "
              "*id* together with the string. Which layer gives the ids, and which one crosses "
              "and hashes?",
              "bucket = keras.layers.Discretization(bin_boundaries=boundaries) (ids: leave "
              "output_mode alone); cross = keras.layers.HashedCrossing(num_bins=num_bins, "
              "output_mode='one_hot')."],
             """import keras

def cross_layers(boundaries, num_bins):
    bucket = keras.layers.Discretization(bin_boundaries=boundaries)  # bucket ids
    cross = keras.layers.HashedCrossing(num_bins=num_bins, output_mode="one_hot")
    return bucket, cross

answer = cross_layers"""),
]


def _column_rows(rng: np.random.Generator, slots: int, n: int) -> np.ndarray:
    """Indicator-column rows for a vocabulary of ``slots - 1`` words and one OOV slot (last);
    some rows all zeros (a missing value)."""
    rows = np.zeros((n, slots), dtype=np.float32)
    hot = rng.integers(0, slots, n)
    rows[np.arange(n), hot] = 1.0
    rows[rng.random(n) < 0.2] = 0.0
    rows[0] = 0.0  # at least one missing value,
    rows[1] = 0.0
    rows[1, -1] = 1.0  # one out-of-vocabulary word
    rows[2] = 0.0
    rows[2, 0] = 1.0  # and one known word
    return rows


def _to_keras_rows(rows: np.ndarray) -> np.ndarray:
    keras_rows = np.roll(rows, 1, axis=1)
    keras_rows[rows.sum(axis=1) == 0, 0] = 1.0
    return keras_rows


_CHECKERS_ROWS = ("your function calls the checker's own lesson06._to_keras_rows, which is what "
                  "this Try it asks you to write: write it yourself")


def _keras_row(answer) -> str:
    require_callable(answer, "keras_row(row) returning a row")
    rng = np.random.default_rng()  # fresh rows on every check
    for slots in (3, 5, 8):
        rows = _column_rows(rng, slots, 12)
        with calls_of(_to_keras_rows, rule=_CHECKERS_ROWS):
            answers = [np.asarray(call(answer, row.copy()), dtype=np.float64).ravel()
                       for row in rows]
        for row, got in zip(rows, answers):
            want = _to_keras_rows(row[None])[0]  # computed once your function has returned
            if got.shape != want.shape:
                raise Failed(f"for a row of {slots} slots keras_row returned {got.size} values; "
                             f"StringLookup's row has {slots} as well (one OOV slot, first)")
            if np.array_equal(got, want):
                continue
            shown = f"for the column's row {row.astype(int).tolist()} "
            if not row.any():
                raise Failed(shown + f"StringLookup gives {want.astype(int).tolist()}: a "
                             "missing value ('') is not in the vocabulary, so Keras counts it as "
                             "OOV, where the column gives all zeros")
            if np.array_equal(got, row):
                raise Failed(shown + "you returned it unchanged; the two put the OOV slot at "
                             "opposite ends")
            if np.array_equal(got, np.roll(row, -1)):
                raise Failed(shown + "you moved the first slot to the end; the column's OOV slot "
                             "is its *last*, and Keras puts it *first*")
            raise Failed(shown + f"StringLookup gives {want.astype(int).tolist()}, yours "
                         f"{got.tolist()}")
    return "right for vocabularies of 2, 4 and 7 words, missing values included."


TRY_ITS = [
    Exercise("06", 1, "Write keras_row(row): given the one-hot row that indicator_column("
             "categorical_column_with_vocabulary_list(key, vocabulary, num_oov_buckets=1)) "
             "gives for a word (a NumPy array), return the row that StringLookup(vocabulary="
             "vocabulary, num_oov_indices=1, output_mode='one_hot') gives for the same word. A "
             "missing word ('') gives the column a row of zeros.",
             _keras_row,
             ["Section 2's famhist rows show the two conventions: where does each put the "
              "out-of-vocabulary slot, and what does each do with a missing value ('')?",
              "Move the last slot to the front (np.roll(row, 1)); a row of zeros (missing) "
              "becomes Keras's OOV row, a 1 in slot 0."],
             """import numpy as np

def keras_row(row):
    out = np.roll(row, 1)
    if not row.any():
        out[0] = 1
    return out

answer = keras_row""", try_it=True),
]
