"""Callbacks for :meth:`litetrain.Trainer.fit`, with Keras' names and semantics.

The native loop runs every epoch in one call; callbacks run at its epoch
ends (``on_epoch_end``, then the next ``on_epoch_begin``), on the thread that
called fit. ``on_train_batch_end`` is throttled: it runs every
``batch_every`` steps, never unless a callback asks, so that a fit with
epoch-level callbacks runs no Python per step.

``logs`` at an epoch end hold ``loss``, the ``train`` signature's other
scalars (e.g. ``accuracy``), ``val_`` + each ``eval`` output when validating,
and ``learning_rate`` for models that expose it.
"""

from __future__ import annotations

import csv
import inspect
import math
import os
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from litetrain import _core
from litetrain._checks import check_int

if TYPE_CHECKING:
    from litetrain.trainer import Trainer

__all__ = [
    "Callback",
    "CSVLogger",
    "EarlyStopping",
    "LearningRateScheduler",
    "ModelCheckpoint",
    "ReduceLROnPlateau",
    "TerminateOnNaN",
]

Logs = dict[str, float]


class Callback:
    """Base class: override the hooks you need.

    Attributes:
        trainer: The :class:`litetrain.Trainer` being fitted (set before
            ``on_train_begin``). Set ``trainer.stop_training = True`` to stop
            after the current epoch.
        params: ``{"epochs", "steps", "batch_size"}`` of the fit.
        batch_every: Steps between ``on_train_batch_end`` calls; 0 (the
            default) never calls it.
        on_nonfinite: The fit's policy for a NaN or infinite loss that this
            callback asks for ("stop" for :class:`TerminateOnNaN`), or None.
    """

    batch_every: int = 0
    on_nonfinite: str | None = None

    def __init__(self) -> None:
        self.trainer: Trainer | None = None
        self.params: dict[str, Any] = {}

    def set_trainer(self, trainer: Trainer) -> None:
        self.trainer = trainer

    def set_params(self, params: dict[str, Any]) -> None:
        self.params = params

    def on_train_begin(self, logs: Logs | None = None) -> None: ...

    def on_train_end(self, logs: Logs | None = None) -> None: ...

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None: ...

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None: ...

    def on_train_batch_end(self, step: int, logs: Logs | None = None) -> None:
        """Every `batch_every` steps; ``logs`` = ``{"loss": loss of that step}``."""


class _Monitor(Callback):
    """A callback watching one logged quantity for improvement (Keras' MonitorCallback).

    When a value improves is decided natively (``_core.Improvement``, the
    rule C++ hosts' callbacks use too).
    """

    def __init__(self, monitor: str, mode: str, min_delta: float) -> None:
        super().__init__()
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
        try:
            self._improvement = _core.Improvement(monitor, mode, float(min_delta))
        except ValueError as e:
            raise ValueError(f"{type(self).__name__}: {e}") from None
        self.monitor = monitor
        self.mode = self._improvement.mode
        # As Keras: an improvement beats the reference by more than min_delta.
        self.min_delta = abs(min_delta) if self.mode == "max" else -abs(min_delta)

    def _is_improvement(self, value: float, reference: float | None) -> bool:
        return self._improvement.beats(value, reference)

    def _current(self, logs: Logs | None) -> float:
        logs = logs or {}
        if self.monitor not in logs:
            known = ", ".join(sorted(logs)) or "nothing"
            raise ValueError(
                f"{type(self).__name__} monitors {self.monitor!r}, which fit does not log (it logs {known}); "
                "val_ quantities need validation_data or validation_split"
            )
        return float(logs[self.monitor])


class _RuleMonitor(_Monitor):
    """A monitor whose counting is a native rule (``self._rule``): Keras' attributes read it."""

    _rule: Any

    @property
    def wait(self) -> int:
        return self._rule.wait

    @property
    def best(self) -> float | None:
        return self._rule.best


class EarlyStopping(_RuleMonitor):
    """Stops training when `monitor` has not improved for `patience` epochs (as ``keras.callbacks.EarlyStopping``).

    With `restore_best_weights`, the weights of the best epoch are put back
    at the end of training (kept in memory as a snapshot). The stopping rule
    is native (``_core.PatienceRule``), shared with the C++ EarlyStopping.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        min_delta: float = 0.0,
        patience: int = 0,
        verbose: int = 0,
        mode: str = "auto",
        baseline: float | None = None,
        restore_best_weights: bool = False,
        start_from_epoch: int = 0,
    ) -> None:
        super().__init__(monitor, mode, min_delta)
        self.patience = check_int("patience", patience, minimum=0)
        self.verbose = verbose
        self.baseline = baseline
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = check_int("start_from_epoch", start_from_epoch, minimum=0)
        self._rule = _core.PatienceRule(
            self._improvement, self.patience, None if baseline is None else float(baseline), self.start_from_epoch
        )
        self.stopped_epoch = 0
        self.best_weights: dict[str, np.ndarray] | None = None

    @property
    def best_epoch(self) -> int:
        return self._rule.best_epoch

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self._rule.reset()
        self.stopped_epoch = 0
        self.best_weights = None

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        current = self._current(logs)
        if epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.trainer.snapshot()  # the first epoch counted is the best until beaten
        verdict = self._rule.step(epoch, current)
        if verdict.improved and self.restore_best_weights:
            self.best_weights = self.trainer.snapshot()
        if verdict.stop:
            self.stopped_epoch = epoch
            self.trainer.stop_training = True

    def on_train_end(self, logs: Logs | None = None) -> None:
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
            self.trainer.restore(self.best_weights)


class ModelCheckpoint(_Monitor):
    """Writes a litetrain checkpoint (atomically, with the run's state) after each epoch.

    Args:
        filepath: Where to write; may hold ``{epoch}`` (1-based, as Keras)
            and any logged quantity, e.g. ``"ck-{epoch:02d}-{val_loss:.3f}.npz"``.
        monitor, mode: The quantity `save_best_only` compares.
        save_best_only: Write only when `monitor` improved.

    A checkpoint it writes resumes the run: ``fit(..., resume_from=path)``.
    """

    def __init__(
        self,
        filepath: str | os.PathLike[str],
        monitor: str = "val_loss",
        verbose: int = 0,
        save_best_only: bool = False,
        mode: str = "auto",
        initial_value_threshold: float | None = None,
    ) -> None:
        super().__init__(monitor, mode, 0.0)
        self.initial_value_threshold = initial_value_threshold
        self.best: float | None = initial_value_threshold
        self.filepath = os.fspath(filepath)
        self.verbose = verbose
        self.save_best_only = save_best_only
        self.last_saved: str | None = None

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        logs = logs or {}
        if self.save_best_only:
            current = self._current(logs)
            if not self._is_improvement(current, self.best):
                return
            self.best = current
        try:
            path = self.filepath.format(epoch=epoch + 1, **logs)
        except KeyError as e:
            raise ValueError(f"ModelCheckpoint filepath {self.filepath!r} names {e}, which fit does not log") from None
        self.trainer.save_checkpoint(path)
        self.last_saved = path
        if self.verbose > 0:
            print(f"Epoch {epoch + 1}: saved checkpoint {path}")


class ReduceLROnPlateau(_RuleMonitor):
    """Multiplies the learning rate by `factor` when `monitor` stalls for `patience` epochs
    (as ``keras.callbacks.ReduceLROnPlateau``; the model needs a set_learning_rate signature).
    The plateau rule is native (``_core.PlateauRule``), shared with the C++ ReduceLROnPlateau."""

    def __init__(
        self,
        monitor: str = "val_loss",
        factor: float = 0.1,
        patience: int = 10,
        verbose: int = 0,
        mode: str = "auto",
        min_delta: float = 1e-4,
        cooldown: int = 0,
        min_lr: float = 0.0,
    ) -> None:
        super().__init__(monitor, mode, min_delta)
        if not 0.0 < factor < 1.0:
            raise ValueError(f"ReduceLROnPlateau needs 0 < factor < 1, got {factor}")
        self.factor = factor
        self.patience = check_int("patience", patience, minimum=0)
        self.verbose = verbose
        self.cooldown = check_int("cooldown", cooldown, minimum=0)
        self.min_lr = min_lr
        self._rule = _core.PlateauRule(self._improvement, self.patience, self.cooldown)

    @property
    def cooldown_counter(self) -> int:
        return self._rule.cooldown_counter

    def set_trainer(self, trainer: Trainer) -> None:
        super().set_trainer(trainer)
        trainer._learning_rate_input()  # refuses a model without set_learning_rate before training

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self._rule.reset()

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        if not self._rule.step(self._current(logs)):
            return
        old = self.trainer.learning_rate
        if old is not None and old > np.float32(self.min_lr):
            new = max(old * self.factor, self.min_lr)
            self.trainer.set_learning_rate(new)
            if self.verbose > 0:
                print(f"Epoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new}.")
            self._rule.reduced()


class LearningRateScheduler(Callback):
    """Sets the learning rate before each epoch: ``schedule(epoch)`` or ``schedule(epoch, lr)``."""

    def __init__(self, schedule: Callable[..., float], verbose: int = 0) -> None:
        super().__init__()
        self.schedule = schedule
        self.verbose = verbose
        try:
            parameters = inspect.signature(schedule).parameters.values()
            positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
            self._takes_lr = len(positional) >= 2 or any(p.kind == p.VAR_POSITIONAL for p in parameters)
        except (TypeError, ValueError):  # a builtin without a signature
            self._takes_lr = False

    def set_trainer(self, trainer: Trainer) -> None:
        super().set_trainer(trainer)
        trainer._learning_rate_input()

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        rate = self.schedule(epoch, self.trainer.learning_rate) if self._takes_lr else self.schedule(epoch)
        if isinstance(rate, bool) or not isinstance(rate, (int, float, np.floating)) or not math.isfinite(rate):
            raise ValueError(f"the learning rate schedule returned {rate!r} for epoch {epoch}, not a finite number")
        self.trainer.set_learning_rate(float(rate))
        if self.verbose > 0:
            print(f"Epoch {epoch + 1}: LearningRateScheduler setting learning rate to {rate}.")


class CSVLogger(Callback):
    """Appends a row per epoch (``epoch`` and every logged quantity) to a CSV file.

    As in Keras, the file is open from the start of training to its end and
    each row is flushed, not fsynced: a row costs microseconds, not a disk
    round trip, so short epochs pay nothing for the log.
    """

    def __init__(self, filename: str | os.PathLike[str], separator: str = ",", append: bool = False) -> None:
        super().__init__()
        self.filename = os.fspath(filename)
        self.separator = separator
        self.append = append
        self._keys: list[str] | None = None
        self._file = None
        self._writer = None

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self._keys = None
        if self.append and os.path.exists(self.filename):
            with open(self.filename, newline="") as f:
                header = next(csv.reader(f, delimiter=self.separator), None)
            self._keys = header[1:] if header else None
        self._file = open(self.filename, "a" if self.append else "w", newline="")
        self._writer = csv.writer(self._file, delimiter=self.separator)

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        logs = logs or {}
        if self._keys is None:
            self._keys = sorted(logs)
            self._writer.writerow(["epoch", *self._keys])
        self._writer.writerow([epoch, *(logs.get(k, "NA") for k in self._keys)])
        self._file.flush()

    def on_train_end(self, logs: Logs | None = None) -> None:
        if self._file is not None:
            self._file.close()
            self._file = self._writer = None


class TerminateOnNaN(Callback):
    """Stops training at the first NaN or infinite loss (the fit's ``on_nonfinite="stop"``)."""

    on_nonfinite = "stop"
