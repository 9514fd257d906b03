# ruff: noqa
# FROZEN COPY, NOT COURSE CODE: tflab/estimator.py as it was at commit 20066bc, before issue 15.
#
# Kept only as the baseline of issue 15's target ("tflab.estimator at least 10x faster than
# today's shim"): benchmarks/estimator.py imports it to time the old eager shim next to the
# new TF1-graph tflab.estimator without needing git history (a shallow clone has none).
# Nothing else imports it; do not fix or extend it. Below this header the file is unchanged.
"""A small re-implementation of ``tf.estimator``, which TensorFlow removed in 2.16.

It exists for teaching: it reproduces the Estimator contract of the course notes so
their code still runs, on TF2 machinery (``tf.function``, ``GradientTape``,
``tf.train.CheckpointManager``). New projects should use Keras (lesson 06 shows the
migration).

The contract:

- you write ``model_fn(features, labels, mode, params)`` returning an
  :class:`EstimatorSpec`; ``mode`` is one of :class:`ModeKeys`;
- you write ``input_fn()`` returning a ``tf.data.Dataset`` of ``(features, labels)``
  (features a dict of tensors) or one ``(features, labels)`` batch;
- :class:`Estimator` runs it: ``train`` (resuming from the last checkpoint in
  ``model_dir``), ``evaluate``, ``predict``, ``export_saved_model``, with hooks.

``evaluate`` and ``predict`` run ``model_fn`` inside a ``tf.function``; training steps
run eagerly, because ``model_fn`` makes a new optimizer each time it runs and
``tf.function`` refuses variables created after its first trace.

Differences from TF1, because TF2 has no sessions: variables are made with
``tf.compat.v1.get_variable`` (``dense`` below replaces ``tf.layers.dense``, and
feature columns' ``input_layer`` works as before), and the Estimator reuses them
between calls by name, as ``tf.compat.v1.make_template`` does; ``train_op`` is a Keras
optimizer, which the Estimator applies to the gradients of ``loss``; metrics are
built with :func:`accuracy` and :func:`mean`.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, NamedTuple

import numpy as np
import tensorflow as tf

__all__ = [
    "ModeKeys", "EstimatorSpec", "RunConfig", "Metric", "accuracy", "mean", "dense",
    "SessionRunHook", "RunContext", "RunValues", "TimeBasedStopHook", "Estimator",
    "LinearRegressor",
]

v1 = tf.compat.v1


class ModeKeys:
    """The three things a ``model_fn`` is asked to build."""

    TRAIN = "train"
    EVAL = "eval"
    PREDICT = "infer"


class Metric(NamedTuple):
    """A metric as a running mean: ``total / count`` summed over batches."""

    total: tf.Tensor
    count: tf.Tensor


def accuracy(labels, predictions) -> Metric:
    """Fraction of ``predictions`` equal to ``labels`` (like ``tf.compat.v1.metrics.accuracy``)."""
    labels = tf.reshape(tf.cast(labels, tf.int64), [-1])
    predictions = tf.reshape(tf.cast(predictions, tf.int64), [-1])
    correct = tf.cast(tf.equal(labels, predictions), tf.float64)
    return Metric(tf.reduce_sum(correct), tf.cast(tf.size(correct), tf.float64))


def mean(values) -> Metric:
    """The mean of ``values`` over everything evaluated."""
    values = tf.reshape(tf.cast(values, tf.float64), [-1])
    return Metric(tf.reduce_sum(values), tf.cast(tf.size(values), tf.float64))


@dataclass
class EstimatorSpec:
    """What ``model_fn`` returns for one mode.

    - PREDICT needs ``predictions`` (a dict of tensors, or one tensor);
    - EVAL needs ``loss``, and may give ``eval_metric_ops`` (name -> :class:`Metric`);
    - TRAIN needs ``loss`` and ``train_op``: the Keras optimizer to minimise it with.
    """

    mode: str
    predictions: Any = None
    loss: Any = None
    train_op: Any = None
    eval_metric_ops: dict | None = None

    def __post_init__(self):
        if self.mode not in (ModeKeys.TRAIN, ModeKeys.EVAL, ModeKeys.PREDICT):
            raise ValueError(f"EstimatorSpec mode must be one of ModeKeys.TRAIN, EVAL, PREDICT, "
                             f"not {self.mode!r}")
        if self.mode == ModeKeys.PREDICT and self.predictions is None:
            raise ValueError("model_fn returned an EstimatorSpec for PREDICT without "
                             "predictions=: give a dict of output tensors")
        if self.mode in (ModeKeys.TRAIN, ModeKeys.EVAL) and self.loss is None:
            raise ValueError(f"model_fn returned an EstimatorSpec for {self.mode.upper()} "
                             "without loss=: give the scalar loss tensor")
        if self.mode == ModeKeys.TRAIN and not hasattr(self.train_op, "apply_gradients"):
            raise ValueError("model_fn returned an EstimatorSpec for TRAIN whose train_op is "
                             f"{type(self.train_op).__name__}, not an optimizer: in this TF2 "
                             "version give the Keras optimizer, e.g. "
                             "train_op=keras.optimizers.Adagrad(0.05)")
        for name, metric in (self.eval_metric_ops or {}).items():
            if not isinstance(metric, Metric):
                raise ValueError(f"eval_metric_ops[{name!r}] must be made with "
                                 "tflab.estimator.accuracy() or mean()")


@dataclass
class RunConfig:
    """Where and how an Estimator runs.

    ``model_dir`` holds the checkpoints (a new temporary folder if None, left for you
    to delete); a checkpoint is
    written every ``save_checkpoints_steps`` steps and at the end of ``train``, keeping
    the last ``keep_checkpoint_max``; ``tf_random_seed`` seeds the initial weights; the
    loss is printed every ``log_step_count_steps`` steps (0: never).
    """

    model_dir: str | Path | None = None
    save_checkpoints_steps: int = 100
    keep_checkpoint_max: int = 5
    tf_random_seed: int | None = None
    log_step_count_steps: int = 100


class RunValues(NamedTuple):
    """What a training step produced, passed to ``after_run``."""

    global_step: int
    loss: float


class RunContext:
    """Lets a hook stop training: ``run_context.request_stop()``."""

    def __init__(self):
        self.stop_requested = False

    def request_stop(self) -> None:
        self.stop_requested = True


class SessionRunHook:
    """Base class for training hooks; override what you need."""

    def begin(self) -> None:
        """Called once before training starts."""

    def before_run(self, run_context: RunContext) -> None:
        """Called before each training step."""

    def after_run(self, run_context: RunContext, run_values: RunValues) -> None:
        """Called after each training step with its global step and loss."""

    def end(self) -> None:
        """Called once when training ends, however it ends."""


class TimeBasedStopHook(SessionRunHook):
    """The notes' hook: stop training once ``time_limit`` seconds have passed."""

    def __init__(self, time_limit: float):
        if not time_limit > 0:
            raise ValueError(f"time_limit must be positive seconds, not {time_limit!r}")
        self.time_limit = time_limit

    def begin(self) -> None:
        self._start = time.perf_counter()

    def after_run(self, run_context: RunContext, run_values: RunValues) -> None:
        if time.perf_counter() - self._start > self.time_limit:
            run_context.request_stop()


def dense(inputs, units: int, activation: Callable | None = None, name: str | None = None):
    """A dense layer made of ``tf.compat.v1.get_variable`` variables (``tf.layers.dense``'s role).

    Glorot-uniform kernel, zero bias. Inside an Estimator the variables are created on
    the first call and reused afterwards.
    """
    with v1.variable_scope(name, default_name="dense"):
        kernel = v1.get_variable("kernel", [inputs.shape[-1], units], dtype=inputs.dtype,
                                 initializer=v1.initializers.glorot_uniform())
        bias = v1.get_variable("bias", [units], dtype=inputs.dtype,
                               initializer=v1.zeros_initializer())
        outputs = tf.matmul(inputs, kernel) + bias
    return activation(outputs) if activation is not None else outputs


def _relative_name(variable) -> str:
    """'model_3/dense/kernel:0' -> 'dense/kernel': the name without the Estimator's scope.

    Each Estimator's variables live under its own scope (model, model_1, ...); names
    relative to it are what checkpoints and exports match on.
    """
    return variable.name.split("/", 1)[1].removesuffix(":0")


class Estimator:
    """Runs a ``model_fn``: ``train``, ``evaluate``, ``predict``, ``export_saved_model``.

    Every call starts from the latest checkpoint in ``model_dir`` (if there is one), as
    TF1 Estimators did: calling ``train`` again continues from the global step reached.
    """

    def __init__(self, model_fn: Callable, model_dir: str | Path | None = None,
                 config: RunConfig | None = None, params: dict | None = None):
        if not callable(model_fn):
            raise TypeError(f"model_fn must be callable, not {type(model_fn).__name__}")
        self.config = config or RunConfig()
        model_dir = model_dir or self.config.model_dir
        self.model_dir = Path(model_dir) if model_dir else \
            Path(tempfile.mkdtemp(prefix="tflab_estimator_"))
        self.model_fn = model_fn
        self.params = dict(params or {})
        self.history: list[RunValues] = []
        self._template = v1.make_template("model", self._model_fn_call)
        self._global_step = tf.Variable(0, dtype=tf.int64, trainable=False, name="global_step")
        self._optimizer = None
        self._checkpoint = None
        self._manager = None
        self._functions: dict[str, Any] = {}

    # -- building and checkpoints

    def _model_fn_call(self, features, labels, mode):
        spec = self.model_fn(features=features, labels=labels, mode=mode, params=self.params)
        if not isinstance(spec, EstimatorSpec):
            raise TypeError(f"model_fn must return an EstimatorSpec, not {type(spec).__name__}")
        if spec.mode != mode:
            raise ValueError(f"model_fn was asked for mode {mode!r} but returned a spec for "
                             f"{spec.mode!r}")
        return spec

    def _build(self, features, labels, mode) -> EstimatorSpec:
        """Call model_fn eagerly once: creates the variables (seeded) on the first call."""
        if not self._template.variables and self.config.tf_random_seed is not None:
            tf.random.set_seed(self.config.tf_random_seed)
        spec = self._template(features, labels, mode)
        if self._checkpoint is None:
            model = {_relative_name(v).replace("/", "."): v for v in self._template.variables}
            self._checkpoint = tf.train.Checkpoint(global_step=self._global_step, model=model)
            self._manager = tf.train.CheckpointManager(
                self._checkpoint, str(self.model_dir), max_to_keep=self.config.keep_checkpoint_max)
        return spec

    def _restore(self, required: bool) -> None:
        latest = self._manager.latest_checkpoint
        if latest is None:
            if required:
                raise ValueError(f"no checkpoint in {self.model_dir}: train the estimator "
                                 "first (or point model_dir at a trained one)")
            return
        try:
            status = self._checkpoint.restore(latest)
            status.assert_existing_objects_matched()
        except (AssertionError, ValueError) as err:
            raise ValueError(f"the checkpoint {latest} does not fit this model_fn (were its "
                             f"layers renamed or resized?): {err}") from None
        status.expect_partial()  # the optimizer's state is only needed for training

    def latest_checkpoint(self) -> str | None:
        """Path prefix of the newest checkpoint in ``model_dir``, or None."""
        return tf.train.latest_checkpoint(str(self.model_dir))

    @property
    def global_step(self) -> int:
        return int(self._global_step.numpy())

    def get_variable_names(self) -> list[str]:
        """Names of the model's variables, e.g. 'dense/kernel'."""
        return [_relative_name(v) for v in self._template.variables]

    def get_variable_value(self, name: str) -> np.ndarray:
        """The current value of the variable called ``name`` (see ``get_variable_names``)."""
        for v in self._template.variables:
            if _relative_name(v) == name:
                return v.numpy()
        raise KeyError(f"no variable {name!r}; there are {self.get_variable_names()}")

    # -- input

    @staticmethod
    def _dataset(input_fn: Callable, repeat_single_batch: bool) -> tf.data.Dataset:
        data = input_fn()
        if isinstance(data, tf.data.Dataset):
            return data
        if isinstance(data, tuple) and len(data) == 2:
            dataset = tf.data.Dataset.from_tensors(data)
        elif isinstance(data, dict):
            dataset = tf.data.Dataset.from_tensors(data)
        else:
            raise TypeError("input_fn must return a tf.data.Dataset, a (features, labels) "
                            f"tuple or a features dict, not {type(data).__name__}")
        return dataset.repeat() if repeat_single_batch else dataset

    @staticmethod
    def _split(element):
        if isinstance(element, tuple) and len(element) == 2:
            return element
        if isinstance(element, dict):
            return element, None
        raise TypeError("each element of the input_fn's dataset must be (features, labels) "
                        f"or a features dict, not {type(element).__name__}")

    def _compiled(self, mode: str, features, labels):
        """model_fn for EVAL or PREDICT as a tf.function, traced once for any batch size."""
        if mode not in self._functions:
            def relaxed(t):
                return tf.TensorSpec([None] + list(t.shape[1:]), t.dtype)

            template = self._template
            if mode == ModeKeys.EVAL:
                def run(features, labels):
                    spec = template(features, labels, mode)
                    return spec.loss, {k: tuple(m) for k, m in
                                       (spec.eval_metric_ops or {}).items()}
                signature = [tf.nest.map_structure(relaxed, features), relaxed(labels)]
                self._functions[mode] = tf.function(run, input_signature=signature)
            else:
                def run(features):
                    predictions = template(features, None, mode).predictions
                    return predictions if isinstance(predictions, dict) else \
                        {"predictions": predictions}
                signature = [tf.nest.map_structure(relaxed, features)]
                self._functions[mode] = tf.function(run, input_signature=signature)
        function = self._functions[mode]
        return function(features, labels) if mode == ModeKeys.EVAL else function(features)

    # -- the four methods

    def train(self, input_fn: Callable, *, steps: int | None = None, max_steps: int | None = None,
              hooks: list[SessionRunHook] = ()) -> "Estimator":
        """Train for ``steps`` more steps, or until the global step reaches ``max_steps``,
        or until the input runs out or a hook calls ``request_stop()``."""
        if steps is not None and max_steps is not None:
            raise ValueError("give steps= or max_steps=, not both")
        for name, value in (("steps", steps), ("max_steps", max_steps)):
            if value is not None and value < 1:
                raise ValueError(f"{name} must be positive, not {value}")
        batches = iter(self._dataset(input_fn, repeat_single_batch=True))
        try:
            features, labels = self._split(next(batches))
        except StopIteration:
            raise ValueError("input_fn gave no data to train on") from None
        if labels is None:
            raise ValueError("training needs labels: input_fn must give (features, labels)")
        spec = self._build(features, labels, ModeKeys.TRAIN)
        variables = self._template.trainable_variables
        if self._optimizer is None:
            self._optimizer = spec.train_op
            self._optimizer.build(variables)
            self._checkpoint.optimizer = self._optimizer
        self._restore(required=False)
        start = self.global_step
        stop_at = max_steps if max_steps is not None else \
            (start + steps if steps is not None else None)
        if stop_at is not None and start >= stop_at:
            return self

        optimizer, template = self._optimizer, self._template

        # Eager on purpose: model_fn makes a new optimizer each time it runs, and
        # tf.function refuses variables created after its first trace.
        def train_step(features, labels):
            with tf.GradientTape() as tape:
                loss = template(features, labels, ModeKeys.TRAIN).loss
            grads = tape.gradient(loss, variables)
            optimizer.apply_gradients(zip(grads, variables))
            self._global_step.assign_add(1)
            return loss

        context = RunContext()
        for hook in hooks:
            hook.begin()
        every = self.config.save_checkpoints_steps
        log_every = self.config.log_step_count_steps
        try:
            while True:
                for hook in hooks:
                    hook.before_run(context)
                loss = float(train_step(features, labels))
                step = self.global_step
                values = RunValues(step, loss)
                self.history.append(values)
                for hook in hooks:
                    hook.after_run(context, values)
                if log_every and step % log_every == 0:
                    print(f"global step {step}: loss {loss:.4f}")
                if every and step % every == 0:
                    self._manager.save(checkpoint_number=step)
                if context.stop_requested or (stop_at is not None and step >= stop_at):
                    break
                try:
                    features, labels = self._split(next(batches))
                except StopIteration:
                    break
        finally:
            if self._manager.latest_checkpoint != str(self.model_dir / f"ckpt-{self.global_step}"):
                self._manager.save(checkpoint_number=self.global_step)
            for hook in hooks:
                hook.end()
        return self

    def evaluate(self, input_fn: Callable, *, steps: int | None = None) -> dict[str, float]:
        """Loss and metrics over the input (or its first ``steps`` batches), from the latest
        checkpoint. Returns ``{"loss": ..., metric names..., "global_step": ...}``."""
        totals: dict[str, list[float]] = {}
        loss_sum, examples, batches = 0.0, 0.0, 0
        for element in self._dataset(input_fn, repeat_single_batch=False):
            features, labels = self._split(element)
            if batches == 0:
                self._build(features, labels, ModeKeys.EVAL)
                self._restore(required=True)
            loss, metrics = self._compiled(ModeKeys.EVAL, features, labels)
            n = float(tf.shape(tf.nest.flatten(features)[0])[0])
            loss_sum += float(loss) * n
            examples += n
            for name, (metric_total, metric_count) in metrics.items():
                total = totals.setdefault(name, [0.0, 0.0])
                total[0] += float(metric_total)
                total[1] += float(metric_count)
            batches += 1
            if steps is not None and batches >= steps:
                break
        if batches == 0:
            raise ValueError("input_fn gave no data to evaluate")
        results = {"loss": loss_sum / examples}
        results.update({name: t / c for name, (t, c) in totals.items()})
        results["global_step"] = self.global_step
        return results

    def predict(self, input_fn: Callable, *, predict_keys: list[str] | None = None,
                yield_single_examples: bool = True):
        """Yield predictions from the latest checkpoint: one dict per example (or per batch)."""
        first = True
        for element in self._dataset(input_fn, repeat_single_batch=False):
            features, _ = self._split(element)
            if first:
                self._build(features, None, ModeKeys.PREDICT)
                self._restore(required=True)
                first = False
            predictions = self._compiled(ModeKeys.PREDICT, features, None)
            if predict_keys is not None:
                missing = set(predict_keys) - set(predictions)
                if missing:
                    raise KeyError(f"predict_keys {sorted(missing)} not among the model's "
                                   f"predictions {sorted(predictions)}")
                predictions = {k: predictions[k] for k in predict_keys}
            arrays = {k: np.asarray(v) for k, v in predictions.items()}
            if not yield_single_examples:
                yield arrays
                continue
            for i in range(len(next(iter(arrays.values())))):
                yield {k: v[i] for k, v in arrays.items()}

    def export_saved_model(self, export_dir_base: str | Path,
                           feature_spec: dict[str, tf.TensorSpec]) -> Path:
        """Write a SavedModel of the PREDICT graph into ``export_dir_base/<timestamp>``.

        ``feature_spec`` names and types the raw features the server receives
        (``serving_input_receiver_fn``'s job in TF1). Like TF1 Estimators, the export is
        a TF1 graph (so feature columns' lookup tables come along), saved with the
        ``serving_default`` signature; load it with ``tf.saved_model.load``.
        """
        from tflab.files import replace_atomically

        if self._checkpoint is None:  # a new Estimator on a trained model_dir: build it
            example = {name: tf.zeros([1 if d is None else d for d in spec.shape], spec.dtype)
                       for name, spec in feature_spec.items()}
            self._build(example, None, ModeKeys.PREDICT)
        self._restore(required=True)
        values = {_relative_name(v): v.numpy() for v in self._template.variables}
        stamp = int(time.time())
        while (Path(export_dir_base) / str(stamp)).exists():  # two exports in one second
            stamp += 1
        target = Path(export_dir_base) / str(stamp)
        graph = tf.Graph()
        with graph.as_default():
            inputs = {name: v1.placeholder(spec.dtype, spec.shape, name=name)
                      for name, spec in feature_spec.items()}
            template = v1.make_template("model", self._model_fn_call)
            predictions = template(inputs, None, ModeKeys.PREDICT).predictions
            if not isinstance(predictions, dict):
                predictions = {"predictions": predictions}
            with v1.Session(graph=graph) as sess:
                sess.run([v1.global_variables_initializer(), v1.tables_initializer()])
                for variable in v1.global_variables():
                    name = _relative_name(variable)
                    if name not in values:
                        raise ValueError(f"the PREDICT graph has a variable {name} "
                                         "that training never made")
                    variable.load(values[name], sess)
                signature = v1.saved_model.signature_def_utils.predict_signature_def(
                    inputs=inputs, outputs=predictions)
                with replace_atomically(target) as tmp:
                    builder = v1.saved_model.Builder(str(tmp))
                    builder.add_meta_graph_and_variables(
                        sess, [v1.saved_model.tag_constants.SERVING],
                        signature_def_map={"serving_default": signature},
                        main_op=v1.tables_initializer())
                    builder.save()
        return target


def LinearRegressor(feature_columns: list, *, model_dir: str | Path | None = None,
                    learning_rate: float | None = None,
                    config: RunConfig | None = None) -> Estimator:
    """TF1's canned ``LinearRegressor`` with its historical defaults, on this Estimator.

    A linear model of the feature columns, mean squared error, trained with FTRL at
    ``min(0.2, 1/sqrt(number of columns))`` unless ``learning_rate`` says otherwise.
    Predictions are ``{"predictions": ...}``; features must be float32.
    """
    import keras

    rate = learning_rate if learning_rate is not None else \
        min(0.2, 1.0 / np.sqrt(len(feature_columns)))

    def model_fn(features, labels, mode, params):
        net = v1.feature_column.input_layer(features, params["feature_columns"])
        predictions = tf.squeeze(dense(net, 1, name="linear"), axis=1)
        if mode == ModeKeys.PREDICT:
            return EstimatorSpec(mode, predictions={"predictions": predictions})
        loss = tf.reduce_mean(tf.square(tf.cast(labels, predictions.dtype) - predictions))
        if mode == ModeKeys.EVAL:
            return EstimatorSpec(mode, loss=loss)
        return EstimatorSpec(mode, loss=loss, train_op=keras.optimizers.Ftrl(rate))

    return Estimator(model_fn, model_dir=model_dir, config=config,
                     params={"feature_columns": list(feature_columns)})
