"""Feature columns (TF1, deprecated) next to their Keras 3 preprocessing layers.

``heart_features`` turns the heart-disease table into the feature dict both sides
read; ``column_pairs`` lists, for each of the nine feature-column functions, the
column, the Keras layers that replace it, and how their outputs relate; ``compare``
runs both and checks that relation. Feature columns are evaluated with
``tf.compat.v1.feature_column.input_layer``, which still runs eagerly in TF 2.21.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import keras
import numpy as np
import tensorflow as tf

__all__ = ["NUMERIC", "FAMHIST", "RISKS", "AGE_BOUNDARIES", "heart_features",
           "embedding_size", "ColumnPair", "column_pairs", "feature_column_output",
           "oov_first", "compare", "feature_space"]

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


def embedding_size(categories: int) -> int:
    """The notes' rule of thumb: the fourth root of the number of categories, rounded up."""
    if categories < 1:
        raise ValueError(f"need at least one category, not {categories}")
    return max(1, math.ceil(categories ** 0.25))


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
    ``in_range`` picks the rows both sides accept (None: every row).

    Feature columns treat "" and -1 in ``missing_key`` as a missing value and encode
    it as zeros; Keras encodes them like any other value. ``missing_as`` says how:
    "oov" (exactly like an unknown value) or "hashed" (hashed like any string).
    """

    function: str
    column: object
    keras: Callable[[dict], tf.Tensor]
    relation: str
    note: str
    in_range: Callable[[dict], np.ndarray] | None = None
    missing_key: str | None = None
    missing_as: str = "oov"


def column_pairs(features: dict[str, np.ndarray], vocabulary_file: str | Path,
                 seed: int = 0) -> list[ColumnPair]:
    """One pair per feature-column function, on :func:`heart_features` data.

    Normalisation statistics come from ``features``; ``vocabulary_file`` is written
    with the famhist vocabulary (one word per line); ``seed`` fills the shared
    embedding table.
    """
    Path(vocabulary_file).write_text("\n".join(FAMHIST) + "\n")
    sbp_mean, sbp_std = float(features["sbp"].mean()), float(features["sbp"].std())
    lip_mean, lip_std = features["lipids"].mean(axis=0), features["lipids"].std(axis=0)
    dim = embedding_size(len(FAMHIST) + 1)
    table = np.random.default_rng(seed).normal(size=(len(FAMHIST) + 1, dim)).astype(np.float32)

    famhist_list = fc.categorical_column_with_vocabulary_list("famhist", FAMHIST,
                                                              num_oov_buckets=1)
    age = fc.numeric_column("age")
    discretize = keras.layers.Discretization(bin_boundaries=AGE_BOUNDARIES)
    famhist_lookup = keras.layers.StringLookup(vocabulary=FAMHIST, num_oov_indices=1)
    embedding = keras.layers.Embedding(len(FAMHIST) + 1, dim,
                                       embeddings_initializer=keras.initializers.Constant(
                                           oov_first(table.T).T))

    def in_decades(f):
        return (f["age_decade"][:, 0] >= 0) & (f["age_decade"][:, 0] < DECADES)

    return [
        ColumnPair("numeric_column", fc.numeric_column(
            "sbp", normalizer_fn=lambda x: (x - sbp_mean) / sbp_std),
            lambda f: keras.layers.Normalization(mean=sbp_mean, variance=sbp_std ** 2)(f["sbp"]),
            "equal", "a numeric column with a normalizer_fn is a Normalization layer"),
        ColumnPair("numeric_column, shape (3,)", fc.numeric_column(
            "lipids", shape=(3,), normalizer_fn=lambda x: (x - lip_mean) / lip_std),
            lambda f: keras.layers.Normalization(mean=lip_mean, variance=lip_std ** 2)(
                f["lipids"]),
            "equal", "one mean and variance per component"),
        ColumnPair("bucketized_column", fc.bucketized_column(age, AGE_BOUNDARIES),
                   lambda f: keras.layers.Discretization(bin_boundaries=AGE_BOUNDARIES,
                                                         output_mode="one_hot")(f["age"]),
                   "equal", "values below the first boundary go to bucket 0, above the last "
                   "to the last bucket, on both sides"),
        ColumnPair("categorical_column_with_identity", fc.indicator_column(
            fc.categorical_column_with_identity("age_decade", DECADES)),
            lambda f: keras.layers.CategoryEncoding(DECADES, output_mode="one_hot")(
                f["age_decade"]),
            "equal", "ids already in 0 … n−1: CategoryEncoding; both reject other ids",
            in_range=in_decades),
        ColumnPair("categorical_column_with_identity, default_value", fc.indicator_column(
            fc.categorical_column_with_identity("age_decade", DECADES + 1,
                                                default_value=DECADES)),
            lambda f: keras.layers.IntegerLookup(vocabulary=list(range(DECADES)),
                                                 output_mode="one_hot")(f["age_decade"]),
            "oov first", "out-of-range ids go to a default bucket: IntegerLookup's OOV slot, "
            "which Keras puts first; -1 means 'missing' to a feature column (zeros)",
            missing_key="age_decade"),
        ColumnPair("categorical_column_with_vocabulary_list", fc.indicator_column(famhist_list),
                   lambda f: keras.layers.StringLookup(vocabulary=FAMHIST,
                                                       output_mode="one_hot")(f["famhist"]),
                   "oov first", "the OOV bucket is last in feature columns, first in Keras; "
                   "\"\" means 'missing' to a feature column (zeros), OOV to Keras",
                   missing_key="famhist"),
        ColumnPair("categorical_column_with_vocabulary_file", fc.indicator_column(
            fc.categorical_column_with_vocabulary_file("famhist", str(vocabulary_file),
                                                       num_oov_buckets=1)),
            lambda f: keras.layers.StringLookup(vocabulary=str(vocabulary_file),
                                                output_mode="one_hot")(f["famhist"]),
            "oov first", "the same, with the vocabulary read from a file",
            missing_key="famhist"),
        ColumnPair("categorical_column_with_hash_bucket", fc.indicator_column(
            fc.categorical_column_with_hash_bucket("famhist", 8)),
            lambda f: keras.layers.Hashing(num_bins=8, output_mode="one_hot")(f["famhist"]),
            "equal", "both use FarmHash64 of the string modulo the number of bins; \"\" is "
            "'missing' (zeros) to a feature column, an ordinary string to Keras",
            missing_key="famhist", missing_as="hashed"),
        ColumnPair("crossed_column", fc.indicator_column(
            fc.crossed_column([fc.bucketized_column(age, AGE_BOUNDARIES), "famhist"], 16)),
            lambda f: keras.layers.HashedCrossing(num_bins=16, output_mode="one_hot")(
                (discretize(f["age"]), tf.constant(f["famhist"]))),
            "equal", "both hash the pair (age bucket, famhist) with the same fingerprint "
            "(\"\" included: crossed columns do not treat it as missing)"),
        ColumnPair("indicator_column, multi-valued", fc.indicator_column(
            fc.categorical_column_with_vocabulary_list("risk", RISKS, num_oov_buckets=1)),
            lambda f: keras.layers.StringLookup(vocabulary=RISKS, mask_token="",
                                                output_mode="count")(f["risk"]),
            "oov first", "an indicator column counts every value in the row: output_mode "
            "'count' ('multi_hot' for 0/1); empty strings are padding on both sides"),
        ColumnPair("embedding_column", fc.embedding_column(
            famhist_list, dim, initializer=tf.constant_initializer(table)),
            lambda f: embedding(famhist_lookup(f["famhist"]))[:, 0, :],
            "equal", f"StringLookup then Embedding({len(FAMHIST) + 1}, {dim}); the same lookup "
            "up to the OOV slot, so the Keras table is the feature column's with its last row "
            "moved first; a missing \"\" embeds as zeros in a feature column, as OOV in Keras",
            missing_key="famhist"),
    ]


def _missing(values: np.ndarray) -> np.ndarray:
    """Rows whose value a feature column reads as missing: "" for strings, -1 for integers."""
    flat = values[:, 0]
    return flat == "" if flat.dtype.kind in "US" else flat == -1


def compare(pair: ColumnPair, features: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Run both sides of ``pair`` on ``features``; raise AssertionError if they disagree.

    Checks ``pair.relation`` on ordinary rows and the stated behaviour on missing
    ones. Returns ``(feature column output, Keras output)`` for the rows both accept.
    """
    if pair.in_range is not None:
        keep = pair.in_range(features)
        features = {k: v[keep] for k, v in features.items()}
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


def feature_space(features: dict[str, np.ndarray]) -> tuple[keras.utils.FeatureSpace, list[ColumnPair]]:
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
