"""tflab.solvers: the exact answer, gradient descent, divergence."""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
import pytest
import tensorflow as tf

from tflab import data, solvers

SLOPE, INTERCEPT = 1.3134560, 16.9951572


@pytest.fixture(scope="module")
def fire():
    return data.fire_theft()


def _lstsq_reference(x, y):
    xa = np.column_stack([x, np.ones(len(x))])
    sol, *_ = np.linalg.lstsq(xa, y, rcond=None)
    return sol[:-1], sol[-1]


def test_exact_reproduces_fire_theft(fire):
    fit = solvers.exact_least_squares(*fire)
    assert round(fit.coef, 7) == SLOPE and round(fit.intercept, 7) == INTERCEPT
    coef, intercept = _lstsq_reference(fire[0][:, None], fire[1])
    assert abs(fit.coef - coef[0]) < 1e-9 and abs(fit.intercept - intercept) < 1e-9


@pytest.mark.parametrize("seed", range(5))
def test_exact_matches_numpy_on_random_problems(seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(200, 5)) * rng.uniform(0.1, 10, 5) + rng.normal(size=5) * 5
    y = x @ rng.normal(size=5) + 3 + rng.normal(size=200)
    fit = solvers.exact_least_squares(x, y)
    coef, intercept = _lstsq_reference(x, y)
    np.testing.assert_allclose(fit.coef, coef, rtol=0, atol=1e-9)
    assert abs(fit.intercept - intercept) < 1e-9


@pytest.mark.parametrize("scale", [1e-3, 1e-5])
def test_exact_matches_numpy_on_ill_conditioned_problems(scale):
    rng = np.random.default_rng(1)
    base = rng.normal(size=(300, 1))
    x = np.hstack([base, base + scale * rng.normal(size=(300, 1)), rng.normal(size=(300, 1))])
    assert np.linalg.cond(np.column_stack([x, np.ones(300)])) > 1 / scale / 10
    y = x @ np.array([1.0, 2.0, -1.0]) + 0.5 + 0.01 * rng.normal(size=300)
    fit = solvers.exact_least_squares(x, y)
    coef, intercept = _lstsq_reference(x, y)
    # agreement relative to the size of the solution
    assert np.max(np.abs(fit.coef - coef)) < 1e-9 * max(1.0, np.max(np.abs(coef)))
    assert abs(fit.intercept - intercept) < 1e-9 * max(1.0, abs(intercept))


@pytest.mark.parametrize("x, y, message", [
    ([1.0, 2.0], [1.0], "differ in length"),
    ([], [], "empty"),
    ([1.0, np.nan], [1.0, 2.0], "x contains NaN"),
    ([1.0, 2.0], [1.0, np.inf], "y contains NaN"),
    ([2.0, 2.0], [1.0, 3.0], "all x values are equal"),
])
def test_exact_rejects_bad_input(x, y, message):
    with pytest.raises(ValueError, match=message):
        solvers.exact_least_squares(np.array(x), np.array(y))


def test_seed_gradient_descent_reproduces_original_numbers(fire):
    history = solvers.gradient_descent(*fire, learning_rate=0.001, epochs=100)
    assert abs(history.fit.coef - 1.71838) < 1e-4
    assert abs(history.fit.intercept - 15.7892) < 1e-4
    assert history.updates == 4200 and history.epochs == 100
    assert history.losses.shape == (100,) and history.params.shape == (100, 2)


def test_keras_sgd_gives_the_same_numbers_as_plain_sgd(fire):
    plain = solvers.gradient_descent(*fire, learning_rate=0.001, epochs=20)
    keras_sgd = solvers.gradient_descent(*fire, optimizer=keras.optimizers.SGD(0.001), epochs=20)
    assert keras_sgd.fit.error(plain.fit) < 1e-5


def test_full_batch_below_bound_converges_above_diverges(fire):
    x, y = fire
    bound = solvers.stability_bound(x)
    exact = solvers.exact_least_squares(x, y)
    below = solvers.gradient_descent(x, y, learning_rate=0.98 * bound, epochs=3000,
                                     batch_size=None, dtype="float64")
    assert np.all(np.isfinite(below.losses)) and below.fit.error(exact) < 0.05
    with pytest.raises(solvers.DivergenceError) as info:
        solvers.gradient_descent(x, y, learning_rate=1.02 * bound, epochs=3000, batch_size=None)
    message = str(info.value)
    assert f"{1.02 * bound:g}" in message and f"{bound:.3g}" in message


def test_per_sample_bound_is_where_divergence_starts(fire):
    x, y = fire
    bound = solvers.stability_bound(x, batch_size=1)
    assert bound < solvers.stability_bound(x)
    assert solvers.epoch_spectral_radius(x, 0.99 * bound, 1) < 1 < \
        solvers.epoch_spectral_radius(x, 1.01 * bound, 1)
    history = solvers.gradient_descent(x, y, learning_rate=0.9 * bound, epochs=1000)
    assert np.all(np.isfinite(history.losses))
    with pytest.raises(solvers.DivergenceError, match="per-sample updates in file order"):
        solvers.gradient_descent(x, y, learning_rate=1.15 * bound, epochs=3000)


def test_stability_bound_is_two_over_largest_hessian_eigenvalue():
    x = np.array([0.0, 1.0, 2.0, 3.0])
    h = 2 * np.array([[np.mean(x ** 2), np.mean(x)], [np.mean(x), 1.0]])
    assert solvers.stability_bound(x) == pytest.approx(2 / np.linalg.eigvalsh(h).max())


def test_target_stops_early_and_counts_updates(fire):
    x, y = fire
    exact = solvers.exact_least_squares(x, y)
    history = solvers.gradient_descent(x, y, optimizer=keras.optimizers.Adam(0.1), epochs=20000,
                                       batch_size=None, target=exact, tol=1e-4)
    assert history.converged and history.fit.error(exact) < 1e-4
    assert history.updates < 20000 and history.updates == history.epochs


def test_mini_batches_span_epochs(fire):
    x, y = fire
    history = solvers.gradient_descent(x, y, learning_rate=1e-4, steps=10, batch_size=128,
                                       shuffle=True, seed=1)
    assert history.updates == 10 and history.batch_size == 128
    assert history.epochs == 10  # each batch of 128 covers at least one 42-sample epoch


def test_mini_batches_in_file_order_wrap_around_the_data(fire):
    # 42 samples in batches of 5: batch 9 takes samples 40, 41, 0, 1, 2 (the k-th index of
    # the stream is k mod n); the same updates written out in NumPy
    x, y = fire
    history = solvers.gradient_descent(x, y, learning_rate=1e-4, steps=25, batch_size=5,
                                       dtype="float64")
    w = b = 0.0
    for step in range(25):
        idx = np.arange(step * 5, step * 5 + 5) % len(x)
        residual = y[idx] - (w * x[idx] + b)
        w, b = w + 1e-4 * 2 * np.mean(residual * x[idx]), b + 1e-4 * 2 * np.mean(residual)
    assert history.fit.coef == pytest.approx(w, abs=1e-12)
    assert history.fit.intercept == pytest.approx(b, abs=1e-12)


def test_full_batch_runs_do_not_store_an_index_per_update(fire):
    # 100,000 full-batch epochs of 42 samples: a stored index stream would be 4.2 million
    # indices (84 MB traced while the old code built it); in file order the loop computes them
    import tracemalloc

    x, y = fire
    tracemalloc.start()
    try:
        solvers.gradient_descent(x, y, learning_rate=1e-6, epochs=100_000, batch_size=None,
                                 dtype="float64", target=solvers.exact_least_squares(x, y),
                                 tol=10.0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5e6, f"{peak / 1e6:.1f} MB allocated by Python and NumPy"


def test_n_dimensional_gradient_descent(fire):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(100, 3))
    y = x @ np.array([1.0, -2.0, 0.5]) + 4.0
    history = solvers.gradient_descent(x, y, learning_rate=0.1, epochs=500, batch_size=None,
                                       dtype="float64")
    np.testing.assert_allclose(history.fit.coef, [1.0, -2.0, 0.5], atol=1e-6)
    assert history.fit.intercept == pytest.approx(4.0, abs=1e-6)


@pytest.mark.parametrize("kwargs, message", [
    (dict(learning_rate=0.0, epochs=1), "learning_rate must be a positive number"),
    (dict(learning_rate=-1e-3, epochs=1), "learning_rate must be a positive number"),
    (dict(learning_rate=None, epochs=1), "learning_rate must be a positive number"),
    (dict(learning_rate=1e-3), "exactly one of epochs= and steps="),
    (dict(learning_rate=1e-3, epochs=0), "must be positive"),
    (dict(learning_rate=1e-3, epochs=1, batch_size=0), "batch_size"),
    (dict(learning_rate=1e-3, epochs=1, optimizer=keras.optimizers.SGD(0.1)), "not both"),
])
def test_gradient_descent_rejects_bad_arguments(fire, kwargs, message):
    with pytest.raises(ValueError, match=message):
        solvers.gradient_descent(*fire, **kwargs)


def test_gradient_descent_rejects_bad_data():
    with pytest.raises(ValueError, match="differ in length"):
        solvers.gradient_descent([1.0, 2.0], [1.0], learning_rate=0.1, epochs=1)
    with pytest.raises(ValueError, match="NaN"):
        solvers.gradient_descent([1.0, np.nan], [1.0, 2.0], learning_rate=0.1, epochs=1)
    with pytest.raises(ValueError, match="empty"):
        solvers.gradient_descent([], [], learning_rate=0.1, epochs=1)


def test_conjugate_line_search_is_exact_in_two_steps(fire):
    x, y = fire
    exact = solvers.exact_least_squares(x, y)
    history = solvers.line_search_descent(x, y, method="conjugate", target=exact, tol=1e-9)
    assert history.converged and history.updates <= 3
    assert history.fit.error(exact) < 1e-9


def test_steepest_line_search_converges_monotonically(fire):
    x, y = fire
    exact = solvers.exact_least_squares(x, y)
    history = solvers.line_search_descent(x, y, target=exact, tol=1e-4)
    assert history.converged and history.fit.error(exact) < 1e-4
    conjugate = solvers.line_search_descent(x, y, method="conjugate", target=exact, tol=1e-4)
    assert history.updates > conjugate.updates  # zig-zags where conjugate directions do not
    assert np.all(np.diff(history.losses) <= 1e-9)  # an exact line search never goes uphill


def test_line_search_rejects_bad_arguments(fire):
    with pytest.raises(ValueError, match="method"):
        solvers.line_search_descent(*fire, method="newton")
    with pytest.raises(ValueError, match="max_iter"):
        solvers.line_search_descent(*fire, max_iter=0)


def test_divergence_error_carries_the_history_so_far(fire):
    with pytest.raises(solvers.DivergenceError) as info:
        solvers.gradient_descent(*fire, learning_rate=0.003, epochs=1000)
    history = info.value.history
    assert 1 < history.epochs < 1000 and history.updates == 42 * history.epochs
    assert np.all(np.isfinite(history.losses[:-1]))


def test_optimal_rate_is_just_below_the_bound_for_ill_conditioned_data(fire):
    x, _ = fire
    eig = solvers.hessian_eigenvalues(x)
    assert solvers.optimal_rate(x) == pytest.approx(2 / (eig[0] + eig[1]))
    assert 0.99 * solvers.stability_bound(x) < solvers.optimal_rate(x) < solvers.stability_bound(x)
    z = (x - x.mean()) / x.std()
    assert solvers.optimal_rate(z) == pytest.approx(0.5)  # Hessian of standardised x is 2·I


def test_eigenvalue_schedule_is_exact_after_one_cycle():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(50, 2)) * [1.0, 30.0] + [5.0, -2.0]
    y = x @ np.array([0.5, -1.5]) + 2.0 + 0.1 * rng.normal(size=50)
    exact = solvers.exact_least_squares(x, y)
    schedule = solvers.EigenvalueSchedule.from_data(x)
    history = solvers.gradient_descent(x, y, optimizer=keras.optimizers.SGD(schedule), steps=3,
                                       batch_size=None, dtype="float64")
    assert history.updates == 3 and history.fit.error(exact) < 1e-8
    assert schedule.get_config()["eigenvalues"][0] == max(schedule.eigenvalues)
    with pytest.raises(ValueError, match="positive"):
        solvers.EigenvalueSchedule([1.0, 0.0])


def test_sweep_rates_reads_errors_per_epoch_and_marks_divergence(fire):
    x, y = fire
    errors = solvers.sweep_rates(x, y, [1e-4, 0.003], epochs=[100, 10, 1000])
    assert sorted(errors) == [10, 100, 1000]
    slow = [errors[e][0] for e in (10, 100, 1000)]
    assert slow[0] > slow[1] > slow[2] > 0  # tiny rate: better with more epochs
    assert np.isfinite(errors[10][1]) and np.isinf(errors[1000][1])  # 0.003 diverges at epoch 76
    with pytest.raises(ValueError, match="epochs"):
        solvers.sweep_rates(x, y, [1e-4], epochs=[0])
    again, histories = solvers.sweep_rates(x, y, [1e-4, 0.003], epochs=[10, 100],
                                           return_histories=True)
    assert again[100][0] == errors[100][0]
    assert len(histories[1e-4].losses) == 100  # stops where it blew up:
    assert 1 < len(histories[0.003].losses) == len(histories[0.003].params) < 100
    assert np.allclose(histories[1e-4].params[-1], [histories[1e-4].fit.coef,
                                                    histories[1e-4].fit.intercept])


def test_check_epoch_applies_the_divergence_guard_first_then_the_stopping_rules():
    import tensorflow as tf

    params, goal = tf.constant([1.0, 2.0]), tf.constant([1.0, 2.00005])
    small, big = tf.constant([1e-6, 0.0]), tf.constant([1.0, 0.0])
    check = solvers.check_epoch
    assert int(check(tf.constant(5.0), params, limit=10.0)) == solvers.RUNNING
    assert int(check(tf.constant(11.0), params, limit=10.0, target=goal)) == solvers.DIVERGED
    assert int(check(tf.constant(float("nan")), params, limit=10.0)) == solvers.DIVERGED
    assert int(check(tf.constant(5.0), params, limit=10.0, target=goal)) == solvers.CONVERGED
    assert int(check(tf.constant(5.0), params, limit=10.0, target=goal, tol=1e-6)) == \
        solvers.RUNNING
    assert int(check(tf.constant(5.0), params, small, limit=10.0, grad_tol=1e-4)) == \
        solvers.CONVERGED
    assert int(check(tf.constant(5.0), params, big, limit=10.0, grad_tol=1e-4)) == solvers.RUNNING


def test_divergence_limit_is_the_factor_times_the_starting_loss(fire):
    x, y = fire
    with pytest.raises(solvers.DivergenceError) as info:
        solvers.gradient_descent(x, y, learning_rate=0.003, epochs=1000)
    losses = info.value.history.losses
    limit = solvers.DIVERGENCE_FACTOR * np.mean(y ** 2)  # the loss at the start, (0, 0)
    assert losses[-1] > limit and np.all(losses[:-1] <= limit)


# Each remedy's name (up to the rate it prints) -> the range its update count must be in.
REMEDY_UPDATES = {
    "centre and scale x, full batch, rate 0.5": (1, 1),
    "full batch, rate 2/(λmin+λmax)": (1000, 10_000),  # slow: the problem is ill-conditioned
    "Adam 0.5, full batch": (50, 1000),
    "schedule: rates 1/λmax, 1/λmin in turn": (2, 2),
    "exact line search, steepest descent": (5, 20),  # zig-zags: more than conjugate's 2
    "exact line search, conjugate gradients": (2, 2),  # exact in two steps on two parameters
    "closed form": (0, 0),
}


def check_remedy_updates(results) -> int:
    """Check every remedy's update count against REMEDY_UPDATES; return how many were checked."""
    checked = set()
    for remedy in results:
        keys = [key for key in REMEDY_UPDATES if remedy.name.startswith(key)]
        assert len(keys) == 1, f"{remedy.name!r} matches {keys} in REMEDY_UPDATES"
        low, high = REMEDY_UPDATES[keys[0]]
        assert low <= remedy.updates <= high, remedy
        checked.add(keys[0])
    return len(checked)


def test_every_remedy_reaches_the_exact_answer(fire):
    results = solvers.remedies(*fire, tol=1e-4)
    assert len(results) == 7
    for remedy in results:
        assert remedy.error < 1e-4, remedy
    assert check_remedy_updates(results) == len(REMEDY_UPDATES) == 7  # no entry left unchecked
    steepest, conjugate = results[4], results[5]
    assert steepest.name.endswith("steepest descent")
    assert conjugate.name.endswith("conjugate gradients")
    assert steepest.updates > conjugate.updates
    with pytest.raises(ValueError, match="1-D"):
        solvers.remedies(np.ones((3, 2)), np.ones(3))


def test_the_remedy_table_catches_a_wrong_update_count():
    """The table check fails when one remedy reports a wrong count (here, steepest descent
    with conjugate gradients' 2), and when a remedy is missing from the table."""
    good = [solvers.Remedy(name, None, n, 0.0, 0.0) for name, n in [
        ("centre and scale x, full batch, rate 0.5", 1),
        ("full batch, rate 2/(λmin+λmax) = 0.004", 4221),
        ("Adam 0.5, full batch", 240), ("schedule: rates 1/λmax, 1/λmin in turn", 2),
        ("exact line search, steepest descent", 10), ("exact line search, conjugate gradients", 2),
        ("closed form", 0)]]
    assert check_remedy_updates(good) == 7
    wrong = [dataclasses.replace(r, updates=2) if "steepest" in r.name else r for r in good]
    with pytest.raises(AssertionError, match="steepest descent"):
        check_remedy_updates(wrong)
    with pytest.raises(AssertionError, match="matches \\[\\]"):
        check_remedy_updates(good + [solvers.Remedy("momentum", None, 50, 0.0, 0.0)])


def test_limit_point_is_exact_for_full_batch_and_biased_per_sample(fire):
    x, y = fire
    exact = solvers.exact_least_squares(x, y)
    assert solvers.limit_point(x, y, 0.003, batch_size=None).error(exact) < 1e-9
    limit = solvers.limit_point(x, y, 1e-3)
    run = solvers.gradient_descent(x, y, learning_rate=1e-3, epochs=2000, dtype="float64")
    assert run.fit.error(limit) < 1e-9  # the long run has settled on the limit point...
    assert limit.error(exact) > 0.1  # ...which is not the exact answer
    closer, farther = solvers.limit_point(x, y, 1e-6), solvers.limit_point(x, y, 1e-5)
    assert closer.error(exact) < farther.error(exact)
    with pytest.raises(ValueError, match="stability bound"):
        solvers.limit_point(x, y, 0.003)


def test_epoch_map_is_one_epoch_of_gradient_descent(fire):
    x, y = fire
    for batch_size in (1, None):
        M, c = solvers.epoch_map(x, y, 1e-3, batch_size)
        p = np.zeros(2)
        for _ in range(5):
            p = M @ p + c
        run = solvers.gradient_descent(x, y, learning_rate=1e-3, epochs=5, batch_size=batch_size,
                                       dtype="float64")
        np.testing.assert_allclose(p, run.params[-1], rtol=0, atol=1e-9)
    M, c = solvers.epoch_map(x, y, 1e-3)
    limit = solvers.limit_point(x, y, 1e-3)
    np.testing.assert_allclose(M @ [limit.coef, limit.intercept] + c, [limit.coef, limit.intercept],
                               atol=1e-9)  # the limit point is the map's fixed point
    assert solvers.epoch_spectral_radius(x, 1e-3, 1) == pytest.approx(
        np.max(np.abs(np.linalg.eigvals(M))))
    with pytest.raises(ValueError, match="batch_size must be 1"):
        solvers.epoch_map(x, y, 1e-3, batch_size=8)
    with pytest.raises(ValueError, match="differ in length"):
        solvers.epoch_map(x, y[:-1], 1e-3)


def test_gradient_norm_stops_without_the_answer(fire):
    x, y = fire
    exact = solvers.exact_least_squares(x, y)
    run = solvers.gradient_descent(x, y, optimizer=keras.optimizers.Adam(0.5), epochs=100_000,
                                   batch_size=None, dtype="float64", grad_tol=1e-4)
    assert run.converged and run.updates < 1000
    # ∇L = H·e, so the error is at most ‖∇L‖ / λmin
    assert run.fit.error(exact) <= 1e-4 / solvers.hessian_eigenvalues(x)[0]
    with pytest.raises(ValueError, match="grad_tol"):
        solvers.gradient_descent(x, y, learning_rate=1e-3, epochs=1, grad_tol=0.0)
    line = solvers.line_search_descent(x, y, grad_tol=1e-4)
    assert line.converged and line.updates < 20


def test_the_two_remedies_shown_in_the_lesson(fire):
    x, y = fire
    exact = solvers.exact_least_squares(x, y)
    scaled = solvers.centre_and_scale_descent(x, y, grad_tol=1e-6)
    assert scaled.updates == 1 and scaled.fit.error(exact) < 1e-9
    schedule = solvers.eigenvalue_schedule_descent(x, y, grad_tol=1e-6)
    assert schedule.updates == 2 and schedule.fit.error(exact) < 1e-9
    with pytest.raises(ValueError, match="not constant"):
        solvers.centre_and_scale_descent(np.ones(5), np.arange(5.0))


def test_remedies_with_the_practical_stopping_rule(fire):
    results = solvers.remedies(*fire, tol=1e-4, stop="gradient")
    assert len(results) == 7
    bound = 1e-4 / solvers.hessian_eigenvalues(fire[0])[0]
    assert all(r.error <= bound for r in results)
    assert check_remedy_updates(results) == 7
    with pytest.raises(ValueError, match="stop must be"):
        solvers.remedies(*fire, stop="loss")


def test_check_epoch_needs_the_gradient_for_a_gradient_rule():
    with pytest.raises(ValueError, match="grad_tol needs the gradient"):
        solvers.check_epoch(tf.constant(1.0), tf.constant([0.0, 0.0]), limit=10.0, grad_tol=1e-3)
