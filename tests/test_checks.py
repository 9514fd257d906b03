"""tflab.checks.about: a checked number's text holds inside its band and changes outside it."""

from __future__ import annotations

import math

import pytest

from tflab.checks import about, below


@pytest.mark.parametrize("value", [0.974, 0.9743, 0.969, 0.979, 0.9745, 0.97501])
def test_inside_the_band_the_text_is_the_band(value):
    assert about(value, "0.974 ± 0.005") == "0.974 ± 0.005"


@pytest.mark.parametrize("value, shown", [(0.9689, "0.969"), (0.9791, "0.979"),
                                          (0.5, "0.500"), (1.0, "1.000")])
def test_outside_the_band_the_value_is_shown_with_the_band(value, shown):
    assert about(value, "0.974 ± 0.005") == f"{shown} (expected 0.974 ± 0.005)"


def test_the_edges_count_as_inside_despite_float_error():
    # 0.974 + 0.005 is 0.9790000000000001 in binary; a value printed as 0.979 is inside
    assert about(0.979, "0.974 ± 0.005") == "0.974 ± 0.005"
    assert about(0.969, "0.974 ± 0.005") == "0.974 ± 0.005"
    assert about(0.96899, "0.974 ± 0.005") != "0.974 ± 0.005"


def test_relative_tolerance():
    assert about(15.9, "15.3 ± 5%") == "15.3 ± 5%"
    assert about(14.6, "15.3 ± 5%") == "15.3 ± 5%"
    assert about(16.1, "15.3 ± 5%") == "16.1 (expected 15.3 ± 5%)"
    assert about(-3.1, "-3.0 ± 5%") == "-3.0 ± 5%"  # the band of a negative value


def test_digits_follow_the_expected_value():
    assert about(7.0, "3 ± 1") == "7 (expected 3 ± 1)"
    assert about(0.123456, "0.2 ± 0.01") == "0.1 (expected 0.2 ± 0.01)"


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_a_value_that_is_not_finite_is_never_inside(value):
    assert about(value, "0.974 ± 0.005").endswith("(expected 0.974 ± 0.005)")


@pytest.mark.parametrize("spec", ["0.974", "0.974 ± ", "± 0.005", "about 0.97", "0.97 ± -1",
                                  "0.97 +/- 0.01", 0.97])
def test_a_malformed_band_is_refused_with_what_was_expected(spec):
    with pytest.raises(ValueError, match=r"about\(\): expected must read like"):
        about(0.97, spec)


@pytest.mark.parametrize("x, text", [(3.2e-7, "below 1e-06"), (9.9e-7, "below 1e-06"),
                                     (1e-6, "below 1e-05"), (0.0, "below 1e-11"),
                                     (0.37, "below 1e+00"), (12.0, "below 1e+02")])
def test_below_gives_the_power_of_ten_above(x, text):
    assert below(x) == text


@pytest.mark.parametrize("x", [-1e-7, math.nan, math.inf])
def test_below_refuses_what_is_not_a_difference(x):
    with pytest.raises(ValueError, match="below"):
        below(x)
