"""Feature columns (TF1, deprecated) next to their Keras 3 preprocessing layers.

``heart_features`` turns the heart-disease table into the feature dict both sides
read. Lesson 06 writes, in its cells, each feature column next to the Keras layers
that replace it as a :class:`ColumnPair`; ``compare`` runs both and checks how their
outputs relate, and ``side_by_side`` prints them. Feature columns are evaluated with
``tf.compat.v1.feature_column.input_layer``, which still runs eagerly in TF 2.21.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

__all__ = ["NUMERIC", "FAMHIST", "RISKS", "AGE_BOUNDARIES", "DECADES", "heart_features",
           "ColumnPair", "feature_column_output", "oov_first", "compare", "side_by_side",
           "feature_space"]

fc = tf.feature_column

NUMERIC = ["sbp", "tobacco", "ldl", "adiposity", "typea", "obesity", "alcohol", "age"]
FAMHIST = ["Absent", "Present"]
RISKS = ["smoker", "drinker", "family history"]
AGE_BOUNDARIES = [30.0, 40.0, 50.0, 60.0]
DECADES = 7  # ages 0-69: decades 0 … 6


def heart_features(heart: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The heart table as model inputs, one row per patient, every feature 2-D.

    Numeric columns become float32 (N, 1); ``lipids`` stacks ldl, adiposity and
    obesity (N, 3); ``age_decade`` is age // 10 (int64); ``famhist`` stays a string;
    ``risk`` is a multi-valued string feature (smoker, drinker, family history),
    padded with "".
    """
    n = len(heart["age"])
    features = {k: heart[k].astype(np.float32).reshape(n, 1) for k in NUMERIC}
    features["lipids"] = np.stack([heart[k] for k in ("ldl", "adiposity", "obesity")],
                                  axis=1).astype(np.float32)
    features["age_decade"] = (heart["age"] // 10).astype(np.int64).reshape(n, 1)
    features["famhist"] = heart["famhist"].astype(str).reshape(n, 1)
    risk = np.full((n, 3), "", dtype=object)
    risk[heart["tobacco"] > 0, 0] = "smoker"
    risk[heart["alcohol"] > 0, 1] = "drinker"
    risk[heart["famhist"] == "Present", 2] = "family history"
    features["risk"] = risk.astype(str)
    return features


def feature_column_output(column, features: dict) -> np.ndarray:
    """What a (dense) feature column makes of ``features``, via ``input_layer``."""
    tensors = {k: tf.constant(v) for k, v in features.items()}
    return tf.compat.v1.feature_column.input_layer(tensors, [column]).numpy()


def oov_first(encoding: np.ndarray) -> np.ndarray:
    """Move the last slot (feature columns' out-of-vocabulary bucket) to the front (Keras's)."""
    return np.roll(encoding, 1, axis=-1)


@dataclass
class ColumnPair:
    """A feature column, its Keras replacement, and how their outputs relate.

    ``relation`` is "equal" (same numbers) or "oov first" (the same encoding with the
    out-of-vocabulary slot last in the feature column and first in Keras).

    Feature columns treat "" and -1 in ``missing_key`` as a missing value and encode
    it as zeros; Keras encodes them like any other value. ``missing_as`` says how:
    "oov" (exactly like an unknown value) or "hashed" (hashed like any string).
    """

    function: str
    column: object
    keras: Callable[[dict], tf.Tensor]
    relation: str
    note: str = ""
    missing_key: str | None = None
    missing_as: str = "oov"


def _missing(values: np.ndarray) -> np.ndarray:
    """Rows whose value a feature column reads as missing: "" for strings, -1 for integers."""
    flat = values[:, 0]
    return flat == "" if flat.dtype.kind in "US" else flat == -1


def compare(pair: ColumnPair, features: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Run both sides of ``pair`` on ``features``; raise AssertionError if they disagree.

    Checks ``pair.relation`` on ordinary rows and the stated behaviour on missing
    ones. Returns ``(feature column output, Keras output)``, one row per input row.
    """
    from_column = feature_column_output(pair.column, features)
    from_keras = np.asarray(pair.keras(features), dtype=np.float32)
    if from_column.shape != from_keras.shape:
        raise AssertionError(f"{pair.function}: output shapes differ: {from_column.shape} "
                             f"and {from_keras.shape}")
    expected = oov_first(from_column) if pair.relation == "oov first" else from_column.copy()
    if pair.missing_key is not None:
        missing = _missing(features[pair.missing_key])
        if not np.all(from_column[missing] == 0):
            raise AssertionError(f"{pair.function}: a missing value should encode as zeros")
        if pair.missing_as == "oov":  # Keras: exactly what an unknown value gives
            values = features[pair.missing_key]
            unknown = np.full_like(values, "<unknown>" if values.dtype.kind in "US" else 10**6)
            expected[missing] = np.asarray(pair.keras({**features, pair.missing_key: unknown}),
                                           dtype=np.float32)[missing]
        else:  # Keras hashes "" like any other string
            expected[missing] = from_keras[missing]
            if not np.all(from_keras[missing].sum(axis=-1) > 0):
                raise AssertionError(f"{pair.function}: Keras should hash a missing value")
    if not np.allclose(expected, from_keras, atol=1e-5):
        bad = int(np.sum(~np.all(np.isclose(expected, from_keras, atol=1e-5), axis=-1)))
        raise AssertionError(f"{pair.function}: the feature column and Keras disagree on "
                             f"{bad} of {len(expected)} rows (relation {pair.relation!r})")
    return from_column, from_keras


def feature_space(features: dict[str, np.ndarray],
                  ) -> tuple[keras.utils.FeatureSpace, list[ColumnPair]]:
    """The whole heart table through ``keras.utils.FeatureSpace``, and the matching columns.

    Every numeric column is ``float_normalized`` and famhist ``string_categorical``;
    the FeatureSpace is adapted on ``features``. Returns the space (``output_mode
    "dict"``: one encoding per feature; "concat" would join them) and one pair per
    feature comparing its encoding with the feature column built from the statistics
    the space learnt.
    """
    names = NUMERIC + ["famhist"]
    specs = {k: "float_normalized" for k in NUMERIC}
    specs["famhist"] = "string_categorical"
    space = keras.utils.FeatureSpace(specs, output_mode="dict")
    dataset = tf.data.Dataset.from_tensor_slices({k: features[k] for k in names}).batch(128)
    space.adapt(dataset)

    def encoded(name):
        return lambda f: space({k: f[k] for k in names})[name]

    pairs = []
    for name in NUMERIC:
        norm = space.preprocessors[name]
        m = float(np.ravel(norm.mean)[0])
        s = float(np.sqrt(np.ravel(norm.variance)[0]))
        pairs.append(ColumnPair(f"FeatureSpace {name!r}", fc.numeric_column(
            name, normalizer_fn=lambda x, m=m, s=s: (x - m) / s), encoded(name),
            "equal", "float_normalized: a Normalization adapted on the data"))
    vocabulary = space.preprocessors["famhist"].get_vocabulary()[1:]  # [0] is the OOV token
    pairs.append(ColumnPair("FeatureSpace 'famhist'", fc.indicator_column(
        fc.categorical_column_with_vocabulary_list("famhist", vocabulary, num_oov_buckets=1)),
        encoded("famhist"), "oov first",
        "string_categorical: StringLookup adapted on the data (most frequent first)",
        missing_key="famhist"))
    return space, pairs


def _row(values: np.ndarray) -> str:
    """A row of an encoding: 0/1/count slots as integers, anything else to 3 decimals."""
    values = np.asarray(values, dtype=np.float64)
    if np.all(values == np.round(values)):
        return "[" + " ".join(str(int(v)) for v in values) + "]"
    return str(np.round(values, 3).tolist())


def _value(values: np.ndarray):
    """A feature's value in a row, floats to 2 decimals: one value, or a list of them."""
    items = [round(float(v), 2) if values.dtype.kind == "f" else v.item() for v in values]
    return repr(items[0]) if len(items) == 1 else repr(items)


_RELATIONS = {"equal": "equal",
              "oov first": "equal after moving the column's last (OOV) slot to the front"}
_MISSING_AS = {"oov": "Keras the same as an unknown value",
               "hashed": "Keras hashes it like any other string"}


def side_by_side(pair: ColumnPair, rows: dict[str, np.ndarray], shown: dict[str, np.ndarray],
                 *keys: str) -> None:
    """Check ``pair`` on ``rows`` with :func:`compare`, then print both outputs on ``shown``.

    Prints how many rows are equal under the relation ("oov first" moves the column's
    last slot to the front) and the largest difference on them; then, on its own line,
    how many rows the column reads as missing and what each side makes of them (those
    are checked separately, not counted as equal); then, for each row of ``shown``, its
    values of ``keys`` and what the column and the Keras layers make of it.
    """
    if not keys:
        raise ValueError("side_by_side needs the names of the features to print")
    from_column, from_keras = compare(pair, rows)
    expected = oov_first(from_column) if pair.relation == "oov first" else from_column
    missing = (np.zeros(len(expected), bool) if pair.missing_key is None
               else _missing(rows[pair.missing_key]))
    difference = float(np.abs(expected[~missing] - from_keras[~missing]).max())
    print(f"{pair.function}: {int((~missing).sum())} rows {_RELATIONS[pair.relation]}, "
          f"{from_keras.shape[1]} outputs; largest difference "
          f"{'0' if difference == 0 else f'{difference:.0e}'}")
    if missing.any():
        count = int(missing.sum())
        print(f"  and {count} missing-value row{'s' if count > 1 else ''} "
              f"({pair.missing_key}={_value(rows[pair.missing_key][missing][0])}): "
              f"column zeros, {_MISSING_AS[pair.missing_as]}")
    column_rows, keras_rows = compare(pair, shown)
    for i, (a, b) in enumerate(zip(column_rows, keras_rows)):
        values = ", ".join(f"{k}={_value(shown[k][i])}" for k in keys)
        print(f"    {values:36s} column {_row(a)}   keras {_row(b)}")
