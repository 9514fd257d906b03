"""Lesson 01's exercises: typical wrong answers fail with a helpful message."""

from __future__ import annotations

import sys
import threading

import numpy as np
import tensorflow as tf
from exercise_checks import caller_value, failed_with

from tflab import data, exercises, solvers


def test_exact_wrong_answers():
    ex = exercises.get("01", 1)
    x, y = data.fire_theft()
    few = x < 13
    exact = solvers.exact_least_squares(x[few], y[few])
    assert ex.judge((exact.coef, exact.intercept))[0] == "passed"
    failed_with(ex, (exact.intercept, exact.coef), "wrong way round")
    failed_with(ex, tuple(np.polyfit(y[few], x[few], 1)), "predicts fires from thefts")
    everything = solvers.exact_least_squares(x, y)  # section 4's line, printed in the lesson
    failed_with(ex, (everything.coef, everything.intercept), "all 42 areas")
    two = (x > 30) & (y > 60)
    failed_with(ex, tuple(np.polyfit(x[~two], y[~two], 1)), "without the two outlying")
    failed_with(ex, tuple(np.polyfit(x[~few], y[~few], 1)), "13 fires or more")
    failed_with(ex, (round(exact.coef, 2), round(exact.intercept, 2)),
                "away from the least-squares answer")
    failed_with(ex, exact.coef, "should be a pair")


def test_gradient_wrong_answers():
    ex = exercises.get("01", 2)

    def residual(w, b, x, y):
        return w * x + b - y

    failed_with(ex, lambda w, b, x, y: (np.mean(residual(w, b, x, y) * x),
                                        np.mean(residual(w, b, x, y))), "half the right size")
    failed_with(ex, lambda w, b, x, y: (-2 * np.mean(residual(w, b, x, y) * x),
                                        -2 * np.mean(residual(w, b, x, y))), "signs are flipped")
    failed_with(ex, lambda w, b, x, y: (2 * np.sum(residual(w, b, x, y) * x),
                                        2 * np.sum(residual(w, b, x, y))), "summed error")
    # gaming: one sample's gradient (section 3's formula) instead of the mean over all samples
    failed_with(ex, lambda w, b, x, y: (2 * residual(w, b, x, y)[0] * x[0],
                                        2 * residual(w, b, x, y)[0]), "the gradient is")
    failed_with(ex, lambda w, b, x, y: (0.0, 0.0), "the gradient is")  # gaming: a constant


def test_gradient_reads_want_from_the_checker():
    failed_with(exercises.get("01", 2), lambda w, b, x, y: caller_value("want", (0.0, 0.0)),
                "the gradient is")


def test_gradient_by_epoch_map():
    def by_epoch_map(w, b, x, y):
        M, c = solvers.epoch_map(x, y, 1.0, batch_size=None)
        p = np.array([w, b])
        return tuple(p - (M @ p + c))

    failed_with(exercises.get("01", 2), by_epoch_map,
                "your function calls solvers.epoch_map, the course's own descent step")


_BY_HAND = "this exercise asks for the gradient by hand"


def test_gradient_by_the_course_descent():
    """Issue 32: one step of solvers.gradient_descent at rate 1 moves by the gradient."""
    def one_step(w, b, x, y):
        fit = solvers.gradient_descent(x, y, learning_rate=1.0, steps=1, batch_size=None,
                                       init=(w, b), dtype="float64").fit
        return w - fit.coef, b - fit.intercept

    failed_with(exercises.get("01", 2), one_step,
                "your function calls solvers.gradient_descent, the course's own descent")


def test_gradient_by_finite_differences():
    """An estimate from nearby losses: right near the data, off where the loss is large."""
    def central(w, b, x, y, step=1e-6):
        def loss(w, b):
            return np.mean((w * x + b - y) ** 2)

        return ((loss(w + step, b) - loss(w - step, b)) / (2 * step),
                (loss(w, b + step) - loss(w, b - step)) / (2 * step))

    ex = exercises.get("01", 2)
    failed_with(ex, central, "at w = 1e+08, b = -5e+07, far from the data's line, your gradient "
                "is off by")
    failed_with(ex, lambda w, b, x, y: central(w, b, x, y, 1e-3), "(finite differences)")

    def in_float32(w, b, x, y):  # the formula, exact enough in single precision
        w, b, x, y = (np.float32(v) for v in (w, b, x, y))
        r = w * x + b - y
        return 2 * np.mean(r * x), 2 * np.mean(r)

    assert ex.judge(in_float32)[0] == "passed"


def _mse(w, b, x, y):
    return tf.reduce_mean(tf.square(w * x + b - y))


def test_gradient_by_automatic_differentiation():
    """Issue 32: TensorFlow works the derivative out, by any of its ways, in any thread."""
    ex = exercises.get("01", 2)

    def by_tape(w, b, x, y):
        w, b = tf.Variable(w, dtype=tf.float64), tf.Variable(b, dtype=tf.float64)
        with tf.GradientTape() as tape:
            loss = _mse(w, b, x, y)
        return [float(g) for g in tape.gradient(loss, [w, b])]

    def by_jacobian(w, b, x, y):
        wb = tf.Variable([w, b], dtype=tf.float64)
        with tf.GradientTape() as tape:
            loss = _mse(wb[0], wb[1], x, y)
        return tuple(tape.jacobian(loss, wb).numpy())

    def by_tf_gradients(w, b, x, y):  # graph mode's tf.gradients, inside a tf.function
        @tf.function
        def gradient(w, b):
            return tf.gradients(_mse(w, b, x, y), [w, b])

        return [float(g) for g in gradient(tf.constant(w, tf.float64),
                                           tf.constant(b, tf.float64))]

    def by_forward_mode(w, b, x, y):
        out = []
        for tangent in ([1.0, 0.0], [0.0, 1.0]):
            primals = [tf.constant(w, tf.float64), tf.constant(b, tf.float64)]
            tangents = [tf.constant(t, tf.float64) for t in tangent]
            with tf.autodiff.ForwardAccumulator(primals, tangents) as acc:
                loss = _mse(*primals, x, y)
            out.append(float(acc.jvp(loss)))
        return tuple(out)

    def in_a_thread(w, b, x, y):
        out = []

        def run():
            try:
                out.append(by_tape(w, b, x, y))
            except Exception:  # the stub's error, swallowed
                pass

        thread = threading.Thread(target=run)
        thread.start()
        thread.join()
        return out[0] if out else (0.0, 0.0)

    failed_with(ex, by_tape, f"your function calls tape.gradient, TensorFlow's automatic "
                f"differentiation, which works the derivative out for you: {_BY_HAND}")
    failed_with(ex, by_jacobian, "calls tape.jacobian")
    failed_with(ex, by_tf_gradients, "calls tf.gradients")
    failed_with(ex, by_forward_mode, "calls tf.autodiff.ForwardAccumulator")
    failed_with(ex, in_a_thread, _BY_HAND)


def test_tf_least_squares_wrong_answers():
    ex = exercises.get("01", 3)
    failed_with(ex, lambda x, y: tuple(np.polyfit(x, y, 1)), "use TensorFlow ops only")

    def swapped(x, y):  # regresses x on y
        dx, dy = x - tf.reduce_mean(x), y - tf.reduce_mean(y)
        slope = tf.reduce_sum(dx * dy) / tf.reduce_sum(dy * dy)
        return slope, tf.reduce_mean(x) - slope * tf.reduce_mean(y)

    failed_with(ex, swapped, "the least-squares line is")

    def numpy_wrapped(x, y):  # gaming: NumPy's polyfit run inside the graph by tf.py_function
        return tf.py_function(lambda a, b: tuple(np.polyfit(a.numpy(), b.numpy(), 1)), [x, y],
                              [tf.float64, tf.float64])

    def numpy_function(x, y):  # the same with tf.numpy_function
        return tf.numpy_function(lambda a, b: tuple(np.polyfit(a, b, 1)), [x, y],
                                 [tf.float64, tf.float64])

    failed_with(ex, numpy_wrapped, "runs Python inside (EagerPyFunc")
    failed_with(ex, numpy_function, "runs Python inside (PyFunc")

    @tf.function
    def nested(x, y):  # gaming: the same hidden in a tf.function called inside the graph
        return tf.numpy_function(lambda a, b: tuple(np.polyfit(a, b, 1)), [x, y],
                                 [tf.float64, tf.float64])

    failed_with(ex, nested, "runs Python inside (PyFunc")
    # gaming: a constant, the slope and intercept of the toy data's generator
    failed_with(ex, lambda x, y: (tf.constant(-2.5, tf.float64), tf.constant(4.0, tf.float64)),
                "the least-squares line is")


def test_tf_least_squares_calls_the_course_graph():
    from tflab import graphs

    made_before = graphs.least_squares_function()  # in a cell above: the factory ran already
    failed_with(exercises.get("01", 3), lambda x, y: made_before(x, y),
                "calls graphs.least_squares_function")
    failed_with(exercises.get("01", 3), lambda x, y: graphs.least_squares_function()(x, y),
                "calls graphs.least_squares_function")
    inner = made_before.python_function  # its Python, run inline in the learner's graph
    failed_with(exercises.get("01", 3), lambda x, y: inner(x, y),
                "calls graphs.least_squares_function")


def test_tape_descent_copy_of_the_library_made_beforehand():
    import types

    copy = types.FunctionType(solvers.gradient_descent.__code__,
                              solvers.gradient_descent.__globals__, "gd",
                              solvers.gradient_descent.__defaults__)
    copy.__kwdefaults__ = solvers.gradient_descent.__kwdefaults__

    def by_copy(x, y, learning_rate, epochs):
        fit = copy(x, y, learning_rate=learning_rate, epochs=epochs, batch_size=None,
                   dtype="float64").fit
        return fit.coef, fit.intercept

    failed_with(exercises.get("01", 4), by_copy, "train calls solvers.gradient_descent")


def descend(x, y, learning_rate, epochs):
    """Full-batch gradient descent on the mean squared error from w = b = 0, with a tape."""
    w, b = tf.Variable(0.0, dtype=tf.float64), tf.Variable(0.0, dtype=tf.float64)
    for _ in range(epochs):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(w * x + b - y))
        dw, db = tape.gradient(loss, [w, b])
        w.assign_sub(learning_rate * dw)
        b.assign_sub(learning_rate * db)
    return float(w), float(b)


def numpy_descent(x, y, learning_rate, epochs):
    """The same in NumPy, without a tape."""
    w = b = 0.0
    for _ in range(epochs):
        r = w * x + b - y
        w, b = w - learning_rate * 2 * np.mean(r * x), b - learning_rate * 2 * np.mean(r)
    return w, b



def test_tape_descent_wrong_answers():
    ex = exercises.get("01", 4)

    def closed_form(x, y, learning_rate, epochs):
        fit = solvers.exact_least_squares(x, y)
        return fit.coef, fit.intercept

    def one_step_short(x, y, learning_rate, epochs):
        return descend(x, y, learning_rate, epochs - 1)

    def twenty_epochs(x, y, learning_rate, epochs):  # gaming: ignores epochs
        return descend(x, y, learning_rate, 20)

    def library(x, y, learning_rate, epochs):  # gaming: the library's descent, called
        run = solvers.gradient_descent(x, y, learning_rate=learning_rate, epochs=epochs,
                                       batch_size=None, dtype="float64")
        return run.fit.coef, run.fit.intercept

    from tflab.solvers import gradient_descent

    def library_by_name(x, y, learning_rate, epochs):  # the same, imported under its name
        run = gradient_descent(x, y, learning_rate=learning_rate, epochs=epochs,
                               batch_size=None, dtype="float64")
        return run.fit.coef, run.fit.intercept

    failed_with(ex, closed_form, "not a closed form")
    failed_with(ex, one_step_short, "gradient descent is at")
    failed_with(ex, twenty_epochs, "after 7 full-batch steps at rate 0.01")
    failed_with(ex, library, "calls solvers.gradient_descent, which does the exercise")
    failed_with(ex, library_by_name, "calls solvers.gradient_descent, which does the exercise")
    assert ex.judge(descend)[0] == "passed"


def test_tape_descent_numpy_loop_without_a_tape():
    failed_with(exercises.get("01", 4), numpy_descent,
                "your loop never asked GradientTape for a gradient")


def test_tape_descent_token_tape_call_then_numpy():
    def token(x, y, learning_rate, epochs):  # asks the tape once, then steps with NumPy
        w = tf.Variable(0.0, dtype=tf.float64)
        with tf.GradientTape() as tape:
            loss = w * w
        tape.gradient(loss, w)
        return numpy_descent(x, y, learning_rate, epochs)

    failed_with(exercises.get("01", 4), token,
                "the loss you hand tape.gradient is 0, which is not the mean squared error")


_NOT_THE_TAPES = ("your loop asks GradientTape for a gradient but does not step with the "
                  "gradient it gives for the mean squared error")


def test_tape_descent_dummy_tape_that_measures_the_checker():
    """Issue 32: a tape asked about v·v at v = 1 shows how the checker changes its gradients;
    a NumPy loop then scaled the same way passed."""
    def dummy(x, y, learning_rate, epochs):
        v = tf.Variable(1.0, dtype=tf.float64)
        with tf.GradientTape() as tape:
            loss = v * v
        scale = float(tape.gradient(loss, v)) / 2
        return numpy_descent(x, y, scale * learning_rate, epochs)

    failed_with(exercises.get("01", 4), dummy, "the loss you hand tape.gradient is 1, which is "
                "not the mean squared error of w·x + b on the data at any step (at w = b = 0 it "
                "is 42.0992)")


def test_tape_descent_dummy_targets_that_pass_the_value_check():
    ex = exercises.get("01", 4)

    def same_value(x, y, learning_rate, epochs):  # a target worth the MSE, with gradient 2
        w = b = 0.0
        for _ in range(epochs):
            r = w * x + b - y
            v = tf.Variable(1.0, dtype=tf.float64)
            with tf.GradientTape() as tape:
                loss = (np.mean(r * r) - 1) + v * v
            scale = float(tape.gradient(loss, v)) / 2
            w, b = w - learning_rate * scale * 2 * np.mean(r * x), \
                b - learning_rate * scale * 2 * np.mean(r)
        return w, b

    def in_a_graph(x, y, learning_rate, epochs):  # v·v asked inside a tf.function
        @tf.function
        def probe(v):
            with tf.GradientTape() as tape:
                tape.watch(v)
                loss = v * v
            return tape.gradient(loss, v)

        scale = float(probe(tf.constant(1.0, tf.float64))) / 2
        return numpy_descent(x, y, scale * learning_rate, epochs)

    def asks_but_ignores(x, y, learning_rate, epochs):  # the MSE's gradient, then NumPy's
        w = b = 0.0
        for _ in range(epochs):
            wv, bv = tf.Variable(w, dtype=tf.float64), tf.Variable(b, dtype=tf.float64)
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.square(wv * x + bv - y))
            tape.gradient(loss, [wv, bv])
            r = w * x + b - y
            w, b = w - learning_rate * 2 * np.mean(r * x), b - learning_rate * 2 * np.mean(r)
        return w, b

    failed_with(ex, same_value, _NOT_THE_TAPES)
    failed_with(ex, in_a_graph, _NOT_THE_TAPES)
    failed_with(ex, asks_but_ignores, _NOT_THE_TAPES)


def test_tape_descent_on_the_summed_error():
    """Descent on the sum at rate/n takes the same steps, but the tape is not asked about the
    MSE that the exercise names."""
    def summed(x, y, learning_rate, epochs):
        w, b = tf.Variable(0.0, dtype=tf.float64), tf.Variable(0.0, dtype=tf.float64)
        for _ in range(epochs):
            with tf.GradientTape() as tape:
                loss = tf.reduce_sum(tf.square(w * x + b - y))
            dw, db = tape.gradient(loss, [w, b])
            w.assign_sub(learning_rate * dw / len(x))
            b.assign_sub(learning_rate * db / len(x))
        return float(w), float(b)

    failed_with(exercises.get("01", 4), summed, "which is not the mean squared error")


def _dense(learning_rate):
    import keras

    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(
        1, kernel_initializer="zeros", dtype="float64")])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate), loss="mse")
    return model


def _weights(model):
    kernel, bias = model.layers[0].get_weights()
    return float(kernel[0, 0]), float(bias[0])


def test_tape_descent_by_keras_training():
    """Issue 32: Keras's fit runs the loop (and asks a tape) for the learner."""
    import keras

    def by_fit(x, y, learning_rate, epochs):
        model = _dense(learning_rate)
        model.fit(x.reshape(-1, 1), y, batch_size=len(x), epochs=epochs, shuffle=False,
                  verbose=0)
        return _weights(model)

    def by_unwrapped_fit(x, y, learning_rate, epochs):  # past Keras's wrapper
        model = _dense(learning_rate)
        keras.Model.fit.__wrapped__(model, x.reshape(-1, 1), y, batch_size=len(x),
                                    epochs=epochs, shuffle=False, verbose=0)
        return _weights(model)

    def by_train_on_batch(x, y, learning_rate, epochs):
        model = _dense(learning_rate)
        for _ in range(epochs):
            model.train_on_batch(x.reshape(-1, 1), y)
        return _weights(model)

    ex = exercises.get("01", 4)
    failed_with(ex, by_fit, "train calls Keras's model.fit, which runs the training loop for "
                "you: write the loop yourself, with tf.GradientTape")
    failed_with(ex, by_unwrapped_fit, "train calls Keras's model.fit")
    failed_with(ex, by_train_on_batch, "train calls Keras's model.train_on_batch")


def test_tape_descent_right_answers_written_other_ways():
    import keras

    def in_a_tf_function(x, y, learning_rate, epochs):
        w, b = tf.Variable(0.0, dtype=tf.float64), tf.Variable(0.0, dtype=tf.float64)

        @tf.function
        def step():
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.square(w * x + b - y))
            dw, db = tape.gradient(loss, [w, b])
            w.assign_sub(learning_rate * dw)
            b.assign_sub(learning_rate * db)

        for _ in range(epochs):
            step()
        return float(w), float(b)

    def float32_vector_and_optimizer(x, y, learning_rate, epochs):
        theta = tf.Variable([0.0, 0.0])
        x, y = x.astype(np.float32), y.astype(np.float32)
        optimizer = keras.optimizers.SGD(learning_rate)
        for _ in range(epochs):
            with tf.GradientTape() as tape:
                loss = keras.losses.MeanSquaredError()(y, theta[0] * x + theta[1])
            optimizer.apply_gradients([(tape.gradient(loss, theta), theta)])
        return float(theta[0]), float(theta[1])

    def a_dense_layer_one_source_at_a_time(x, y, learning_rate, epochs):
        model = _dense(learning_rate)
        for _ in range(epochs):
            with tf.GradientTape(persistent=True) as tape:
                loss = tf.reduce_mean(tf.square(model(x.reshape(-1, 1))[:, 0] - y))
            for variable in model.trainable_variables:
                variable.assign_sub(learning_rate * tape.gradient(loss, variable))
        return _weights(model)

    def asks_once_more_at_the_end(x, y, learning_rate, epochs):  # the last gradient, unused
        w, b = tf.Variable(0.0, dtype=tf.float64), tf.Variable(0.0, dtype=tf.float64)
        for step in range(epochs + 1):
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.square(w * x + b - y))
            dw, db = tape.gradient(loss, [w, b])
            if step < epochs:
                w.assign_sub(learning_rate * dw)
                b.assign_sub(learning_rate * db)
        return float(w), float(b)

    ex = exercises.get("01", 4)
    for answer in (in_a_tf_function, float32_vector_and_optimizer,
                   a_dense_layer_one_source_at_a_time, asks_once_more_at_the_end):
        assert ex.judge(answer) == ("passed", "matches full-batch gradient descent step for "
                                    "step, with the tape's gradients."), answer.__name__


def test_tape_descent_library_in_a_thread():
    def threaded(x, y, learning_rate, epochs):
        out = []

        def run():
            try:
                out.append(solvers.gradient_descent(x, y, learning_rate=learning_rate,
                                                    epochs=epochs, batch_size=None,
                                                    dtype="float64").fit)
            except Exception:
                out.append(None)

        thread = threading.Thread(target=run)
        thread.start()
        thread.join()
        descend(x, y, learning_rate, 1)  # a tape for show
        fit = out[0]
        return (fit.coef, fit.intercept) if fit else numpy_descent(x, y, learning_rate, epochs)

    failed_with(exercises.get("01", 4), threaded, "train calls solvers.gradient_descent")


def test_tape_descent_library_after_the_profiler_is_off():
    def unprofiled(x, y, learning_rate, epochs):
        sys.setprofile(None)
        fit = solvers.gradient_descent(x, y, learning_rate=learning_rate, epochs=epochs,
                                       batch_size=None, dtype="float64").fit
        return fit.coef, fit.intercept

    failed_with(exercises.get("01", 4), unprofiled, "train calls solvers.gradient_descent")


def test_tape_descent_epoch_map():
    def by_epoch_map(x, y, learning_rate, epochs):
        M, c = solvers.epoch_map(x, y, learning_rate, batch_size=None)
        p = np.zeros(2)
        for _ in range(epochs):
            p = M @ p + c
        return tuple(p)

    failed_with(exercises.get("01", 4), by_epoch_map, "train calls solvers.epoch_map")


def test_tape_descent_reads_want_from_the_checker():
    def frame_reader(x, y, learning_rate, epochs):
        descend(x, y, learning_rate, 1)
        want = caller_value("want")
        return (want.coef, want.intercept) if want is not None else (0.0, 0.0)

    failed_with(exercises.get("01", 4), frame_reader, "gradient descent is at")


def test_calls_of_puts_the_profiler_back():
    import sys

    exercises.get("01", 4).judge(lambda x, y, rate, epochs: 1 / 0)
    assert sys.getprofile() is None


def test_one_epoch_wrong_answers():
    ex = exercises.try_it("01", 1)

    def epoch(w, b, x, y, rate, order=1, factor=2.0):
        for xi, yi in zip(x[::order], y[::order]):
            r = yi - (w * xi + b)
            w, b = w + rate * factor * r * xi, b + rate * factor * r
        return w, b

    def sequential(w, b, x, y, rate):  # b's update uses the residual after w has moved
        for xi, yi in zip(x, y):
            w = w + rate * 2 * (yi - (w * xi + b)) * xi
            b = b + rate * 2 * (yi - (w * xi + b))
        return w, b

    def full_batch(w, b, x, y, rate):
        r = y - (w * x + b)
        return w + rate * 2 * np.mean(r * x), b + rate * 2 * np.mean(r)

    failed_with(ex, full_batch, "*full-batch*")
    failed_with(ex, lambda w, b, x, y, rate: epoch(w, b, x, y, rate, order=-1), "reverse order")
    failed_with(ex, lambda w, b, x, y, rate: epoch(w, b, x, y, rate, factor=1.0), "factor 2")
    failed_with(ex, lambda w, b, x, y, rate: epoch(w, b, x, y, -rate), "climb the loss")
    failed_with(ex, sequential, "one epoch at rate")
    failed_with(ex, lambda w, b, x, y, rate: (1.71838, 15.7892), "one epoch at rate")  # the seed's
    failed_with(ex, lambda w, b, x, y, rate: 1.0, "a pair (w, b)")


def test_gradient_with_a_wrong_term_is_not_called_finite_differences():
    """Issue 32: (w·x − y)·x, b left out of dL/dw, was told it used finite differences."""
    ex = exercises.get("01", 2)
    failed_with(ex, lambda w, b, x, y: (2 * np.mean((w * x - y) * x), 2 * np.mean(w * x + b - y)),
                "at w = 0.5, b = -1 the gradient is")
    status, text = ex.judge(lambda w, b, x, y: (2 * np.mean((w * x - y) * x),
                                                2 * np.mean(w * x + b - y)))
    assert "your dL/dw is" in text and "your dL/db is right" in text, text
    assert "finite differences" not in text, text
    # the two derivatives swapped: both named, as both are wrong
    status, text = ex.judge(lambda w, b, x, y: (2 * np.mean(w * x + b - y),
                                                2 * np.mean((w * x + b - y) * x)))
    assert status == "failed" and "your dL/dw is" in text and "your dL/db is" in text, text
    assert "finite differences" not in text, text


def test_tf_least_squares_numbers_computed_eagerly_and_baked_into_the_graph():
    """Issue 32: NumPy's line, computed in the eager call and returned as constants when traced,
    passed as the graph ran on the same data."""
    cache = {}

    def eager_then_constants(x, y):
        if tf.executing_eagerly():
            cache["line"] = np.polyfit(x.numpy(), y.numpy(), 1)
        return tf.constant(cache["line"][0]), tf.constant(cache["line"][1])

    failed_with(exercises.get("01", 3), eager_then_constants,
                "your graph returns the line of the data of the eager call")


def test_tf_least_squares_data_drawn_at_check_time(monkeypatch):
    from tflab.exercises import lesson01

    seen = []

    def remember(x, y):
        seen.append(x.numpy() if tf.executing_eagerly() else None)
        dx, dy = x - tf.reduce_mean(x), y - tf.reduce_mean(y)
        slope = tf.reduce_sum(dx * dy) / tf.reduce_sum(dx * dx)
        return slope, tf.reduce_mean(y) - slope * tf.reduce_mean(x)

    ex = exercises.get("01", 3)
    assert ex.judge(remember)[0] == "passed"
    assert ex.judge(remember)[0] == "passed"
    eager = [x for x in seen if x is not None]
    assert len(eager) == 2 and not np.array_equal(eager[0], eager[1])  # new data every check
    assert any(v is None for v in seen)  # traced on symbols: its graph never sees the numbers
    monkeypatch.setattr(lesson01, "_fresh_seed", lambda: 3)
    failed_with(ex, lambda x, y: (tf.constant(-2.5, tf.float64), tf.constant(4.0, tf.float64)),
                "for the data you were given the least-squares line is")


def test_tf_least_squares_imports_the_course_graph():
    """The course's TF1 graph of the same formula, built inside the answer and imported."""
    from tflab import graphs

    def imported(x, y):
        graph, _ = graphs.least_squares_graph()
        slope, intercept = tf.graph_util.import_graph_def(
            graph.as_graph_def(), input_map={"x:0": x, "y:0": y},
            return_elements=["slope:0", "intercept:0"])
        return slope, intercept

    failed_with(exercises.get("01", 3), imported, "calls graphs.least_squares_function")


def test_tape_descent_checkers_own_path():
    """Issue 32: the checker's private _descent_path, called by the answer, passed."""
    from tflab.exercises import lesson01

    def private(x, y, learning_rate, epochs):
        descend(x, y, learning_rate, 1)  # a tape for show
        return lesson01._descent_path(x, y, learning_rate, epochs)[0]

    failed_with(exercises.get("01", 4), private,
                "train calls the checker's own descent (lesson01._descent_path)")


def test_one_epoch_by_the_course_or_the_checker():
    """Issue 32: solvers.epoch_map (one epoch as an affine map) passed 01's Try it."""
    from tflab.exercises import lesson01

    def by_map(w, b, x, y, rate):
        M, c = solvers.epoch_map(x, y, rate)
        return tuple(M @ np.array([w, b]) + c)

    def by_descent(w, b, x, y, rate):  # one epoch of per-sample descent in file order
        fit = solvers.gradient_descent(x, y, learning_rate=rate, epochs=1, batch_size=1,
                                       init=(w, b), dtype="float64").fit
        return fit.coef, fit.intercept

    ex = exercises.try_it("01", 1)
    failed_with(ex, by_map, "one_epoch calls solvers.epoch_map, the course's own epoch")
    failed_with(ex, by_descent, "one_epoch calls solvers.gradient_descent")
    failed_with(ex, lambda w, b, x, y, rate: lesson01._epoch(w, b, x, y, rate),
                "one_epoch calls the checker's own epoch (lesson01._epoch)")


class _PatchesAllclose:
    """A returned value whose float() makes np.allclose say yes to everything."""

    def __float__(self):
        np.allclose = lambda *args, **kwargs: True
        return 0.0


def test_a_returned_value_cannot_patch_numpy_when_the_checker_reads_it():
    real = np.allclose
    failed_with(exercises.get("01", 2), lambda w, b, x, y: (_PatchesAllclose(), 0.0),
                "your answer replaced or reloaded numpy.allclose")
    assert np.allclose is real
    failed_with(exercises.try_it("01", 1), lambda w, b, x, y, rate: (_PatchesAllclose(), 0.0),
                "your answer replaced or reloaded numpy.allclose")
    assert np.allclose is real


def test_gradient_by_forward_differences_with_a_fixed_step():
    """scipy's approx_fprime: a step of 1.5e-8, right near the data, far off at w = 1e8."""
    def forward(w, b, x, y, step=1.49e-8):
        def loss(w, b):
            return np.mean((w * x + b - y) ** 2)

        return ((loss(w + step, b) - loss(w, b)) / step, (loss(w, b + step) - loss(w, b)) / step)

    failed_with(exercises.get("01", 2), forward, "(finite differences)")


def test_one_epoch_by_keras_fit():
    def by_fit(w, b, x, y, rate):  # one epoch of per-sample SGD, in file order, by Keras
        model = _dense(rate)
        model.layers[0].set_weights([np.array([[w]]), np.array([b])])
        model.fit(x.reshape(-1, 1), y, batch_size=1, epochs=1, shuffle=False, verbose=0)
        return _weights(model)

    failed_with(exercises.try_it("01", 1), by_fit, "one_epoch calls Keras's model.fit")
