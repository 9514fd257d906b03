"""tflab.features: every feature column equals its Keras replacement, or relates as stated."""

from __future__ import annotations

import numpy as np
import pytest

from tflab import data, features


@pytest.fixture(scope="module")
def heart_features():
    return features.heart_features(data.heart())


@pytest.fixture(scope="module")
def pairs(heart_features, tmp_path_factory):
    return features.column_pairs(heart_features, tmp_path_factory.mktemp("vocab") / "famhist.txt")


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
    functions = {p.function.split(",")[0] for p in pairs}
    assert functions == {"numeric_column", "bucketized_column", "categorical_column_with_identity",
                         "categorical_column_with_vocabulary_list",
                         "categorical_column_with_vocabulary_file",
                         "categorical_column_with_hash_bucket", "crossed_column",
                         "indicator_column", "embedding_column"}


def test_pairs_agree_on_the_heart_data(pairs, heart_features):
    for pair in pairs:
        column, keras_out = features.compare(pair, heart_features)
        assert len(column) > 400, pair.function


@pytest.mark.parametrize("seed", range(3))
def test_pairs_agree_on_random_and_out_of_vocabulary_rows(pairs, seed):
    rows = unusual_rows(200, seed)
    for pair in pairs:
        column, keras_out = features.compare(pair, rows)
        assert len(column) > 0, pair.function
    # the OOV slot really is used: famhist words outside the vocabulary land in it
    onehot = [p for p in pairs if p.function == "categorical_column_with_vocabulary_list"][0]
    column, keras_out = features.compare(onehot, rows)
    unknown = ~np.isin(rows["famhist"][:, 0], features.FAMHIST + [""])
    assert unknown.any() and np.all(column[unknown, -1] == 1) and np.all(keras_out[unknown, 0] == 1)
    missing = rows["famhist"][:, 0] == ""  # missing to the feature column, OOV to Keras
    assert missing.any() and np.all(column[missing] == 0) and np.all(keras_out[missing, 0] == 1)


def test_compare_catches_a_wrong_relation(pairs, heart_features):
    pair = [p for p in pairs if p.relation == "oov first"][0]
    pair.relation = "equal"
    try:
        with pytest.raises(AssertionError, match="disagree"):
            features.compare(pair, heart_features)
    finally:
        pair.relation = "oov first"


def test_embedding_lookup_indices_and_shape(pairs, heart_features):
    import keras
    pair = [p for p in pairs if p.function == "embedding_column"][0]
    column, keras_out = features.compare(pair, unusual_rows(50, 7))
    assert column.shape == keras_out.shape == (50, features.embedding_size(3))
    ids = keras.layers.StringLookup(vocabulary=features.FAMHIST)(heart_features["famhist"])
    onehot = features.feature_column_output(pairs[5].column, heart_features)
    assert np.array_equal(np.asarray(ids)[:, 0], (onehot.argmax(axis=1) + 1) % 3)


def test_embedding_size_rule_of_thumb():
    assert [features.embedding_size(n) for n in (1, 3, 16, 17, 10_000)] == [1, 2, 2, 3, 10]
    with pytest.raises(ValueError):
        features.embedding_size(0)


def test_feature_space_matches_feature_columns_on_the_whole_table(heart_features):
    space, pairs = features.feature_space(heart_features)
    assert len(pairs) == len(features.NUMERIC) + 1
    for pair in pairs:
        features.compare(pair, heart_features)
        features.compare(pair, unusual_rows(100, 3))
    encoded = space({k: heart_features[k] for k in features.NUMERIC + ["famhist"]})
    assert encoded["famhist"].shape == (462, 3)
    assert abs(float(np.mean(encoded["age"]))) < 1e-5  # normalised
