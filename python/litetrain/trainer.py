"""Training a model through the native loop: fit, evaluate, predict, weights."""

from __future__ import annotations

import os
import signal
import sys
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from litetrain import _core
from litetrain.model import Model

# The signatures through which a model exposes its learning rate.
SET_LEARNING_RATE = "set_learning_rate"
GET_LEARNING_RATE = "get_learning_rate"

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
        steps: Steps trained.
        seconds: Wall time of the native loop (validation excluded).
        stopped: True if a callback, Ctrl-C or a non-finite loss ended it early.
        stop_reason: Why it stopped early ("" otherwise).
    """

    losses: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    epoch_losses: list[float] = field(default_factory=list)
    epoch_metrics: list[dict[str, float]] = field(default_factory=list)
    validation: list[dict[str, float]] = field(default_factory=list)
    steps: int = 0
    seconds: float = 0.0
    stopped: bool = False
    stop_reason: str = ""

    @property
    def steps_per_second(self) -> float:
        return self.steps / self.seconds if self.seconds > 0 else 0.0


class Trainer:
    """Trains a ``.tflite`` training model with its ``train`` / ``save`` / ``restore`` signatures.

    Args:
        model: A :class:`litetrain.Model`, a path to a ``.tflite`` file, or its bytes.
        threads: CPU threads for LiteRT when `model` is not already a Model.
        train, save, restore: The signature names to use.
        loss: The ``train`` output that holds the loss (a float32 scalar).

    Raises:
        ValueError: the model lacks one of the signatures or the loss output.
    """

    def __init__(
        self,
        model: Model | str | os.PathLike[str] | bytes,
        *,
        threads: int | None = None,
        train: str = "train",
        save: str = "save",
        restore: str = "restore",
        loss: str = "loss",
    ) -> None:
        self.model = model if isinstance(model, Model) else Model(model, threads=threads)
        self._train_signature = train
        self._native = _core.Trainer(self.model._native, train, save, restore, loss)

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
        progress: bool | None = None,
        callback: Callable[[int, int, float], bool | None] | None = None,
        callback_every: int = 100,
        on_nonfinite: str = "raise",
        learning_rate_schedule: Callable[[int], float] | None = None,
    ) -> History:
        """Trains for `epochs` epochs in the native loop, with the GIL released.

        Args:
            x: The model inputs: an array (for a model with one non-label
                input) or a dict of arrays by ``train`` input name. Read in
                place: C-contiguous, the input's dtype, samples first;
                ``np.load(..., mmap_mode="r")`` arrays work, so data larger
                than memory works.
            y: The labels: an array for the input named y / labels / label /
                targets, or a dict; None if `x` is a dict with everything.
            batch_size: Samples per step. A last partial batch is trained
                (the model is resized) unless `drop_remainder`.
            epochs: Epochs to train in this call.
            shuffle: Visit samples in a seeded random order. The order of
                epoch e is ``litetrain.epoch_order(n, seed, e)``.
            seed: Seed of the shuffle.
            drop_remainder: Skip the last partial batch of each epoch.
            initial_epoch: Number of the first epoch, so that a run resumed
                from a snapshot sees the same order as an unbroken one.
            validation_data: ``(x, y)`` evaluated after each epoch with the
                ``eval`` signature.
            progress: Show a progress bar (tqdm); default: when stderr is a terminal.
            callback: ``callback(step, epoch, loss)`` every `callback_every`
                steps and after each epoch; returning False stops training.
            callback_every: Steps between callback calls.
            on_nonfinite: On a NaN or infinite loss: "raise"
                (:class:`litetrain.NonFiniteLoss`), "stop", or "rollback"
                (restore the weights of the start of that epoch, and stop).
            learning_rate_schedule: ``f(epoch) -> learning rate``, set before
                each epoch (models from :func:`litetrain.build`).

        Returns:
            A :class:`History`. Ctrl-C stops after the current step and raises
            KeyboardInterrupt, leaving the model usable.
        """
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
            raise ValueError(f"epochs must be a non-negative integer, got {epochs!r}")
        if isinstance(callback_every, bool) or not isinstance(callback_every, int) or callback_every < 1:
            raise ValueError(f"callback_every must be a positive integer, got {callback_every!r}")
        arrays = self._arrays(x, y, self._train_signature)
        validation = None
        if validation_data is not None:
            validation = self._arrays(*validation_data, "eval")
        samples = len(next(iter(arrays.values())))
        steps_per_epoch = samples // batch_size if drop_remainder else -(-samples // max(batch_size, 1))
        bar = _progress_bar(progress, epochs * steps_per_epoch)
        history = History()
        losses: list[np.ndarray] = []
        # Ctrl-C is ours to turn into a stop only where Python would raise
        # KeyboardInterrupt itself: the main thread, with the default handler.
        handle_sigint = (
            threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGINT) is signal.default_int_handler
        )
        native_callback, every = _combine(callback, callback_every, bar)
        try:
            for epoch in range(initial_epoch, initial_epoch + epochs):
                if learning_rate_schedule is not None:
                    self.set_learning_rate(learning_rate_schedule(epoch))
                result = self._native.fit(
                    arrays, batch_size, 1, epoch, history.steps, shuffle, seed, drop_remainder,
                    on_nonfinite, every, native_callback, handle_sigint,
                )
                losses.append(result["losses"])
                history.steps += result["steps"]
                history.seconds += result["seconds"]
                history.epoch_losses += result["epoch_losses"]
                history.epoch_metrics += result["epoch_metrics"]
                if bar is not None:
                    bar.update(history.steps - bar.n)
                    if result["epoch_losses"]:
                        bar.set_postfix(loss=f"{result['epoch_losses'][-1]:.4f}")
                if result["epochs_completed"] and validation is not None:
                    history.validation.append(self._native_evaluate(validation, batch_size))
                if result["stopped"]:
                    history.stopped, history.stop_reason = True, result["stop_reason"]
                    break
        finally:
            if bar is not None:
                bar.close()
            history.losses = np.concatenate(losses) if losses else np.zeros(0, np.float32)
        return history

    def evaluate(self, x: Arrays, y: Arrays | None = None, *, batch_size: int = 32, signature: str = "eval") -> dict[str, float]:
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
        """Every variable by name, as numpy arrays (the same as :meth:`snapshot`)."""
        return self.snapshot()

    def set_weights(self, weights: Mapping[str, np.ndarray]) -> None:
        """Sets every variable; the names, dtypes and shapes must be the model's."""
        self.restore(weights)

    def save_checkpoint(self, path: str | os.PathLike[str]) -> None:
        """Writes every variable to `path` (see :mod:`litetrain.checkpoint`), atomically."""
        self._native.save_checkpoint(os.fspath(path))

    def load_checkpoint(self, path: str | os.PathLike[str]) -> None:
        """Restores a checkpoint. A damaged one, or one of another model, raises
        :class:`litetrain.CheckpointError` and leaves the trainer as it was."""
        self._native.load_checkpoint(os.fspath(path))

    # --- settings --------------------------------------------------------------

    def set_learning_rate(self, value: float) -> None:
        """Sets the learning rate, for models that expose it.

        The model must have a ``set_learning_rate`` signature taking one
        float32 scalar (the value) and assigning the variable its ``train``
        step reads; a ``get_learning_rate`` signature (no inputs, one float32
        output of one element) lets :attr:`learning_rate` read it back.

        Raises:
            ValueError: The model has no such signature (its learning rate is
                a constant of the graph), or `value` is not a positive finite number.
        """
        if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or not np.isfinite(value) or value <= 0:
            raise ValueError(f"the learning rate must be a positive finite number, got {value!r}")
        name = self._learning_rate_input()
        self.model.runner(SET_LEARNING_RATE)(**{name: np.asarray(value, np.float32)})

    @property
    def learning_rate(self) -> float | None:
        """The current learning rate via ``get_learning_rate``; None if the model has no such signature."""
        info = self.model.signatures.get(GET_LEARNING_RATE)
        if info is None or info.inputs or len(info.outputs) != 1:
            return None
        value = next(iter(self.model.runner(GET_LEARNING_RATE)().values()))
        return float(value.reshape(-1)[0]) if value.size == 1 else None

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

    def bake(self, path: str | os.PathLike[str], *, inference_only: bool = False, require_runtime: str | None = None) -> None:
        """Writes the model with the current weights as its initial values (see :func:`litetrain.bake`)."""
        from litetrain.baking import bake

        bake(self.model, self, path, inference_only=inference_only, require_runtime=require_runtime)

    # --- helpers -------------------------------------------------------------------

    def _native_evaluate(self, arrays: dict[str, np.ndarray], batch_size: int, signature: str = "eval") -> dict[str, float]:
        return dict(self._native.evaluate(arrays, batch_size, signature))

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
        return arrays


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


def _combine(callback, every: int, bar):
    """One native callback serving the user's callback and the progress bar.

    Returns (callback or None, period in steps). Steps count across the whole
    fit (the native loop is told the steps of earlier epochs).
    """
    if callback is None and bar is None:
        return None, 0
    period = every if callback is not None else 256  # the bar needs no more

    def native(step: int, epoch: int, loss: float) -> bool:
        if bar is not None:
            bar.update(step - bar.n)
        if callback is not None:
            return callback(step, epoch, loss) is not False
        return True

    return native, period
