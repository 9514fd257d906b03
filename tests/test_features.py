"""Lesson 06's feature-column pairs (written in the notebook) and tflab.features' plumbing.

The pairs are read from the notebook's cells with ``notebook_definitions``: one copy of each.
"""

from __future__ import annotations

import math
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from tflab import data, features
from tflab.source import notebook_definitions

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "06_feature_columns.ipynb"
PAIR_FUNCTIONS = ["numeric_pair", "lipids_pair", "bucketized_pair", "identity_pair",
                  "identity_default_pair", "vocabulary_list_pair", "vocabulary_file_pair",
                  "hash_bucket_pair", "crossed_pair", "multi_valued_pair", "embedding_pair"]


@pytest.fixture(scope="module")
def notes():
    """The notebook's pair functions and embedding_size, run as the notebook defines them."""
    namespace = {"fc": tf.feature_column, "features": features, "keras": keras, "math": math,
                 "np": np, "Path": Path, "tf": tf}
    code = notebook_definitions(NOTEBOOK, "embedding_size", *PAIR_FUNCTIONS)
    exec(compile(code, str(NOTEBOOK), "exec"), namespace)
    return namespace


@pytest.fixture(scope="module")
def heart_features():
    return features.heart_features(data.heart())


@pytest.fixture(scope="module")
def pairs(notes, heart_features, tmp_path_factory):
    vocabulary_file = tmp_path_factory.mktemp("vocab") / "famhist.txt"
    made = {}
    for name in PAIR_FUNCTIONS:
        if name in ("numeric_pair", "lipids_pair"):
            made[name] = notes[name](heart_features)
        elif name == "vocabulary_file_pair":
            made[name] = notes[name](vocabulary_file)
        else:
            made[name] = notes[name]()
    return made


def unusual_rows(n: int, seed: int) -> dict[str, np.ndarray]:
    """Random rows with values outside every vocabulary and range."""
    rng = np.random.default_rng(seed)
    rows = {k: rng.uniform(-50, 300, (n, 1)).astype(np.float32) for k in features.NUMERIC}
    rows["age"] = rng.choice([-5.0, 0.0, 29.999, 30.0, 45.0, 60.0, 99.0, 150.0], (n, 1)).astype(
        np.float32)
    rows["lipids"] = rng.normal(20, 10, (n, 3)).astype(np.float32)
    rows["age_decade"] = rng.integers(-3, 12, (n, 1))
    words = np.array(["Absent", "Present", "present", "Unknown", "", "Absent "])
    rows["famhist"] = rng.choice(words, (n, 1))
    risks = np.array(["smoker", "drinker", "family history", "", "", "alien"])
    rows["risk"] = rng.choice(risks, (n, 3))
    return rows


def test_there_is_a_pair_for_each_of_the_nine_functions(pairs):
    functions = {p.function.split(",")[0] for p in pairs.values()}
    assert functions == {"numeric_column", "bucketized_column", "categorical_column_with_identity",
                         "categorical_column_with_vocabulary_list",
                         "categorical_column_with_vocabulary_file",
                         "categorical_column_with_hash_bucket", "crossed_column",
                         "indicator_column", "embedding_column"}


def test_pairs_agree_on_the_heart_data(pairs, heart_features):
    for pair in pairs.values():
        column, keras_out = features.compare(pair, heart_features)
        assert len(column) > 400, pair.function


@pytest.mark.parametrize("seed", range(3))
def test_pairs_agree_on_random_and_out_of_vocabulary_rows(pairs, seed):
    rows = unusual_rows(200, seed)
    for pair in pairs.values():
        column, keras_out = features.compare(pair, rows)
        assert len(column) > 0, pair.function
    # the OOV slot really is used: famhist words outside the vocabulary land in it
    column, keras_out = features.compare(pairs["vocabulary_list_pair"], rows)
    unknown = ~np.isin(rows["famhist"][:, 0], features.FAMHIST + [""])
    assert unknown.any() and np.all(column[unknown, -1] == 1) and np.all(keras_out[unknown, 0] == 1)
    missing = rows["famhist"][:, 0] == ""  # missing to the feature column, OOV to Keras
    assert missing.any() and np.all(column[missing] == 0) and np.all(keras_out[missing, 0] == 1)


def wrong(pair, keras_side):
    """The pair with another Keras side."""
    return features.ColumnPair(pair.function, pair.column, keras_side, pair.relation,
                               missing_key=pair.missing_key,
                               missing_as=pair.missing_as)


@pytest.mark.parametrize("name, keras_side, message", [
    ("bucketized_pair", lambda f: keras.layers.Discretization(  # boundaries shifted by one year
        bin_boundaries=[b + 1 for b in features.AGE_BOUNDARIES], output_mode="one_hot")(f["age"]),
     "disagree"),
    ("bucketized_pair", lambda f: keras.layers.Discretization(  # bucket ids, not one-hot
        bin_boundaries=features.AGE_BOUNDARIES)(f["age"]), "shapes differ"),
    ("vocabulary_list_pair", lambda f: keras.layers.StringLookup(  # no OOV slot (on words it
        vocabulary=features.FAMHIST, num_oov_indices=0, output_mode="one_hot")(  # knows: it
        f["famhist"][np.isin(f["famhist"][:, 0], features.FAMHIST)]),  # raises on others)
     "shapes differ"),
    ("vocabulary_list_pair", lambda f: keras.layers.StringLookup(  # vocabulary reversed
        vocabulary=features.FAMHIST[::-1], output_mode="one_hot")(f["famhist"]), "disagree"),
    ("hash_bucket_pair", lambda f: keras.layers.Hashing(  # another hash
        num_bins=8, salt=1, output_mode="one_hot")(f["famhist"]), "disagree"),
    ("crossed_pair", lambda f: keras.layers.HashedCrossing(  # crosses ages, not their buckets
        num_bins=16, output_mode="one_hot")((tf.cast(f["age"], tf.int64),
                                              tf.constant(f["famhist"]))), "disagree"),
    ("multi_valued_pair", lambda f: keras.layers.StringLookup(  # 0/1 instead of counts
        vocabulary=features.RISKS, mask_token="", output_mode="multi_hot")(f["risk"]),
     "disagree"),
])
def test_compare_catches_a_wrong_pairing(pairs, heart_features, name, keras_side, message):
    rows = {k: np.concatenate([heart_features[k], v]) for k, v in unusual_rows(100, 5).items()}
    with pytest.raises(AssertionError, match=message):
        features.compare(wrong(pairs[name], keras_side), rows)


def test_compare_catches_a_wrong_relation(pairs, heart_features):
    pair = pairs["vocabulary_list_pair"]
    mislabelled = features.ColumnPair(pair.function, pair.column, pair.keras, "equal",
                                      missing_key=pair.missing_key)
    with pytest.raises(AssertionError, match="disagree"):
        features.compare(mislabelled, heart_features)


def test_embedding_lookup_indices_and_shape(notes, pairs, heart_features):
    column, keras_out = features.compare(pairs["embedding_pair"], unusual_rows(50, 7))
    assert column.shape == keras_out.shape == (50, notes["embedding_size"](3))
    ids = keras.layers.StringLookup(vocabulary=features.FAMHIST)(heart_features["famhist"])
    onehot = features.feature_column_output(pairs["vocabulary_list_pair"].column, heart_features)
    assert np.array_equal(np.asarray(ids)[:, 0], (onehot.argmax(axis=1) + 1) % 3)


def test_embedding_size_rule_of_thumb(notes):
    embedding_size = notes["embedding_size"]
    assert [embedding_size(n) for n in (1, 3, 16, 17, 100, 1000, 10_000, 1_000_000)] == \
        [1, 2, 2, 3, 4, 6, 10, 32]
    with pytest.raises(ValueError, match="categories"):
        embedding_size(0)


def test_side_by_side_prints_the_rows_and_the_largest_difference(pairs, heart_features, capsys):
    odd = {k: v[:2] for k, v in unusual_rows(2, 1).items()}
    features.side_by_side(pairs["bucketized_pair"], heart_features, odd, "age")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "bucketized_column: 462 rows equal, 5 outputs; largest difference 0"
    assert len(lines) == 3 and all("column [" in line and "keras [" in line for line in lines[1:])
    with pytest.raises(ValueError, match="names of the features"):
        features.side_by_side(pairs["bucketized_pair"], heart_features, odd)


def test_side_by_side_counts_missing_values_apart(pairs, heart_features, capsys):
    """Rows a column reads as missing are not counted as equal: the printout says what they do."""
    odd = {k: v[:3] for k, v in heart_features.items()}
    odd["famhist"] = np.array([["Unknown"], [""], [""]])
    rows = {k: np.concatenate([heart_features[k], odd[k]]) for k in heart_features}
    features.side_by_side(pairs["vocabulary_list_pair"], rows, odd, "famhist")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == ("categorical_column_with_vocabulary_list: 463 rows equal after moving "
                        "the column's last (OOV) slot to the front, 3 outputs; "
                        "largest difference 0")
    assert lines[1] == ("  and 2 missing-value rows (famhist=''): column zeros, "
                        "Keras the same as an unknown value")
    assert lines[3].endswith("column [0 0 0]   keras [1 0 0]")
    features.side_by_side(pairs["hash_bucket_pair"], rows, odd, "famhist")
    assert "Keras hashes it like any other string" in capsys.readouterr().out


def test_feature_space_matches_feature_columns_on_the_whole_table(heart_features):
    space, pairs = features.feature_space(heart_features)
    assert len(pairs) == len(features.NUMERIC) + 1
    for pair in pairs:
        features.compare(pair, heart_features)
        features.compare(pair, unusual_rows(100, 3))
    encoded = space({k: heart_features[k] for k in features.NUMERIC + ["famhist"]})
    assert encoded["famhist"].shape == (462, 3)
    assert abs(float(np.mean(encoded["age"]))) < 1e-5  # normalised


def test_out_of_range_ids_encode_as_zeros_on_both_sides(pairs):
    """Neither the identity column nor CategoryEncoding rejects an id outside 0 ... n-1."""
    rows = {"age_decade": np.array([[3], [9], [-1], [-3], [100]])}
    column, keras_out = features.compare(pairs["identity_pair"], rows)
    assert column[0].sum() == 1 and keras_out[0].sum() == 1
    assert np.all(column[1:] == 0) and np.all(keras_out[1:] == 0)
