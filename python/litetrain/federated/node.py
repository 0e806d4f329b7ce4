"""One node of a federation: a Trainer over the node's model file and its local data.

No Flower here: the ClientApp (``client_app.py``) turns messages into these
calls, so the node's behaviour is testable, and usable, without a federation.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from litetrain._checks import check_int
from litetrain.errors import NonFiniteLoss
from litetrain.federated.data import LocalData
from litetrain.federated.weights import check_received, fingerprint, model_weights, restore_model_weights
from litetrain.model import Model
from litetrain.trainer import Trainer


class LocalTrainingDiverged(ArithmeticError):
    """The node's local loss went NaN or infinite: it reports a failure instead of sending weights."""


@dataclass(frozen=True)
class RoundConfig:
    """What the server asks of a node for one round of local training."""

    server_round: int = 0
    epochs: int = 1
    batch_size: int = 32
    learning_rate: float | None = None

    @classmethod
    def from_config(cls, config: Mapping[str, object]) -> "RoundConfig":
        """From a Flower ConfigRecord's keys: server-round, local-epochs, batch-size, learning-rate."""
        lr = config.get("learning-rate")
        if lr is not None and not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
            raise ValueError(f"learning-rate must be a positive finite number, got {lr!r}")
        return cls(
            server_round=check_int("server-round", config.get("server-round", 0)),
            epochs=check_int("local-epochs", config.get("local-epochs", 1), minimum=1),
            batch_size=check_int("batch-size", config.get("batch-size", 32), minimum=1),
            learning_rate=None if lr is None else float(lr),
        )


def accuracy(trainer: Trainer, x: np.ndarray, y: np.ndarray) -> float:
    """Share of samples whose arg-max ``infer`` output equals the label (a class id, or one-hot)."""
    labels = np.argmax(y, axis=1) if y.ndim == 2 else y.reshape(-1)
    outputs = trainer.predict(x, batch_size=256)
    if len(outputs) != 1:
        raise ValueError(f"accuracy needs an infer signature with one output, it has {sorted(outputs)}")
    scores = next(iter(outputs.values()))
    return float(np.mean(np.argmax(scores.reshape(len(labels), -1), axis=1) == labels))


class FederatedNode:
    """Local training and evaluation for the federation, on this node's model and data.

    Args:
        model: The node's copy of the training model (a path or :class:`Model`).
        data: The node's samples.
        seed: Seed of the local shuffles (round r shuffles with ``seed + r``).
    """

    def __init__(self, model: str | os.PathLike[str] | Model, data: LocalData, *, seed: int = 0) -> None:
        self.trainer = Trainer(model)
        self.data = data
        self.seed = seed
        self.name = os.fspath(model) if not isinstance(model, Model) else repr(model._source)
        # Raises before the first round if the data does not fit the model.
        self.trainer._arrays(data.x, data.y, "train")
        self.initial = model_weights(self.trainer)

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.initial)

    def receive(self, weights: Mapping[str, np.ndarray], sender_fingerprint: str | None) -> None:
        """Takes the global weights, or raises :class:`ModelMismatch`, this node unchanged."""
        checked = check_received(weights, self.initial, sender_fingerprint=sender_fingerprint, local_model=self.name)
        restore_model_weights(self.trainer, checked)

    def train(self, config: RoundConfig) -> tuple[dict[str, np.ndarray], dict[str, float]]:
        """One round of local training: the new weights and the round's metrics."""
        if config.learning_rate is not None:
            self.trainer.set_learning_rate(config.learning_rate)
        try:
            history = self.trainer.fit(
                self.data.x,
                self.data.y,
                batch_size=config.batch_size,
                epochs=config.epochs,
                seed=self.seed + config.server_round,
                on_nonfinite="raise",
                progress=False,
            )
        except NonFiniteLoss as e:
            raise LocalTrainingDiverged(
                f"round {config.server_round}: local loss became non-finite ({e}); "
                f"this node sends no weights for the round (lower learning-rate?)"
            ) from e
        weights = model_weights(self.trainer)
        if not all(np.all(np.isfinite(a)) for a in weights.values()):
            raise LocalTrainingDiverged(
                f"round {config.server_round}: local weights became non-finite; "
                f"this node sends no weights for the round"
            )
        metrics = {
            "num-examples": float(len(self.data.x)),
            "loss": float(history.epoch_losses[-1]),
            "steps": float(history.steps),
            "tensorflow-imported": float("tensorflow" in sys.modules),
        }
        return weights, metrics

    def evaluate(self) -> dict[str, float]:
        """Accuracy (and the eval signature's loss, if any) on the node's held-out data."""
        metrics = {
            "num-examples": float(len(self.data.y_val)),
            "accuracy": accuracy(self.trainer, self.data.x_val, self.data.y_val),
        }
        if "eval" in self.trainer.model.signatures:
            loss = self.trainer.evaluate(self.data.x_val, self.data.y_val).get("loss")
            if loss is not None:
                metrics["loss"] = float(loss)
        return metrics
