"""Lesson 06's exercises: typical wrong answers fail with a helpful message."""

from __future__ import annotations

import keras
import pytest
import tensorflow as tf
from exercise_checks import failed_with

from tflab import exercises, features

fc = tf.feature_column
AGE_COLUMN = fc.bucketized_column(fc.numeric_column("age"), [18.0, 35.0, 50.0, 65.0])
CITY_COLUMN = fc.indicator_column(fc.categorical_column_with_hash_bucket("city", 20))


def runs_the_column(column, key):
    """Gaming: a function that runs the feature column itself."""
    return lambda x: features.feature_column_output(column, {key: x})


class ColumnLayer(keras.layers.Layer):
    """Gaming: a Layer of the learner's that runs the feature column inside."""

    def __init__(self, column, key):
        super().__init__()
        self.column, self.key = column, key

    def call(self, x):
        return tf.compat.v1.feature_column.input_layer({self.key: x}, [self.column])


def with_call(layer, column, key):
    """Gaming: one of Keras's own layers whose call is replaced by the feature column."""
    layer.call = lambda x: tf.compat.v1.feature_column.input_layer({key: x}, [column])
    return layer


def posing_as_keras(column, key):
    """Gaming: a subclass of a Keras layer, its module renamed to look like Keras's."""

    class Discretization(keras.layers.Discretization):
        def call(self, x):
            return tf.compat.v1.feature_column.input_layer({key: x}, [column])

    Discretization.__module__ = "keras.layers"
    return Discretization(bin_boundaries=[1.0])


def test_the_solutions_pass():
    for number in (1, 2, 3):
        exercise = exercises.get("06", number)
        namespace = {}
        exec(exercise.solution_code, namespace)
        status, text = exercise.judge(namespace["answer"])
        assert status == "passed", text


def test_keras_layers_in_a_sequential_pass():
    ids_then_one_hot = keras.Sequential([
        keras.layers.Discretization(bin_boundaries=[18.0, 35.0, 50.0, 65.0]),
        keras.layers.CategoryEncoding(5, output_mode="one_hot")])
    status, text = exercises.get("06", 1).judge(ids_then_one_hot)
    assert status == "passed", text


@pytest.mark.parametrize("answer, message", [
    (keras.layers.Discretization(bin_boundaries=[18.0, 35.0, 50.0, 65.0]),
     "output_mode='one_hot'"),  # bucket indices, not one-hot rows
    (keras.layers.Discretization(bin_boundaries=features.AGE_BOUNDARIES, output_mode="one_hot"),
     "for 18.0 the feature column puts a 1 in slot 1, your layer in slot 0"),  # the lesson's
    (keras.layers.Discretization(bin_boundaries=[18.0, 35.0, 50.0], output_mode="one_hot"),
     "4 boundaries make 5 buckets"),
    (keras.layers.CategoryEncoding(5, output_mode="one_hot"), "rows differ"),
    ([18.0, 35.0, 50.0, 65.0], "should be a Keras layer"),
    (runs_the_column(AGE_COLUMN, "age"), "runs the feature column itself"),  # gaming
    (keras.layers.Lambda(runs_the_column(AGE_COLUMN, "age")), "(or holds) Lambda, a layer"),
    (ColumnLayer(AGE_COLUMN, "age"), "(or holds) ColumnLayer, a layer this exercise"),
    (with_call(keras.layers.Identity(), AGE_COLUMN, "age"), "(or holds) Identity, a layer"),
    (keras.Sequential([with_call(keras.layers.Identity(), AGE_COLUMN, "age")]),
     "(or holds) Identity, a layer"),  # the same, nested in a Sequential
    (posing_as_keras(AGE_COLUMN, "age"), "(or holds) Discretization, a layer this"),
    (keras.layers.Lambda(lambda x: tf.one_hot(tf.zeros(tf.shape(x)[0], tf.int32), 5)),
     "(or holds) Lambda, a layer"),  # a constant of the right shape
    (keras.Sequential([keras.layers.Discretization(bin_boundaries=[18.0, 35.0, 50.0, 65.0]),
                       keras.layers.CategoryEncoding(4, output_mode="one_hot")]),
     "gives shape (51, 4)"),  # five bucket ids, four slots
])
def test_bucketized_wrong_answers(answer, message):
    failed_with(exercises.get("06", 1), answer, message)


@pytest.mark.parametrize("answer, message", [
    (keras.layers.Hashing(num_bins=8, output_mode="one_hot"), "one 0/1 slot per hash bucket (20)"),
    (keras.layers.Hashing(num_bins=20), "output_mode='one_hot'"),
    (keras.layers.Hashing(num_bins=20, output_mode="one_hot", salt=7),
     "for 'Paris' the feature column puts a 1 in slot"),  # another hash
    (keras.layers.StringLookup(vocabulary=["Paris", "Lima"], output_mode="one_hot"),
     "gives shape (65, 3)"),
    (keras.layers.StringLookup(max_tokens=20, output_mode="one_hot"), "raised RuntimeError"),
    (runs_the_column(CITY_COLUMN, "city"), "runs the feature column itself"),  # gaming
    (ColumnLayer(CITY_COLUMN, "city"), "(or holds) ColumnLayer, a layer this exercise"),
    (with_call(keras.layers.Identity(), CITY_COLUMN, "city"), "(or holds) Identity, a layer"),
    (keras.layers.CategoryEncoding(20, output_mode="one_hot"), "raised"),  # strings are no ids
])
def test_hash_bucket_wrong_answers(answer, message):
    failed_with(exercises.get("06", 2), answer, message)


D, H = keras.layers.Discretization, keras.layers.HashedCrossing


def column_cross(boundaries, num_bins):
    """Gaming: the crossed column itself, run on the bucket ids (ids as ages, boundaries between
    them give the same buckets, so the same cross)."""
    ids_as_ages = fc.bucketized_column(fc.numeric_column("age"),
                                       [i + 0.5 for i in range(len(boundaries))])
    column = fc.indicator_column(fc.crossed_column([ids_as_ages, "famhist"], num_bins))

    def run(inputs):
        ids, words = inputs
        return tf.compat.v1.feature_column.input_layer(
            {"age": tf.cast(ids, tf.float32), "famhist": words}, [column])

    return run


class ColumnCross(keras.layers.Layer):
    """Gaming: a Layer of the learner's that runs the crossed column."""

    def __init__(self, boundaries, num_bins):
        super().__init__()
        self.run = column_cross(boundaries, num_bins)

    def call(self, inputs):
        return self.run(inputs)


class PosingLambda(keras.layers.Lambda):
    """Gaming: a Lambda subclass whose module is renamed to look like Keras's (issue 32)."""


PosingLambda.__module__ = "keras.layers"


class PosingCrossing(keras.layers.HashedCrossing):
    """Gaming: a HashedCrossing subclass that runs the column, its module renamed."""

    def __init__(self, boundaries, num_bins):
        super().__init__(num_bins=num_bins, output_mode="one_hot")
        self.run = column_cross(boundaries, num_bins)

    def call(self, inputs):
        return self.run(inputs)


PosingCrossing.__module__ = "keras.layers"


class ColumnCell:
    """Gaming: a plain RNN cell (not a Keras layer) that could run anything (issue 32)."""

    state_size = 1

    def call(self, inputs, states):
        return inputs, states


def with_call(layer, function):
    layer.call = function
    return layer


def ids_then(cross):
    return lambda boundaries, num_bins: (D(bin_boundaries=boundaries), cross(boundaries, num_bins))


def test_cross_layers_in_other_honest_forms_pass():
    ex = exercises.get("06", 3)
    for answer in [
            lambda b, n: (keras.Sequential([D(bin_boundaries=b)]),
                          H(num_bins=n, output_mode="one_hot")),
            lambda b, n: [D(bin_boundaries=b, output_mode="int"),
                          H(num_bins=n, output_mode="one_hot")]]:
        status, text = ex.judge(answer)
        assert status == "passed", text


@pytest.mark.parametrize("answer, message", [
    # typical mistakes
    (lambda b, n: (D(bin_boundaries=b, output_mode="one_hot"),
                   H(num_bins=n, output_mode="one_hot")),
     "your bucket layer gives one-hot rows"),  # a one-hot of bucket one-hots
    (lambda b, n: (D(bin_boundaries=b), H(num_bins=n)), "ask HashedCrossing for "
                                                         "output_mode='one_hot'"),
    (lambda b, n: (D(bin_boundaries=b), H(num_bins=16, output_mode="one_hot")),
     "use num_bins"),  # the lesson's 16
    (lambda b, n: (D(bin_boundaries=features.AGE_BOUNDARIES),
                   H(num_bins=n, output_mode="one_hot")),
     "use the boundaries given"),  # the lesson's boundaries
    (lambda b, n: (H(num_bins=n, output_mode="one_hot"), D(bin_boundaries=b)),
     "return (bucket, cross)"),
    (lambda b, n: D(bin_boundaries=b), "should return a pair of layers (bucket, cross)"),
    (lambda b, n: (D(bin_boundaries=b), keras.layers.Hashing(num_bins=n, output_mode="one_hot")),
     "cross((bucket ids, strings)) failed"),  # Hashing takes one input, not a pair
    # a constant: fixed layers whatever the arguments
    (lambda b, n: (D(bin_boundaries=[50.0]), H(num_bins=16, output_mode="one_hot")),
     "use the boundaries given"),
    # gaming: the feature column run inside what poses as the cross
    (ids_then(column_cross), "the cross should be a Keras layer"),
    (ids_then(ColumnCross), "ColumnCross, a layer this exercise does not take"),
    (ids_then(lambda b, n: keras.layers.Lambda(column_cross(b, n))), "(or holds) Lambda, a layer"),
    (ids_then(lambda b, n: PosingLambda(column_cross(b, n))), "(or holds) PosingLambda, a layer"),
    (ids_then(PosingCrossing), "(or holds) PosingCrossing, a layer"),
    (ids_then(lambda b, n: with_call(H(num_bins=n, output_mode="one_hot"), column_cross(b, n))),
     "does not run Keras's own call"),
    (ids_then(lambda b, n: keras.layers.RNN(ColumnCell())), "(or holds) RNN, a layer"),
    (lambda b, n: (keras.layers.Identity(), ColumnCross(b, n)), "(or holds) Identity, a layer"),
])
def test_cross_layers_wrong_answers(answer, message):
    failed_with(exercises.get("06", 3), answer, message)


def test_cross_layers_with_a_patched_keras_class_fail():
    """Gaming: the class's own call replaced, for every HashedCrossing (then put back)."""
    original = keras.layers.HashedCrossing.call
    runs = {}

    def patched(self, inputs):
        return runs["column"](inputs)

    def answer(boundaries, num_bins):
        runs["column"] = column_cross(boundaries, num_bins)
        keras.layers.HashedCrossing.call = patched
        return D(bin_boundaries=boundaries), H(num_bins=num_bins, output_mode="one_hot")

    try:
        failed_with(exercises.get("06", 3), answer, "does not run Keras's own HashedCrossing.call")
    finally:
        keras.layers.HashedCrossing.call = original


def test_keras_row_wrong_answers():
    import numpy as np

    ex = exercises.try_it("06", 1)

    def no_missing(row):  # forgets that a missing value is OOV for Keras
        return np.roll(row, 1)

    def wrong_way(row):
        out = np.roll(row, -1)
        if not row.any():
            out[0] = 1
        return out

    failed_with(ex, no_missing, "a missing value")
    failed_with(ex, lambda row: row, "a missing value")
    failed_with(ex, lambda row: row if row.any() else np.eye(len(row))[0], "unchanged")
    failed_with(ex, wrong_way, "moved the first slot to the end")
    failed_with(ex, lambda row: np.array([1.0, 0.0, 0.0]), "for the column's row")  # constant
    failed_with(ex, lambda row: row[:-1], "returned")
    status, message = ex.judge(lambda row: np.eye(len(row))[
        0 if not row.any() else (int(np.argmax(row)) + 1) % len(row)])
    assert status == "passed", message


class ColumnRunningCell:
    """Gaming: a plain cell (not a Keras layer) whose step runs the feature column."""

    state_size = 1

    def __init__(self, column, key):
        self.run = runs_the_column(column, key)

    def call(self, inputs, states):
        return self.run(inputs), states


def posing_lambda(column, key):
    """Gaming: a Lambda subclass running the column, its module renamed to Keras's."""
    return PosingLambda(runs_the_column(column, key))


@pytest.mark.parametrize("number, column, key", [(1, AGE_COLUMN, "age"),
                                                 (2, CITY_COLUMN, "city")])
def test_encoding_layers_must_be_keras_preprocessing_layers(number, column, key):
    """Issue 32's corpus for 06.1 and 06.2: layers that pose as Keras's and run the column."""
    ex = exercises.get("06", number)
    failed_with(ex, posing_lambda(column, key), "(or holds) PosingLambda, a layer")
    failed_with(ex, keras.layers.RNN(ColumnRunningCell(column, key)), "(or holds) RNN, a layer")
    # new cheats: a Lambda inside a Sequential; a layer that is no preprocessing layer beside one
    failed_with(ex, keras.Sequential([keras.layers.Lambda(runs_the_column(column, key))]),
                "(or holds) Lambda, a layer")
    failed_with(ex, keras.Sequential([keras.layers.Identity(),
                                      keras.layers.Discretization(bin_boundaries=[1.0])]),
                "(or holds) Identity, a layer")


@pytest.mark.parametrize("number, kind, answer", [
    (1, keras.layers.Discretization,
     lambda: keras.layers.Discretization(bin_boundaries=[18.0, 35.0, 50.0, 65.0],
                                         output_mode="one_hot")),
    (2, keras.layers.Hashing, lambda: keras.layers.Hashing(num_bins=20, output_mode="one_hot"))])
def test_encoding_layers_with_a_patched_keras_class_fail(number, kind, answer):
    """New cheat: the Keras class's own call replaced by the feature column (then put back)."""
    column, key = (AGE_COLUMN, "age") if number == 1 else (CITY_COLUMN, "city")
    original = kind.call
    kind.call = lambda self, inputs: runs_the_column(column, key)(inputs)
    try:
        failed_with(exercises.get("06", number), answer(),
                    f"does not run Keras's own {kind.__name__}.call")
    finally:
        kind.call = original


def instance_backend(layer, boundaries):
    """Gaming (issue 32): Keras's own layer, its instance's ``backend`` swapped for one whose
    digitize uses other boundaries (the layer object computes them; its settings do not)."""
    import numpy as np

    class Numpy:
        def __init__(self, real):
            self.real = real

        def __getattr__(self, name):
            return getattr(self.real, name)

        def digitize(self, x, bins):
            return self.real.digitize(x, np.array(boundaries(), np.float32))

    class Backend:
        def __init__(self, real):
            self.real, self.numpy = real, Numpy(real.numpy)

        def __getattr__(self, name):
            return getattr(self.real, name)

    object.__setattr__(layer, "backend", Backend(layer.backend))
    return layer


def instance_hash(layer):
    """Gaming (issue 32): a Hashing with another salt, its instance's hashing replaced by the
    feature column's buckets."""
    import numpy as np

    def buckets(values):
        rows = features.feature_column_output(CITY_COLUMN, {"city": np.asarray(values)})
        return tf.constant(np.argmax(rows, -1)[:, None], tf.int64)

    object.__setattr__(layer, "_hash_values_to_bins", buckets)
    return layer


TAMPERED = "a fresh copy of your {}, rebuilt from its config as Keras saves and loads layers"


def test_layers_are_judged_as_rebuilt_from_their_config():
    """Issue 32: an instance attribute that replaces Keras's internals passed 06.1 and 06.2;
    the checkers judge a fresh layer rebuilt from the answer's config (and state)."""
    right = [18.0, 35.0, 50.0, 65.0]
    failed_with(exercises.get("06", 1), instance_backend(
        keras.layers.Discretization(bin_boundaries=[1.0, 2.0, 3.0, 4.0], output_mode="one_hot"),
        lambda: right), TAMPERED.format("layer"))
    failed_with(exercises.get("06", 2), instance_hash(
        keras.layers.Hashing(num_bins=20, output_mode="one_hot", salt=7)), TAMPERED.format("layer"))

    def bucket_with_a_backend(boundaries, num_bins):  # 06.3: the bucket's boundaries swapped
        bucket = instance_backend(D(bin_boundaries=[b + 1 for b in boundaries]),
                                  lambda: boundaries)
        return bucket, H(num_bins=num_bins, output_mode="one_hot")

    failed_with(exercises.get("06", 3), bucket_with_a_backend, TAMPERED.format("layers"))


def test_a_replaced_get_config_fails():
    """New cheat: a wrong layer whose instance get_config reports the right settings, so that a
    rebuild would be right where the object handed in is not."""
    wrong = keras.layers.Discretization(bin_boundaries=[1.0], output_mode="one_hot")
    config = keras.layers.Discretization(bin_boundaries=[18.0, 35.0, 50.0, 65.0],
                                         output_mode="one_hot").get_config()
    object.__setattr__(wrong, "get_config", lambda: config)
    failed_with(exercises.get("06", 1), wrong, "does not run Keras's own get_config")


def test_a_poisoned_registry_cannot_change_the_rebuilt_class():
    """New cheat: a class of the learner's registered under Keras's name, hoping the rebuild
    makes one of it: the rebuilt layer is Keras's own, with the answer's (wrong) settings."""
    registry = keras.saving.get_custom_objects()

    class Discretization(keras.layers.Discretization):
        def call(self, inputs):
            return runs_the_column(AGE_COLUMN, "age")(inputs)

    registry["Discretization"] = Discretization
    try:
        failed_with(exercises.get("06", 1),
                    keras.layers.Discretization(bin_boundaries=[1.0], output_mode="one_hot"),
                    "your layer gives shape (51, 2); the feature column gives (51, 5)")
    finally:
        registry.pop("Discretization", None)


def test_settings_changed_after_making_the_layer_count_as_its_settings():
    """A layer whose boundaries were set after it was made is judged by what its config says:
    here that is right, and a copy saved and loaded anywhere computes it, so it passes."""
    layer = keras.layers.Discretization(bin_boundaries=[1.0, 2.0, 3.0, 4.0],
                                        output_mode="one_hot")
    object.__setattr__(layer, "bin_boundaries", [18.0, 35.0, 50.0, 65.0])
    assert exercises.get("06", 1).judge(layer)[0] == "passed"


def test_a_rebuilt_layer_keeps_its_adapted_vocabulary():
    import numpy as np

    from tflab.exercises import lesson06

    words = np.array([["b"], ["a"], ["b"], ["c"]])
    adapted = keras.layers.StringLookup(output_mode="one_hot")
    adapted.adapt(words)
    fresh = lesson06._rebuilt(keras.Sequential([adapted]), "answer", "StringLookup")
    assert fresh is not adapted
    np.testing.assert_array_equal(fresh(words), adapted(words))


def test_a_replaced_feature_column_cannot_agree_with_the_answer(monkeypatch):
    """New cheats: the answer replaces a tf.feature_column function by one with its layers'
    own (wrong) bins or boundaries, so that the reference they are compared with agrees."""
    crossed, bucketized = fc.crossed_column, fc.bucketized_column
    sixteen_bins = lambda keys, hash_bucket_size, **kwargs: crossed(keys, 16, **kwargs)  # noqa: E731
    one_boundary = lambda source, boundaries: bucketized(source, [50.0])  # noqa: E731

    def cross_of_16(boundaries, num_bins):  # 06.3: replaced while the answer runs
        monkeypatch.setattr(tf.feature_column, "crossed_column", sixteen_bins)
        return D(bin_boundaries=boundaries), H(num_bins=16, output_mode="one_hot")

    failed_with(exercises.get("06", 3), cross_of_16,
                "feature_column.crossed_column")  # core.call may catch it first
    monkeypatch.setattr(tf.feature_column, "crossed_column", crossed)
    # 06.1: replaced beforehand, in the answer's cell
    monkeypatch.setattr(tf.feature_column, "bucketized_column", one_boundary)
    failed_with(exercises.get("06", 1),
                keras.layers.Discretization(bin_boundaries=[50.0], output_mode="one_hot"),
                "tf.feature_column.bucketized_column is not the one TensorFlow and the course")


def wrapped_like_keras(kind, run):
    """Gaming (issue 32 review): ``kind.call`` replaced by ``run`` dressed with functools.wraps,
    so that inspect.unwrap finds Keras's own call behind it."""
    import functools

    original = kind.call

    @functools.wraps(original)
    def call(self, inputs, *args, **kwargs):
        return run(inputs)

    kind.call = call
    return original


@pytest.mark.parametrize("number, kind, answer", [
    (1, keras.layers.Discretization,
     lambda: keras.layers.Discretization(bin_boundaries=[1.0])),
    (2, keras.layers.Hashing, lambda: keras.layers.Hashing(num_bins=3)),
    (3, keras.layers.HashedCrossing,
     lambda: lambda b, n: (D(bin_boundaries=b), H(num_bins=n, output_mode="one_hot")))])
def test_a_class_method_dressed_as_keras_fails(number, kind, answer):
    """Passed before: the checker unwrapped the class's call and found Keras's."""
    import numpy as np

    runs = {1: lambda x: runs_the_column(AGE_COLUMN, "age")(np.asarray(x)),
            2: lambda x: runs_the_column(CITY_COLUMN, "city")(np.asarray(x)),
            3: lambda x: np.zeros((len(x[0]), 1))}
    original = wrapped_like_keras(kind, runs[number])
    try:
        failed_with(exercises.get("06", number), answer(),
                    f"does not run Keras's own {kind.__name__}.call: your code replaced it")
    finally:
        kind.call = original


def test_a_base_class_method_replaced_fails():
    """New cheat: Layer.__call__ (every layer's) replaced, dressed with functools.wraps."""
    import functools

    original = keras.layers.Layer.__call__

    @functools.wraps(original)
    def __call__(self, inputs, *args, **kwargs):
        if isinstance(self, keras.layers.Discretization):
            return runs_the_column(AGE_COLUMN, "age")(inputs)
        return original(self, inputs, *args, **kwargs)

    keras.layers.Layer.__call__ = __call__
    try:
        failed_with(exercises.get("06", 1), keras.layers.Discretization(bin_boundaries=[1.0]),
                    "does not run Keras's own Layer.__call__")
    finally:
        keras.layers.Layer.__call__ = original


def test_a_method_made_to_look_like_keras_code_fails(monkeypatch):
    """New cheat: a replacement compiled under Keras's own file name and globals passes a check
    of where the code comes from; the methods recorded when the checker loaded catch it."""
    import types

    from tflab.exercises import lesson06

    monkeypatch.setattr(lesson06, "_KERAS_METHODS", lesson06._capture_methods())
    kind = keras.layers.Discretization
    original = kind.call
    source = "def call(self, inputs):\n    return RUN(inputs)\n"
    namespace = {"RUN": runs_the_column(AGE_COLUMN, "age")}
    exec(compile(source, original.__code__.co_filename, "exec"), namespace)
    kind.call = types.FunctionType(namespace["call"].__code__, namespace, "call")
    try:
        failed_with(exercises.get("06", 1), kind(bin_boundaries=[1.0]),
                    "does not run Keras's own Discretization.call")
    finally:
        kind.call = original


def test_a_sequential_of_string_layers_needs_an_input():
    """Review: this failed with 'raised UnimplementedError … Sequential.call()'; it is a right
    answer once the Sequential knows its input is strings."""
    ex = exercises.get("06", 2)
    layers = [keras.layers.Hashing(num_bins=20),
              keras.layers.CategoryEncoding(num_tokens=20, output_mode="one_hot")]
    failed_with(ex, keras.Sequential(layers),
                "your Sequential has no keras.Input of strings, so Keras turns the strings it is "
                "given into numbers before its first layer (Hashing)")
    fixed = keras.Sequential([keras.Input(shape=(1,), dtype="string"), *[
        keras.layers.Hashing(num_bins=20),
        keras.layers.CategoryEncoding(num_tokens=20, output_mode="one_hot")]])
    assert ex.judge(fixed)[0] == "passed"


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_keras_row_cannot_read_the_reference_or_call_the_checkers_own():
    """Review: both passed; the rows to compare with are computed once the answer returned,
    and the checker's own conversion is unusable while it runs."""
    import sys

    import numpy as np

    from tflab.exercises import lesson06

    def peeks(row):
        frame = sys._getframe(1)
        while frame is not None and "want" not in frame.f_locals:
            frame = frame.f_back
        return frame.f_locals["want"] if frame is not None else row

    ex = exercises.try_it("06", 1)
    failed_with(ex, peeks, "for the column's row")
    failed_with(ex, lambda row: lesson06._to_keras_rows(row[None])[0],
                "calls the checker's own lesson06._to_keras_rows")
    failed_with(ex, lambda row: lesson06._to_keras_rows(np.array([row]))[0],
                "calls the checker's own")

    def in_a_thread(row):  # new cheat: the same, from another thread
        import threading

        out = {}
        worker = threading.Thread(target=lambda: out.setdefault(
            "row", lesson06._to_keras_rows(row[None])[0]))
        worker.start()
        worker.join()
        return out.get("row", row)

    failed_with(ex, in_a_thread, "calls the checker's own lesson06._to_keras_rows")


def test_a_library_function_replaced_under_the_layer_fails(monkeypatch):
    """New cheats: a wrong layer made right by replacing what Keras runs under it, the
    backend's digitize (06.1) or tf.strings' salted hash (06.2); the functions recorded when
    the checker loaded catch it."""
    import numpy as np

    from tflab.exercises import lesson06

    monkeypatch.setattr(lesson06, "_LIBRARY_FUNCTIONS", lesson06._capture_library())
    # the cheat patches Keras's private backend; the test reaches it through the checker's
    # record instead of importing private code by name, which the course never does
    backend_numpy = next(module for module in lesson06._LIBRARY_FUNCTIONS
                         if module.__name__.endswith(".backend.tensorflow.numpy"))

    def digitize(x, bins):
        rows = runs_the_column(AGE_COLUMN, "age")(np.asarray(x))
        return tf.constant(np.argmax(rows, -1).reshape(np.shape(x)), tf.int32)

    monkeypatch.setattr(backend_numpy, "digitize", digitize)
    failed_with(exercises.get("06", 1),
                keras.layers.Discretization(bin_boundaries=[1.0, 2.0, 3.0, 4.0],
                                            output_mode="one_hot"),
                "your code replaced keras.src.backend.tensorflow.numpy.digitize, which Keras's")
    monkeypatch.undo()
    monkeypatch.setattr(lesson06, "_LIBRARY_FUNCTIONS", lesson06._capture_library())
    fast = tf.strings.to_hash_bucket_fast
    monkeypatch.setattr(tf.strings, "to_hash_bucket_strong",
                        lambda x, n, key, name=None: fast(x, n))
    failed_with(exercises.get("06", 2),
                keras.layers.Hashing(num_bins=20, output_mode="one_hot", salt=7),
                "your code replaced tf.strings.to_hash_bucket_strong")
    monkeypatch.undo()
    # new cheat: the rebuild handed back the tampered object itself
    monkeypatch.setattr(lesson06, "_LIBRARY_FUNCTIONS", lesson06._capture_library())
    tampered = instance_backend(keras.layers.Discretization(
        bin_boundaries=[1.0, 2.0, 3.0, 4.0], output_mode="one_hot"),
        lambda: [18.0, 35.0, 50.0, 65.0])
    monkeypatch.setattr(keras.saving, "deserialize_keras_object", lambda *a, **k: tampered)
    failed_with(exercises.get("06", 1), tampered,
                "your code replaced keras.saving.deserialize_keras_object")
