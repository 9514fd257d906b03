"""Linear least squares: the exact answer, and gradient descent towards it.

``exact_least_squares`` solves the problem in closed form (float64);
``gradient_descent`` fits the same line iteratively with TensorFlow, the way the
original course did, and records what happened on the way; ``line_search_descent``
takes exact steps along the gradient or conjugate directions; ``stability_bound``
says from the data which learning rates make gradient descent diverge.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace

import keras
import numpy as np
import tensorflow as tf

from tflab import quiet_tensorflow

__all__ = [
    "LinearFit",
    "GDHistory",
    "DivergenceError",
    "exact_least_squares",
    "stability_bound",
    "hessian_eigenvalues",
    "epoch_map",
    "epoch_spectral_radius",
    "limit_point",
    "gradient_descent",
    "check_epoch",
    "DIVERGENCE_FACTOR",
    "RUNNING",
    "CONVERGED",
    "DIVERGED",
    "line_search_descent",
    "optimal_rate",
    "EigenvalueSchedule",
    "sweep_rates",
    "Remedy",
    "centre_and_scale_descent",
    "eigenvalue_schedule_descent",
    "remedies",
]


class DivergenceError(RuntimeError):
    """Gradient descent blew up: the loss became non-finite or grew past a limit.

    ``history`` holds the epochs recorded before it stopped (a :class:`GDHistory`).
    """

    def __init__(self, message: str, history: GDHistory | None = None):
        super().__init__(message)
        self.history = history


@dataclass(frozen=True)
class LinearFit:
    """A fitted line (or hyperplane): ``y ≈ x @ coef + intercept``.

    ``coef`` is a float for one input column and an array for several.
    """

    coef: float | np.ndarray
    intercept: float

    def predict(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        return (x * self.coef if x.ndim == 1 else x @ self.coef) + self.intercept

    def error(self, other: LinearFit) -> float:
        """Largest absolute difference between this fit's parameters and ``other``'s."""
        return float(max(np.max(np.abs(np.asarray(self.coef) - np.asarray(other.coef))),
                         abs(self.intercept - other.intercept)))


def _check_xy(x, y) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.ndim not in (1, 2):
        raise ValueError(f"x must be 1-D (one feature) or 2-D (samples, features), not {x.ndim}-D")
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D, not of shape {y.shape}")
    if len(x) == 0:
        raise ValueError("x and y are empty; need at least two samples")
    if len(x) != len(y):
        raise ValueError(f"x and y differ in length: {len(x)} vs {len(y)}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        bad = "x" if not np.all(np.isfinite(x)) else "y"
        raise ValueError(f"{bad} contains NaN or infinite values")
    return x, y


def exact_least_squares(x, y) -> LinearFit:
    """The least-squares line through ``(x, y)``, computed exactly in float64.

    For one feature this is the closed form slope = Σ(x−x̄)(y−ȳ) / Σ(x−x̄)², intercept =
    ȳ − slope·x̄. For several features (``x`` of shape (N, d)) the centred problem is
    solved with an SVD-based solver (``np.linalg.lstsq``), which stays accurate when
    the columns are nearly collinear.
    """
    x, y = _check_xy(x, y)
    x_mean, y_mean = x.mean(axis=0), y.mean()
    xc, yc = x - x_mean, y - y_mean
    if x.ndim == 1:
        sxx = float(np.dot(xc, xc))
        if sxx == 0.0:
            raise ValueError("all x values are equal: the slope is undefined")
        slope = float(np.dot(xc, yc)) / sxx
        return LinearFit(slope, float(y_mean - slope * x_mean))
    coef, *_ = np.linalg.lstsq(xc, yc, rcond=None)
    return LinearFit(coef, float(y_mean - x_mean @ coef))


def _design(x: np.ndarray) -> np.ndarray:
    """The design matrix [x, 1]: one row per sample, a column of ones for the intercept."""
    return np.column_stack([x.reshape(len(x), -1), np.ones(len(x))])


def _hessian(x: np.ndarray) -> np.ndarray:
    """Hessian of the mean squared error in (coef..., intercept): 2·E[[x xᵀ, x], [xᵀ, 1]]."""
    xa = _design(x)
    return 2.0 * xa.T @ xa / len(x)


def hessian_eigenvalues(x) -> np.ndarray:
    """Eigenvalues of the Hessian of the mean squared error, ascending."""
    return np.linalg.eigvalsh(_hessian(np.asarray(x, dtype=np.float64)))


def epoch_map(x, y, learning_rate: float,
              batch_size: int | None = 1) -> tuple[np.ndarray, np.ndarray]:
    """One epoch of plain gradient descent as an affine map of the parameters, p ↦ M·p + c.

    p holds the coefficients, then the intercept. Stack the rows a = (x, 1) of a batch in A
    (n rows); one update on that batch is p ← p − η·(2/n)·Aᵀ(A·p − y), which is
    (I − η·H_batch)·p + η·(2/n)·Aᵀy: affine in p. An epoch chains its updates, so it is
    affine too. ``batch_size=1``: 42 per-sample updates in file order, the original program's loop;
    ``None``: one full-batch update, M = I − η·H. Float64; returns (M, c).
    """
    x, y = _check_xy(x, y)
    if batch_size not in (1, None):
        raise ValueError(f"batch_size must be 1 (per sample, file order) or None (full batch), "
                         f"not {batch_size!r}")
    rows = _design(x)
    eye = np.eye(rows.shape[1])
    batches = [slice(i, i + 1) for i in range(len(rows))] if batch_size == 1 else [slice(None)]
    M, c = eye, np.zeros(rows.shape[1])
    for batch in batches:
        a, target, n = rows[batch], y[batch], len(rows[batch])
        step = eye - learning_rate * 2.0 * a.T @ a / n  # I − η·(Hessian of this batch's loss)
        M, c = step @ M, step @ c + learning_rate * 2.0 * a.T @ target / n
    return M, c


def epoch_spectral_radius(x, learning_rate: float, batch_size: int | None = None) -> float:
    """How much one epoch of gradient descent stretches the error, at worst: ρ(M).

    The error p − p* after an epoch is M times the error before it (:func:`epoch_map`), so
    the largest |eigenvalue| of M decides everything: ρ < 1 converges, ρ > 1 diverges,
    ρ close to 1 is slow. ``batch_size=None`` (the default): full batch; ``1``: per sample
    in file order. It depends on ``x`` and the rate only, not on ``y``.
    """
    x = np.asarray(x, dtype=np.float64)
    M, _ = epoch_map(x, np.zeros(len(x)), learning_rate, batch_size)
    return float(np.max(np.abs(np.linalg.eigvals(M))))


def limit_point(x, y, learning_rate: float, batch_size: int | None = 1) -> LinearFit:
    """Where plain gradient descent at a constant rate ends: the fixed point p* = M·p* + c.

    Full-batch descent (``batch_size=None``) settles on the exact answer. Per-sample
    descent in file order (``batch_size=1``, the default) settles off it: each sample pulls
    the line its own way and the last pulls of an epoch win. For small rates the offset is
    roughly proportional to the rate. Needs a rate below the stability bound.
    """
    x, y = _check_xy(x, y)
    M, c = epoch_map(x, y, learning_rate, batch_size)
    if np.max(np.abs(np.linalg.eigvals(M))) >= 1.0:
        raise ValueError(f"learning rate {learning_rate:g} is not below the stability bound; "
                         "gradient descent has no limit point there")
    p = np.linalg.solve(np.eye(len(c)) - M, c)  # p* = M·p* + c  ⇔  (I − M)·p* = c
    return LinearFit(float(p[0]) if x.ndim == 1 else p[:-1], float(p[-1]))


def stability_bound(x, batch_size: int | None = None) -> float:
    """The learning rate at which gradient descent on this data starts to diverge.

    Full batch (``batch_size=None``, the default): 2 / λ_max, λ_max the largest eigenvalue
    of the Hessian of the mean squared error; it depends on ``x`` only. Per sample in file
    order (``batch_size=1``): the smallest rate at which the epoch map's spectral radius ρ
    (:func:`epoch_spectral_radius`) exceeds 1. There is no formula for it, so it is found
    in two steps: scan a log grid of rates for the first one that diverges, then bisect
    between it and the grid point before it.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.size == 0:
        raise ValueError("x is empty")
    full = float(2.0 / hessian_eigenvalues(x).max())
    if batch_size is None:
        return full

    def diverges(rate: float) -> bool:
        return epoch_spectral_radius(x, rate, batch_size) > 1.0

    # 1. Scan: 400 rates from 10⁻⁴ × to 2 × the full-batch bound; the first that diverges.
    grid = np.geomspace(full * 1e-4, full * 2, 400)
    first = next((i for i, rate in enumerate(grid) if diverges(rate)), None)
    if first is None:  # nothing on the grid diverges: fall back to the full-batch bound
        return full
    # 2. Bisect: keep lo stable and hi diverging, halving the gap 60 times.
    lo, hi = (grid[first - 1] if first > 0 else 0.0), grid[first]
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if diverges(mid):
            hi = mid
        else:
            lo = mid
    return float(hi)


@dataclass
class GDHistory:
    """What one gradient-descent run did.

    ``losses[k]`` and ``params[k]`` (coefficients then intercept) are taken after
    epoch k+1 (one epoch = as many examples as the data holds); ``updates`` counts
    parameter updates and ``seconds`` the wall-clock time, tracing included.
    """

    fit: LinearFit
    losses: np.ndarray
    params: np.ndarray
    updates: int
    seconds: float
    learning_rate: float | None
    batch_size: int
    converged: bool = False

    @property
    def epochs(self) -> int:
        return len(self.losses)


DIVERGENCE_FACTOR = 1e6
"""gradient_descent stops a run whose loss exceeds this many times its starting loss."""

RUNNING, CONVERGED, DIVERGED = 0, 1, 2


def check_epoch(loss, params, gradient=None, *, limit, target=None, tol: float = 1e-4,
                grad_tol: float | None = None) -> tf.Tensor:
    """The rules :func:`gradient_descent` checks after every epoch: DIVERGED, CONVERGED or RUNNING.

    ``loss`` is the mean squared error on all the data, ``params`` the coefficients then the
    intercept, ``gradient`` the gradient of ``loss`` with respect to them.

    - diverged: the loss is not finite, or above ``limit`` (``DIVERGENCE_FACTOR`` times
      the loss at the starting point);
    - converged, with ``target``: every parameter within ``tol`` of it (a yardstick: it
      needs the answer);
    - converged, with ``grad_tol``: the norm of the gradient below ``grad_tol`` (needs no
      answer; since gradient = H·error, the error is at most grad_tol / λ_min).
    """
    diverged = tf.logical_not(tf.math.is_finite(loss)) | (loss > limit)
    converged = tf.constant(False)
    if target is not None:
        converged |= tf.reduce_max(tf.abs(params - target)) < tol
    if grad_tol is not None:
        if gradient is None:
            raise ValueError("check_epoch: grad_tol needs the gradient (pass gradient=...)")
        converged |= tf.norm(gradient) < grad_tol
    return tf.where(diverged, DIVERGED, tf.where(converged, CONVERGED, RUNNING))


def gradient_descent(
    x,
    y,
    *,
    learning_rate: float | None = None,
    epochs: int | None = None,
    steps: int | None = None,
    batch_size: int | None = 1,
    optimizer=None,
    shuffle: bool = False,
    seed: int = 0,
    init: tuple[float, float] = (0.0, 0.0),
    dtype: str = "float32",
    target: LinearFit | None = None,
    tol: float = 1e-4,
    grad_tol: float | None = None,
    divergence_factor: float = DIVERGENCE_FACTOR,
) -> GDHistory:
    """Fit ``y ≈ x·w + b`` by gradient descent on the squared error, in TensorFlow.

    - ``batch_size=1`` is per-sample (stochastic) gradient descent, one update per
      example, as the original TF1 program did; ``batch_size=None`` is full-batch;
      any other value takes consecutive mini-batches from the stream of examples
      (in file order, or reshuffled every epoch with ``shuffle``), so a batch may span
      two epochs, like ``next_batch`` and ``Dataset.repeat().batch()``.
    - The loss of a batch is its mean squared error.
    - ``optimizer=None`` is plain SGD, ``w ← w − learning_rate · ∂loss/∂w``; or pass any
      Keras optimizer (Adam, FTRL, SGD with a schedule, ...), which brings its own rate.
    - Run for ``epochs`` passes over the data or ``steps`` updates. After every epoch
      :func:`check_epoch` applies the stopping rules: with ``target``, every parameter
      within ``tol`` of it (needs the answer); with ``grad_tol``, the norm of the gradient
      of the loss on all the data below ``grad_tol`` (needs no answer); ``converged``
      says one of them stopped the run.
    - When the loss becomes non-finite or exceeds ``divergence_factor`` times its
      starting value, stop and raise :class:`DivergenceError`, naming the learning rate
      and the stability bound.
    """
    x, y = _check_xy(x, y)
    one_feature = x.ndim == 1
    x2 = x.reshape(len(x), -1)
    n, d = x2.shape
    if (epochs is None) == (steps is None):
        raise ValueError("give exactly one of epochs= and steps=")
    if (epochs is not None and epochs < 1) or (steps is not None and steps < 1):
        raise ValueError(f"epochs and steps must be positive, got epochs={epochs}, steps={steps}")
    if grad_tol is not None and not grad_tol > 0:
        raise ValueError(f"grad_tol must be a positive number or None, not {grad_tol!r}")
    if optimizer is None:
        if learning_rate is None or not learning_rate > 0 or not math.isfinite(learning_rate):
            raise ValueError(f"learning_rate must be a positive number, not {learning_rate!r}")
    elif learning_rate is not None:
        raise ValueError("pass learning_rate= or optimizer=, not both: a Keras optimizer "
                         "carries its own learning rate")
    batch = n if batch_size is None else int(batch_size)
    if not 1 <= batch:
        raise ValueError(f"batch_size must be a positive integer or None, not {batch_size!r}")

    per_epoch = math.ceil(n / batch)
    total = steps if steps is not None else epochs * per_epoch
    n_records = math.ceil(total / per_epoch)

    # The stream of example indices, read `batch` at a time: in file order its k-th index is
    # k mod n (computed in the loop); shuffled, a fresh permutation per epoch, stored.
    stream = None
    if shuffle:
        rng = np.random.default_rng(seed)
        stream_epochs = math.ceil(total * batch / n) + 1
        stream = np.concatenate([rng.permutation(n) for _ in range(stream_epochs)])

    tf_dtype = tf.as_dtype(dtype)
    X = tf.constant(x2, tf_dtype)
    Y = tf.constant(y, tf_dtype)
    if stream is not None:
        stream = tf.constant(stream, tf.int32)
    w = tf.Variable(tf.fill([d], tf.cast(init[0], tf_dtype)), name="w")
    b = tf.Variable(tf.cast(init[1], tf_dtype), name="b")
    if optimizer is not None:
        optimizer.build([w, b])
    lr = tf.constant(learning_rate or 0.0, tf_dtype)
    if target is not None:
        goal = tf.constant(np.append(np.ravel(target.coef), target.intercept), tf_dtype)
    else:
        goal = None
    initial_loss = float(np.mean(((x2 @ np.full(d, init[0]) + init[1]) - y) ** 2))
    limit = tf.constant(divergence_factor * max(initial_loss, 1e-12), tf_dtype)

    @tf.function
    def run():
        losses = tf.TensorArray(tf_dtype, size=n_records)
        params = tf.TensorArray(tf_dtype, size=n_records)
        status = tf.constant(RUNNING)
        done = tf.constant(0)
        for k in tf.range(n_records):  # one epoch (the last may stop short at `total`)
            first = k * per_epoch
            done = tf.minimum(first + per_epoch, total)  # updates made when this epoch ends
            for step in tf.range(first, done):
                if stream is None:
                    idx = tf.range(step * batch, step * batch + batch) % n
                else:
                    idx = stream[step * batch: step * batch + batch]
                xb, yb = tf.gather(X, idx), tf.gather(Y, idx)
                with tf.GradientTape() as tape:
                    loss = tf.reduce_mean(tf.square(yb - (tf.linalg.matvec(xb, w) + b)))
                gw, gb = tape.gradient(loss, [w, b])
                if optimizer is None:
                    w.assign_sub(lr * gw)
                    b.assign_sub(lr * gb)
                else:
                    optimizer.apply_gradients([(gw, w), (gb, b)])
            prediction = tf.linalg.matvec(X, w) + b  # on all the data
            full = tf.reduce_mean(tf.square(Y - prediction))
            theta = tf.concat([w, [b]], axis=0)
            losses = losses.write(k, full)
            params = params.write(k, theta)
            grad = None
            if grad_tol is not None:  # the gradient of the loss on all the data
                residual = prediction - Y
                grad = tf.concat([tf.linalg.matvec(X, residual, transpose_a=True),
                                  [tf.reduce_sum(residual)]], axis=0) * (2.0 / n)
            status = check_epoch(full, theta, grad, limit=limit, target=goal, tol=tol,
                                 grad_tol=grad_tol)
            if status != RUNNING:
                break
        k_done = (done - 1) // per_epoch + 1
        return (losses.gather(tf.range(k_done)), params.gather(tf.range(k_done)),
                done, status)

    # Each call builds (and traces) its own tf.function on purpose: it closes over this
    # run's variables and optimizer. Silence TensorFlow's warning about repeated tracing.
    with quiet_tensorflow():
        start = time.perf_counter()
        losses, params, done, status = run()
        seconds = time.perf_counter() - start
    losses = losses.numpy().astype(np.float64)
    params = params.numpy().astype(np.float64)
    rate = learning_rate
    if optimizer is not None:
        rate = float(np.asarray(optimizer.learning_rate))
    coef = params[-1, :d]
    fit = LinearFit(float(coef[0]) if one_feature else coef, float(params[-1, d]))
    history = GDHistory(fit=fit, losses=losses, params=params, updates=int(done),
                        seconds=seconds, learning_rate=rate, batch_size=batch,
                        converged=int(status) == CONVERGED)
    if int(status) == DIVERGED:
        bounds = f"{stability_bound(x):.3g} for full-batch gradient descent (2 / largest " \
                 "eigenvalue of the Hessian)"
        if batch == 1 and not shuffle:
            bounds = f"{stability_bound(x, 1):.3g} for per-sample updates in file order, " + bounds
        raise DivergenceError(
            f"gradient descent diverged after {int(done)} updates (epoch {len(losses)}): loss "
            f"{losses[-1]:.3g} with learning rate {rate:g}. The stability bound of this data is "
            f"{bounds}. Use a smaller learning rate, or centre and scale x.",
            history,
        )
    return history


def line_search_descent(x, y, *, method: str = "steepest", target: LinearFit | None = None,
                        tol: float = 1e-4, grad_tol: float = 1e-12,
                        max_iter: int = 100_000) -> GDHistory:
    """Full-batch descent with an exact line search on the squared error, in TensorFlow.

    The mean squared error is a quadratic, so the best step along a direction ``p`` is
    known in closed form: α = −gᵀp / pᵀHp, with g the gradient and H the Hessian.
    ``method="steepest"`` moves along −g, each step at right angles to the last (a zig-zag);
    ``method="conjugate"`` uses conjugate directions and reaches the exact answer, up to
    rounding, in as many steps as there are parameters. Float64 throughout. Stops when
    the norm of the gradient falls below ``grad_tol`` or, with ``target``, when every
    parameter is within ``tol`` of it.
    """
    if method not in ("steepest", "conjugate"):
        raise ValueError(f"method must be 'steepest' or 'conjugate', not {method!r}")
    if max_iter < 1:
        raise ValueError(f"max_iter must be positive, not {max_iter}")
    if not grad_tol > 0:
        raise ValueError(f"grad_tol must be a positive number, not {grad_tol!r}")
    x, y = _check_xy(x, y)
    one_feature = x.ndim == 1
    xa = _design(x)
    d = xa.shape[1]
    A = tf.constant(xa, tf.float64)
    Y = tf.constant(y, tf.float64)
    H = tf.constant(_hessian(x), tf.float64)
    n = tf.constant(float(len(x)), tf.float64)
    goal = tf.constant(np.append(np.ravel(target.coef), target.intercept) if target else
                       np.zeros(d), tf.float64)
    conjugate = method == "conjugate"

    def gradient(theta):
        return 2.0 * tf.linalg.matvec(A, tf.linalg.matvec(A, theta) - Y, transpose_a=True) / n

    @tf.function
    def run():
        theta = tf.zeros([d], tf.float64)
        g = gradient(theta)
        p = -g
        losses = tf.TensorArray(tf.float64, size=0, dynamic_size=True)
        params = tf.TensorArray(tf.float64, size=0, dynamic_size=True)
        k = tf.constant(0)
        converged = tf.constant(False)
        while k < max_iter and not converged:
            hp = tf.linalg.matvec(H, p)
            curvature = tf.tensordot(p, hp, 1)  # pᵀHp: the loss's curvature along p
            # The exact line search: the loss along theta + α·p is a parabola in α,
            # lowest at α = −gᵀp / pᵀHp (no step when the curvature is 0, at the answer).
            alpha = tf.where(curvature > 0, -tf.tensordot(g, p, 1) / curvature,
                             tf.constant(0.0, tf.float64))
            theta = theta + alpha * p
            g_new = gradient(theta)
            if conjugate:  # next direction: −g, bent to be H-conjugate to p (p_newᵀHp = 0)
                beta = tf.tensordot(g_new, hp, 1) / tf.where(curvature > 0, curvature, 1.0)
                p = -g_new + beta * p
            else:          # steepest descent: straight down the new gradient
                p = -g_new
            g = g_new
            losses = losses.write(k, tf.reduce_mean(tf.square(tf.linalg.matvec(A, theta) - Y)))
            params = params.write(k, theta)
            k += 1
            converged = tf.norm(g) < grad_tol
            if target is not None:
                converged = tf.logical_or(converged, tf.reduce_max(tf.abs(theta - goal)) < tol)
        return losses.stack(), params.stack(), k, converged

    start = time.perf_counter()
    losses, params, k, converged = run()
    seconds = time.perf_counter() - start
    params = params.numpy()
    coef = params[-1, :-1]
    fit = LinearFit(float(coef[0]) if one_feature else coef, float(params[-1, -1]))
    return GDHistory(fit=fit, losses=losses.numpy(), params=params, updates=int(k),
                     seconds=seconds, learning_rate=None, batch_size=len(x),
                     converged=bool(converged))


def optimal_rate(x) -> float:
    """The best constant rate for full-batch gradient descent: 2 / (λ_min + λ_max).

    λ are the eigenvalues of the Hessian of the mean squared error. At this rate the
    slowest and the fastest directions shrink by the same factor each step,
    (κ − 1) / (κ + 1) with κ = λ_max / λ_min; the rate is just below the stability
    bound 2 / λ_max when κ is large.
    """
    eig = hessian_eigenvalues(x)
    return float(2.0 / (eig[0] + eig[-1]))


class EigenvalueSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """A learning-rate schedule that cycles through 1/λ for each Hessian eigenvalue λ.

    On a quadratic, a step at rate 1/λ removes the error along that eigenvector
    exactly, so one cycle of full-batch steps (as many as there are parameters)
    lands on the least-squares answer, up to rounding: Richardson's iteration with
    the eigenvalues as nodes, the two-parameter case of a Chebyshev schedule. Large
    eigenvalues come first, so the huge rate 1/λ_min acts on an error that has no
    component left to blow up. Use it with ``keras.optimizers.SGD`` and full batches.
    """

    def __init__(self, eigenvalues):
        eig = np.sort(np.asarray(eigenvalues, dtype=np.float64))[::-1]
        if eig.size == 0 or not np.all(eig > 0):
            raise ValueError(f"eigenvalues must be positive, got {eigenvalues!r}")
        self.eigenvalues = eig

    @classmethod
    def from_data(cls, x) -> EigenvalueSchedule:
        return cls(hessian_eigenvalues(x))

    def __call__(self, step):
        rates = tf.constant(1.0 / self.eigenvalues, tf.float64)
        return tf.gather(rates, tf.cast(step, tf.int32) % len(self.eigenvalues))

    def get_config(self) -> dict:
        return {"eigenvalues": self.eigenvalues.tolist()}


def sweep_rates(x, y, rates, epochs, *, batch_size: int | None = 1, dtype: str = "float32",
                return_histories: bool = False):
    """Final parameter error against the exact answer, for each rate and epoch count.

    One gradient-descent run per rate, for ``max(epochs)`` epochs; the errors after
    each of ``epochs`` are read from its history. A run that diverges gives ``inf``
    from the epoch it diverged on. Returns ``{epoch_count: errors, one per rate}``; with
    ``return_histories``, also ``{rate: GDHistory}`` (the losses and parameters after each
    epoch; a diverged run's end with the epoch that blew up), as a second value.
    """
    epochs = sorted(int(e) for e in epochs)
    if not epochs or epochs[0] < 1:
        raise ValueError(f"epochs must be positive integers, got {epochs!r}")
    exact = exact_least_squares(x, y)
    goal = np.append(np.ravel(exact.coef), exact.intercept)
    errors = {e: np.full(len(rates), np.inf) for e in epochs}
    histories = {}
    for i, rate in enumerate(rates):
        try:
            history = gradient_descent(x, y, learning_rate=rate, epochs=epochs[-1],
                                       batch_size=batch_size, dtype=dtype)
            params = history.params
        except DivergenceError as err:
            history = err.history
            params = history.params[:-1]  # the last record is the one that blew up
        histories[rate] = history
        for e in epochs:
            if e <= len(params):
                errors[e][i] = float(np.max(np.abs(params[e - 1] - goal)))
    return (errors, histories) if return_histories else errors


@dataclass(frozen=True)
class Remedy:
    """One way of reaching the least-squares answer, and what it cost."""

    name: str
    fit: LinearFit
    updates: int
    seconds: float
    error: float


def centre_and_scale_descent(x, y, *, target: LinearFit | None = None, tol: float = 1e-4,
                             grad_tol: float | None = None, epochs: int = 1000) -> GDHistory:
    """Remedy: centre and scale x, descend on a round bowl, then map the line back to x.

    With z = (x − mean) / std, the Hessian of the loss in (w_z, b_z) is 2·I: the same
    curvature in every direction, so one full-batch step at rate 2/(2 + 2) = 0.5 lands on
    the answer. The line y = w_z·z + b_z is y = (w_z/std)·x + (b_z − w_z·mean/std) in x.
    ``target``/``tol`` and ``grad_tol`` are :func:`gradient_descent`'s stopping rules
    (``target`` in x); the history's ``params`` stay in z.
    """
    x, y = _check_xy(x, y)
    if x.ndim != 1 or np.ptp(x) == 0:
        raise ValueError("x must be 1-D and not constant to centre and scale it")
    mean, std = float(x.mean()), float(x.std())
    z = (x - mean) / std
    if target is not None:  # the same rule in z: the answer there, a tolerance that maps back
        target = LinearFit(target.coef * std, target.intercept + target.coef * mean)
        tol = tol / (1.0 + (1.0 + abs(mean)) / std)
    run = gradient_descent(z, y, learning_rate=0.5, epochs=epochs, batch_size=None,
                           dtype="float64", target=target, tol=tol, grad_tol=grad_tol)
    w, b = run.fit.coef, run.fit.intercept
    return replace(run, fit=LinearFit(w / std, b - w * mean / std))


def eigenvalue_schedule_descent(x, y, *, target: LinearFit | None = None, tol: float = 1e-4,
                                grad_tol: float | None = None, epochs: int = 1000) -> GDHistory:
    """Remedy: full-batch steps at the rates 1/λmax, 1/λmin, 1/λmax, ... in turn.

    λ are the eigenvalues of the Hessian H of the loss. Along an eigenvector of H a step
    multiplies the error by (1 − η·λ), so a step at η = 1/λ removes that component
    exactly, and one cycle (as many steps as parameters) lands on the answer. The largest
    λ comes first: when the huge rate 1/λmin is taken, the steep component it would blow
    up is already gone. :class:`EigenvalueSchedule` hands the rates to Keras's SGD.
    """
    schedule = EigenvalueSchedule.from_data(x)
    return gradient_descent(x, y, optimizer=keras.optimizers.SGD(schedule), epochs=epochs,
                            batch_size=None, dtype="float64", target=target, tol=tol,
                            grad_tol=grad_tol)


def remedies(x, y, *, tol: float = 1e-4, stop: str = "answer") -> list[Remedy]:
    """Every cure for slow gradient descent in the course, run on ``(x, y)`` (float64).

    - :func:`centre_and_scale_descent`: full batch at rate 0.5 on standardised x;
    - full-batch GD at the optimal rate 2 / (λ_min + λ_max) of the raw problem;
    - Adam (rate 0.5) on full batches;
    - :func:`eigenvalue_schedule_descent`: rates 1/λmax, 1/λmin in turn;
    - exact line search along the gradient (steepest descent) and conjugate gradients;
    - the closed form itself.

    ``stop="answer"`` runs each until all parameters are within ``tol`` of the exact
    answer (a yardstick that needs the answer); ``stop="gradient"`` until the norm of the
    gradient of the loss falls below ``tol`` (what one does without it). ``updates``
    counts parameter updates (0 for the closed form); ``seconds`` includes TensorFlow's
    tracing of the loop.
    """
    x, y = _check_xy(x, y)
    if x.ndim != 1:
        raise ValueError("remedies() is for one input column; x must be 1-D")
    if stop not in ("answer", "gradient"):
        raise ValueError(f"stop must be 'answer' or 'gradient', not {stop!r}")
    start = time.perf_counter()
    exact = exact_least_squares(x, y)
    closed_seconds = time.perf_counter() - start
    rule = dict(target=exact, tol=tol) if stop == "answer" else dict(grad_tol=tol)
    out = []

    def add(name, history):
        out.append(Remedy(name, history.fit, history.updates, history.seconds,
                          history.fit.error(exact)))

    add("centre and scale x, full batch, rate 0.5", centre_and_scale_descent(x, y, **rule))
    rate = optimal_rate(x)
    add(f"full batch, rate 2/(λmin+λmax) = {rate:.3g}",
        gradient_descent(x, y, learning_rate=rate, epochs=100_000, batch_size=None,
                         dtype="float64", **rule))
    add("Adam 0.5, full batch",
        gradient_descent(x, y, optimizer=keras.optimizers.Adam(0.5), epochs=100_000,
                         batch_size=None, dtype="float64", **rule))
    add("schedule: rates 1/λmax, 1/λmin in turn", eigenvalue_schedule_descent(x, y, **rule))
    add("exact line search, steepest descent", line_search_descent(x, y, method="steepest", **rule))
    add("exact line search, conjugate gradients",
        line_search_descent(x, y, method="conjugate", **rule))
    out.append(Remedy("closed form", exact, 0, closed_seconds, 0.0))
    return out
