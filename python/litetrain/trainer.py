"""Training a model through the native loop: fit, evaluate, predict, weights."""

from __future__ import annotations

import math
import os
import signal
import sys
import threading
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from litetrain import _core
from litetrain._checks import check_int
from litetrain.callbacks import Callback, LearningRateScheduler
from litetrain.model import Model

# The signatures through which a model exposes its learning rate.
SET_LEARNING_RATE = "set_learning_rate"
GET_LEARNING_RATE = "get_learning_rate"

# The signatures of a model built with cache_features: the frozen part, and the
# train step of the rest given its output (litetrain.build, litetrain.build_split).
FEATURES = "features"
TRAIN_ON_FEATURES = "train_features"

# Input names taken for labels when fit gets `y` as one array.
LABEL_NAMES = ("y", "labels", "label", "targets")

Arrays = np.ndarray | Mapping[str, np.ndarray]


@dataclass
class History:
    """What a call to :meth:`Trainer.fit` did.

    Attributes:
        losses: The loss of every step, in order.
        epoch_losses: Mean training loss of each completed epoch (over its samples).
        epoch_metrics: Per completed epoch, the means of the ``train``
            signature's other scalar outputs (e.g. accuracy).
        validation: Per completed epoch, the ``eval`` outputs on the
            validation data (empty without validation data).
        epoch: The numbers of the completed epochs (as Keras' ``History.epoch``).
        params: ``{"epochs", "steps", "batch_size"}`` of the fit (as Keras).
        steps: Steps trained.
        runs: Runs of the model they took: one per step, or per run of several
            steps (``train_steps``, see ``multi_step``).
        seconds: Wall time of the native loop (validation included).
        stopped: True if a callback, Ctrl-C or a non-finite loss ended it early.
        stop_reason: Why it stopped early ("" otherwise).
        feature_seconds: With cached features (a model built with ``cache_features``):
            the time of the one pass of the frozen part over the data; else None.
    """

    losses: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    epoch_losses: list[float] = field(default_factory=list)
    epoch_metrics: list[dict[str, float]] = field(default_factory=list)
    validation: list[dict[str, float]] = field(default_factory=list)
    epoch: list[int] = field(default_factory=list)
    params: dict[str, int] = field(default_factory=dict)
    steps: int = 0
    runs: int = 0
    seconds: float = 0.0
    stopped: bool = False
    stop_reason: str = ""
    feature_seconds: float | None = None

    @property
    def history(self) -> dict[str, list[float]]:
        """Per-epoch lists keyed as Keras keys them: ``loss``, each metric, ``val_`` + each."""
        out: dict[str, list[float]] = {"loss": list(self.epoch_losses)}
        for metrics in self.epoch_metrics:
            for name, value in metrics.items():
                out.setdefault(name, []).append(value)
        for metrics in self.validation:
            for name, value in metrics.items():
                out.setdefault(f"val_{name}", []).append(value)
        return out

    @property
    def steps_per_second(self) -> float:
        return self.steps / self.seconds if self.seconds > 0 else 0.0


ON_NONFINITE = {
    "raise": _core.OnNonFinite.RAISE,
    "stop": _core.OnNonFinite.STOP,
    "rollback": _core.OnNonFinite.ROLLBACK,
}


class Trainer:
    """Trains a ``.tflite`` training model with its ``train`` / ``save`` / ``restore`` signatures.

    Args:
        model: A :class:`litetrain.Model`, a path to a ``.tflite`` file, or its bytes.
        threads: CPU threads for LiteRT when `model` is not already a Model
            (for other CPU options load a :class:`litetrain.Model` and pass it).
        train: The training signature; default "train", and for a model built with
            ``cache_features`` the step of the head on cached features
            ("train_features"): fit runs the frozen part once over the data
            (``features``), then trains on its output. ``train="train"`` runs
            the whole model at every step instead.
        save, restore: The signatures that return and take every variable;
            None finds them by their known names ("save", or "parameters" as
            in Flower's BaseTFLiteModel; "restore"). A model without them
            trains; snapshots, checkpoints and bake say what they need.
        loss: The ``train`` output that holds the loss (a float32 scalar).
        multi_step: Run ``train_steps`` (several steps per run, which
            :func:`litetrain.build` adds to models whose step is cheap) wherever
            that many whole batches follow each other: the same arithmetic at a
            lower cost per step. Between runs fit checks Ctrl-C, non-finite losses
            and the periodic callbacks (runs never straddle one), so it stops at
            most a run's length after the step that asked it to. False: one step
            per run.

    A Model has one Trainer at a time (two would share its variables); a
    second ``fit`` while one runs raises :class:`litetrain.TrainerBusy`.

    Raises:
        ValueError: the model lacks the train signature, a signature named
            here or the loss output, or already has a Trainer.
    """

    def __init__(
        self,
        model: Model | str | os.PathLike[str] | bytes,
        *,
        threads: int | None = None,
        train: str | None = None,
        save: str | None = None,
        restore: str | None = None,
        loss: str = "loss",
        multi_step: bool = True,
    ) -> None:
        self.model = model if isinstance(model, Model) else Model(model, threads=threads)
        cached = train is None and {FEATURES, TRAIN_ON_FEATURES} <= set(self.model.signatures)
        self._train_signature = train or "train"  # what fit's x and y are for
        self._features_signature = FEATURES if cached else None
        self._save_signature = save
        native_train = TRAIN_ON_FEATURES if cached else self._train_signature
        self._native = _core.Trainer(self.model._native, native_train, save or "", restore or "", loss, multi_step)
        # Set by a callback (as Keras' model.stop_training) to stop after the current epoch.
        self.stop_training = False

    @property
    def caches_features(self) -> bool:
        """Whether fit runs the model's frozen part once over the data and trains the rest
        on its output (a model built with ``cache_features``, unless ``train=`` was given)."""
        return self._features_signature is not None

    # --- training --------------------------------------------------------------

    def fit(
        self,
        x: Arrays,
        y: Arrays | None = None,
        *,
        batch_size: int = 32,
        epochs: int = 1,
        shuffle: bool = True,
        seed: int = 0,
        drop_remainder: bool = False,
        initial_epoch: int = 0,
        validation_data: tuple[Arrays, Arrays | None] | None = None,
        validation_split: float = 0.0,
        callbacks: Sequence[Callback] = (),
        resume_from: str | os.PathLike[str] | None = None,
        progress: bool | None = None,
        callback: Callable[[int, int, float], bool | None] | None = None,
        callback_every: int = 100,
        on_nonfinite: str | None = None,
        learning_rate_schedule: Callable[[int], float] | None = None,
    ) -> History:
        """Trains for `epochs` epochs in one call of the native loop, with the GIL released.

        Args:
            x: The model inputs: an array (for a model with one non-label
                input) or a dict of arrays by ``train`` input name. Read in
                place: C-contiguous, the input's dtype, samples first;
                ``np.load(..., mmap_mode="r")`` arrays work, so data larger
                than memory works (with cached features, the features of
                every sample are held in memory). Sparse labels are checked against the
                number of classes before the first step.
            y: The labels: an array for the input named y / labels / label /
                targets, or a dict; None if `x` is a dict with everything.
            batch_size: Samples per step. A last partial batch is trained
                (the model is resized) unless `drop_remainder`.
            epochs: Epochs to train in this call; with `resume_from`, the
                total of the run, counting those the checkpoint holds.
            shuffle: Visit samples in a seeded random order. The order of
                epoch e is ``litetrain.epoch_order(n, seed, e)``.
            seed: Seed of the shuffle.
            drop_remainder: Skip the last partial batch of each epoch.
            initial_epoch: Number of the first epoch, so that a run resumed
                by hand sees the same order as an unbroken one.
            validation_data: ``(x, y)`` evaluated after each epoch with the
                ``eval`` signature (any sample count, on fixed-batch models
                too); checked before the first step.
            validation_split: Fraction of the samples (the last ones, before
                shuffling, as Keras) held out for validation instead.
            callbacks: :mod:`litetrain.callbacks` objects (EarlyStopping,
                ModelCheckpoint, ReduceLROnPlateau, ...), run at epoch ends.
            resume_from: A checkpoint written during a fit (ModelCheckpoint,
                ``litetrain train --checkpoint``): its weights, epoch count
                and learning rate are restored and training continues as the
                unbroken run would have, to the same weights bit for bit.
            progress: Show a progress bar (tqdm); default: when stderr is a terminal.
            callback: ``callback(step, epoch, loss)`` every `callback_every`
                steps and after each epoch; returning False stops training.
            callback_every: Steps between callback calls.
            on_nonfinite: On a NaN or infinite loss: "raise"
                (:class:`litetrain.NonFiniteLoss`, the default), "stop", or
                "rollback" (restore the weights of the start of that epoch, and stop).
            learning_rate_schedule: ``f(epoch) -> learning rate``, set before
                each epoch (as ``callbacks=[LearningRateScheduler(f)]``).

        Returns:
            A :class:`History`. Ctrl-C stops after the current step and raises
            KeyboardInterrupt, leaving the model usable.
        """
        options = _core.FitOptions()
        options.batch_size = check_int("batch_size", batch_size, minimum=1)
        options.epochs = check_int("epochs", epochs)
        options.initial_epoch = check_int("initial_epoch", initial_epoch)
        options.seed = check_int("seed", seed)
        options.shuffle = _check_bool("shuffle", shuffle)
        options.drop_remainder = _check_bool("drop_remainder", drop_remainder)
        every = check_int("callback_every", callback_every, minimum=1)
        callbacks = list(callbacks)
        if learning_rate_schedule is not None:
            callbacks.insert(0, LearningRateScheduler(learning_rate_schedule))
        options.on_nonfinite = _nonfinite_policy(on_nonfinite, callbacks)
        arrays = self._arrays(x, y, self._train_signature)
        validation = self._validation_arrays(arrays, validation_data, validation_split)
        if validation is not None and validation_data is None:
            arrays = _head(arrays, len(next(iter(arrays.values()))) - len(next(iter(validation.values()))))
        if resume_from is not None:
            self._native.resume(os.fspath(resume_from), options.epochs, options)
        feature_seconds = None
        if self._features_signature is not None:
            started = time.perf_counter()
            arrays = self._on_features(arrays, batch_size)
            feature_seconds = time.perf_counter() - started

        samples = len(next(iter(arrays.values())))
        steps_per_epoch = samples // batch_size if drop_remainder else -(-samples // batch_size)
        history = History(
            params={
                "epochs": options.initial_epoch + options.epochs,
                "steps": steps_per_epoch,
                "batch_size": batch_size,
            }
        )
        bar = _progress_bar(progress, options.epochs * steps_per_epoch)
        run = _EpochHooks(self, history, callbacks, bar, options.initial_epoch + options.epochs, options.initial_step)
        per_step, period = _per_step_callback(callback, every, bar, callbacks, options.initial_step, steps_per_epoch)
        options.callback_every = period
        # Ctrl-C is ours to turn into a stop only where Python would raise
        # KeyboardInterrupt itself: the main thread, with the default handler.
        handle_sigint = (
            threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGINT) is signal.default_int_handler
        )
        self.stop_training = False
        try:
            run.begin(options.initial_epoch, options.epochs)
            result = self._native.fit(
                arrays,
                options,
                validation=validation,
                callback=per_step,
                on_epoch_end=run.epoch_end,
                handle_sigint=handle_sigint,
            )
        finally:
            if bar is not None:
                bar.close()
        history.losses = result.losses
        history.steps = result.steps
        history.runs = result.runs
        history.seconds = result.seconds
        history.stopped = result.stopped
        history.stop_reason = "early stopping" if run.stopped_by_callbacks else result.stop_reason
        history.feature_seconds = feature_seconds
        run.end()
        return history

    def evaluate(
        self, x: Arrays, y: Arrays | None = None, *, batch_size: int = 32, signature: str = "eval"
    ) -> dict[str, float]:
        """Mean of every scalar output of the `signature` ("eval": loss, metrics) over the data."""
        return self._native_evaluate(self._arrays(x, y, signature), batch_size, signature)

    def predict(self, x: Arrays, *, batch_size: int = 32, signature: str = "infer") -> dict[str, np.ndarray]:
        """Outputs of `signature` ("infer") for every sample, by output name."""
        return self._native.predict(self._arrays(x, None, signature), batch_size, signature)

    # --- weights -----------------------------------------------------------------

    def snapshot(self) -> dict[str, np.ndarray]:
        """An in-memory copy of every variable (weights and optimizer state)."""
        return self._native.snapshot()

    def restore(self, snapshot: Mapping[str, np.ndarray]) -> None:
        """Puts back a :meth:`snapshot`; one of another model is refused, the trainer unchanged."""
        self._native.restore(dict(snapshot))

    def weights(self) -> dict[str, np.ndarray]:
        """Deprecated: :meth:`snapshot` (the same result)."""
        warnings.warn("Trainer.weights() is deprecated: use Trainer.snapshot()", DeprecationWarning, stacklevel=2)
        return self.snapshot()

    def set_weights(self, weights: Mapping[str, np.ndarray]) -> None:
        """Deprecated: :meth:`restore` (the same effect)."""
        warnings.warn("Trainer.set_weights() is deprecated: use Trainer.restore()", DeprecationWarning, stacklevel=2)
        self.restore(weights)

    def save_checkpoint(self, path: str | os.PathLike[str]) -> None:
        """Writes every variable to `path` (see :mod:`litetrain.checkpoint`), atomically,
        with :attr:`training_state` when there is one (so that it can be resumed)."""
        self._native.save_checkpoint(os.fspath(path))

    def load_checkpoint(self, path: str | os.PathLike[str]):
        """Restores a checkpoint. A damaged one, or one of another model, raises
        :class:`litetrain.CheckpointError` and leaves the trainer as it was.

        Returns:
            The state of the run that wrote it (epochs and steps done, seed,
            batch size, learning rate, which is set again), or None for a
            checkpoint written outside a fit. :meth:`fit`'s ``resume_from``
            continues that run.
        """
        return self._native.load_checkpoint(os.fspath(path))

    # --- settings --------------------------------------------------------------

    def set_learning_rate(self, value: float) -> None:
        """Sets the learning rate, for models that expose it.

        The model must have a ``set_learning_rate`` signature taking one
        float32 scalar (the value) and assigning the variable its ``train``
        step reads; a ``get_learning_rate`` signature (no inputs, one float32
        output of one element) lets :attr:`learning_rate` read it back.

        Raises:
            ValueError: The model has no such signature (its learning rate is
                a constant of the graph), or `value` is not a positive finite
                float32 (1e39 is not).
        """
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float, np.floating))
            or not np.isfinite(value)
            or value <= 0
        ):
            raise ValueError(f"the learning rate must be a positive finite number, got {value!r}")
        self._learning_rate_input()
        self._native.set_learning_rate(float(value))

    @property
    def learning_rate(self) -> float | None:
        """The current learning rate via ``get_learning_rate``; None if the model has no such signature."""
        return self._native.learning_rate()

    @property
    def training_state(self):
        """Where the run stands (epochs and steps done, seed, batch size, learning
        rate), as a checkpoint written now would record it; None before any fit or load."""
        return self._native.training_state

    def _learning_rate_input(self) -> str:
        info = self.model.signatures.get(SET_LEARNING_RATE)
        if info is None:
            raise ValueError(
                f"model {self.model._source!r} has no {SET_LEARNING_RATE!r} signature: its learning rate is fixed "
                "in the graph (a model must expose it as a variable with set_learning_rate(learning_rate: float32 "
                "scalar); models built by litetrain.build do)"
            )
        tensors = list(info.inputs.values())
        if len(tensors) != 1 or tensors[0].dtype != np.float32 or tensors[0].shape != ():
            found = {t.name: f"{t.dtype}{list(t.shape)}" for t in tensors}
            raise ValueError(f"signature {SET_LEARNING_RATE!r} must take one float32 scalar, it takes {found}")
        return tensors[0].name

    # --- deployment ----------------------------------------------------------------

    def bake(
        self,
        path: str | os.PathLike[str] | None,
        *,
        inference_only: bool = False,
        require_runtime: str | None = None,
        allow_nonfinite: bool = False,
    ):
        """Writes the model with the current weights as its initial values (see :func:`litetrain.bake`)."""
        from litetrain.baking import bake

        return bake(
            self.model,
            self,
            path,
            inference_only=inference_only,
            require_runtime=require_runtime,
            allow_nonfinite=allow_nonfinite,
            save=self._save_signature,
        )

    # --- helpers -------------------------------------------------------------------

    def _native_evaluate(
        self, arrays: dict[str, np.ndarray], batch_size: int, signature: str = "eval"
    ) -> dict[str, float]:
        return dict(self._native.evaluate(arrays, batch_size, signature))

    def _on_features(self, arrays: dict[str, np.ndarray], batch_size: int) -> dict[str, np.ndarray]:
        """The arrays of ``train`` turned into those of ``train_features``: the inputs of the frozen
        part replaced by its output (one pass over the data, held in memory), the rest as given."""
        signatures = self.model.signatures
        inputs = {name: arrays[name] for name in signatures[self._features_signature].inputs}
        features = self._native.predict(inputs, batch_size, self._features_signature)[FEATURES]
        rest = [name for name in signatures[TRAIN_ON_FEATURES].inputs if name != FEATURES]
        missing = [name for name in rest if name not in arrays]
        if missing:
            raise ValueError(f"signature {TRAIN_ON_FEATURES!r} takes {missing}, which 'train' does not")
        return {FEATURES: features, **{name: arrays[name] for name in rest}}

    def _arrays(self, x: Arrays, y: Arrays | None, signature: str) -> dict[str, np.ndarray]:
        """Training arrays by input name of `signature`."""
        info = self.model.signatures.get(signature)
        if info is None:
            known = ", ".join(repr(k) for k in self.model.signatures)
            raise ValueError(f"the model has no signature {signature!r}; its signatures are: {known}")
        names = list(info.inputs)
        arrays: dict[str, Any] = {}
        for part, role in ((x, "inputs"), (y, "labels")):
            if part is None:
                continue
            if isinstance(part, Mapping):
                arrays.update(part)
                continue
            labels = [n for n in names if n in LABEL_NAMES]
            candidates = labels if role == "labels" else [n for n in names if n not in LABEL_NAMES]
            if len(candidates) != 1:
                raise ValueError(
                    f"cannot tell which input of signature {signature!r} takes the {role} "
                    f"(its inputs are {names}): pass a dict of arrays by input name"
                )
            arrays[candidates[0]] = part
        for name, value in arrays.items():
            if name in info.inputs:
                arrays[name] = _checked_array(name, value, info.inputs[name], signature)
        return arrays

    def _validation_arrays(self, train: dict[str, np.ndarray], data, split: float) -> dict[str, np.ndarray] | None:
        """The validation arrays for the ``eval`` signature, from `data` or the last `split` of `train`."""
        if isinstance(split, bool) or not isinstance(split, (int, float)) or not 0.0 <= split < 1.0:
            raise ValueError(f"validation_split must be a fraction in [0, 1), got {split!r}")
        if data is not None:
            if split:
                raise ValueError("pass validation_data or validation_split, not both")
            if not isinstance(data, tuple) or len(data) not in (1, 2):
                raise ValueError("validation_data must be a tuple (x, y) or (x,)")
            return self._arrays(data[0], data[1] if len(data) == 2 else None, "eval")
        if not split:
            return None
        if "eval" not in self.model.signatures:
            raise ValueError(
                "validation_split needs an 'eval' signature (loss and metrics without an update), which the model lacks"
            )
        samples = len(next(iter(train.values())))
        held = int(samples * split)  # as Keras: the last samples, before any shuffle
        if held < 1 or held >= samples:
            raise ValueError(
                f"validation_split={split} of {samples} samples leaves {held} for validation "
                f"and {samples - held} for training"
            )
        eval_inputs = self.model.signatures["eval"].inputs
        return {name: value[samples - held :] for name, value in train.items() if name in eval_inputs}


def _check_bool(name: str, value: object) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def _nonfinite_policy(on_nonfinite: str | None, callbacks: list[Callback]):
    asked = {c.on_nonfinite for c in callbacks if c.on_nonfinite is not None}
    if on_nonfinite is None:
        on_nonfinite = asked.pop() if len(asked) == 1 else "raise"
    if on_nonfinite not in ON_NONFINITE:
        raise ValueError(f"on_nonfinite must be 'raise', 'stop' or 'rollback', got {on_nonfinite!r}")
    return ON_NONFINITE[on_nonfinite]


def _head(arrays: dict[str, np.ndarray], count: int) -> dict[str, np.ndarray]:
    return {name: value[:count] for name, value in arrays.items()}


def _checked_array(name: str, value: object, info, signature: str) -> np.ndarray:
    """`value` if it can feed input `info` in place; else a ValueError that says how to fix it."""
    where = f"array {name!r}"
    of = f"input {name!r} of signature {signature!r}"
    if not isinstance(value, np.ndarray):
        if isinstance(value, (list, tuple)):
            raise ValueError(
                f"{where} is a {type(value).__name__}; pass np.asarray(..., dtype=np.{info.dtype}) for {of}"
            )
        raise ValueError(f"{where} must be a numpy array, got {type(value).__name__}")
    sample = tuple(info.shape[1:])
    fits = value.ndim == len(info.shape) and all(s < 0 or s == d for s, d in zip(sample, value.shape[1:]))
    if value.dtype != info.dtype:
        hint = f".astype(np.{info.dtype})"
        if (
            np.issubdtype(info.dtype, np.integer)
            and np.issubdtype(value.dtype, np.floating)
            and value.ndim == len(info.shape) + 1
        ):
            hint = (
                f"np.argmax({name}, axis=-1).astype(np.{info.dtype}) "
                f"(these look like one-hot labels; {of} takes class ids)"
            )
        raise ValueError(f"{where} must be {info.dtype}, got {value.dtype} ({of}): pass {hint}")
    if not fits:
        want = "[" + ", ".join(["samples", *("any" if s < 0 else str(s) for s in sample)]) + "]"
        raise ValueError(
            f"{where} has shape {list(value.shape)}; {of} takes batches of {list(info.shape)}, "
            f"so the array must have shape {want}"
        )
    if not value.flags.c_contiguous:
        raise ValueError(
            f"{where} must be C-contiguous: it is read in place, not copied (use np.ascontiguousarray once before fit)"
        )
    return value


class _EpochHooks:
    """The Python side of the native loop's epoch ends: History, callbacks, the progress bar."""

    def __init__(
        self, trainer: Trainer, history: History, callbacks: list[Callback], bar, last_epoch: int, first_step: int
    ) -> None:
        self.trainer, self.history, self.callbacks, self.bar = trainer, history, callbacks, bar
        self.last_epoch = last_epoch
        self.first_step = first_step  # steps count across the run; the bar counts this call's
        self.stopped_by_callbacks = False

    def begin(self, first_epoch: int, epochs: int) -> None:
        for c in self.callbacks:
            c.set_trainer(self.trainer)
            c.set_params(dict(self.history.params))
        for c in self.callbacks:
            c.on_train_begin()
        if epochs > 0:
            for c in self.callbacks:
                c.on_epoch_begin(first_epoch)

    def epoch_end(self, logs) -> bool:
        history = self.history
        history.epoch.append(logs.epoch)
        history.epoch_losses.append(logs.loss)
        history.epoch_metrics.append(logs.metrics)
        validation = logs.validation
        if validation:
            history.validation.append(validation)
        if self.bar is not None:
            self.bar.update(max(0, logs.steps - self.first_step - self.bar.n))
            self.bar.set_postfix(loss=f"{logs.loss:.4f}")
        if not self.callbacks:
            return True
        values = {"loss": logs.loss, **logs.metrics, **{f"val_{k}": v for k, v in validation.items()}}
        rate = self.trainer.learning_rate
        if rate is not None:
            values["learning_rate"] = rate
        for c in self.callbacks:
            c.on_epoch_end(logs.epoch, dict(values))
        if self.trainer.stop_training:
            self.stopped_by_callbacks = True
            return False
        if logs.epoch + 1 < self.last_epoch:
            for c in self.callbacks:
                c.on_epoch_begin(logs.epoch + 1)
        return True

    def end(self) -> None:
        last = self.history
        logs = {"loss": last.epoch_losses[-1]} if last.epoch_losses else {}
        for c in self.callbacks:
            c.on_train_end(logs)


def _progress_bar(progress: bool | None, total: int):
    if progress is None:
        progress = sys.stderr.isatty()
    if not progress:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - tqdm is a dependency
        return None
    return tqdm(total=total, unit="step", leave=True)


def _per_step_callback(callback, every: int, bar, callbacks: list[Callback], first_step: int, steps_per_epoch: int):
    """One native per-step callback serving the user's function (every
    `every` steps and at epoch ends), the progress bar and callbacks'
    on_train_batch_end. Returns (callback or None, period in steps)."""
    batch_callbacks = [c for c in callbacks if c.batch_every > 0]
    periods = [every] if callback is not None else []
    periods += [c.batch_every for c in batch_callbacks]
    if bar is not None:
        periods.append(256)  # the bar needs no more
    if not periods:
        return None, 0
    period = math.gcd(*periods)

    def native(step: int, epoch: int, loss: float) -> bool:
        if bar is not None:
            bar.update(max(0, step - first_step - bar.n))
        for c in batch_callbacks:
            if step % c.batch_every == 0:
                c.on_train_batch_end(step, {"loss": loss})
        epoch_end = steps_per_epoch > 0 and (step - first_step) % steps_per_epoch == 0
        if callback is not None and (step % every == 0 or epoch_end):
            return callback(step, epoch, loss) is not False
        return True

    return native, period
