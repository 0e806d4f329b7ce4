"""The server's copy of the model: initial weights, centralized evaluation, a file per round, the baked result.

No Flower here: ``server_app.py`` calls these between rounds.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from litetrain._files import write_atomically
from litetrain.baking import bake
from litetrain.checkpoint import write_checkpoint
from litetrain.federated.data import LocalData, load_local_data
from litetrain.federated.node import accuracy
from litetrain.federated.weights import fingerprint, model_weights, restore_model_weights
from litetrain.trainer import Trainer

TRAINING_FILE = "global.tflite"
INFERENCE_FILE = "global-infer.tflite"
RESULTS_FILE = "results.json"


def round_checkpoint(out_dir: str | os.PathLike[str], server_round: int) -> Path:
    """Where the global model after `server_round` is written."""
    return Path(out_dir) / f"round-{server_round:03d}.npz"


class GlobalModel:
    """The federation's model on the server.

    Args:
        model: Path of the training model every node holds a copy of.
        out_dir: Where round checkpoints, ``results.json`` and the baked models go (created).
        test_data: Optional held-out ``.npz`` (x, y) for centralized evaluation.
    """

    def __init__(
        self,
        model: str | os.PathLike[str],
        out_dir: str | os.PathLike[str],
        test_data: str | os.PathLike[str] | None = None,
    ) -> None:
        self.model_path = os.fspath(model)
        self.trainer = Trainer(self.model_path)
        self.initial = model_weights(self.trainer)
        self.fingerprint = fingerprint(self.initial)
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.test: LocalData | None = None if not test_data else load_local_data(test_data)
        self.rounds: list[dict[str, object]] = []
        self._pending_training: dict[str, float] = {}

    def set_weights(self, weights: Mapping[str, np.ndarray]) -> None:
        """Puts aggregated weights in (refusing arrays of another layout)."""
        if fingerprint(weights) != self.fingerprint:
            raise ValueError(
                f"aggregated weights ({fingerprint(weights)}) do not match the model "
                f"{self.model_path} ({self.fingerprint})"
            )
        restore_model_weights(self.trainer, weights)

    def evaluate(self) -> dict[str, float]:
        """Accuracy on the test data (empty without test data)."""
        if self.test is None:
            return {}
        return {"accuracy": accuracy(self.trainer, self.test.x, self.test.y)}

    def end_round(self, server_round: int, metrics: Mapping[str, float]) -> None:
        """Writes the current weights as the round's checkpoint, and the results so far (both atomically)."""
        write_checkpoint(round_checkpoint(self.out_dir, server_round), self.trainer.snapshot())
        training = {f"train-{k}": v for k, v in self._pending_training.items()}
        self._pending_training = {}
        self.rounds.append({"round": server_round, **{k: float(v) for k, v in metrics.items()}, **training})
        self._write_results(finished=False)

    def record_training(self, metrics: Mapping[str, float]) -> None:
        """Keeps the nodes' aggregated training metrics of the current round, for its entry in results.json."""
        self._pending_training = {k: float(v) for k, v in metrics.items()}

    def finish(self) -> dict[str, str]:
        """Bakes the current (final) weights: a training model and an inference-only model."""
        files = {"training": str(self.out_dir / TRAINING_FILE), "inference": str(self.out_dir / INFERENCE_FILE)}
        bake(self.trainer, self.trainer, files["training"])
        bake(self.trainer, self.trainer, files["inference"], inference_only=True)
        self._write_results(finished=True, files=files)
        return files

    def _write_results(self, *, finished: bool, files: Mapping[str, str] | None = None) -> None:
        results = {
            "model": self.model_path,
            "fingerprint": self.fingerprint,
            "finished": finished,
            "rounds": self.rounds,
            "files": dict(files or {}),
        }
        write_atomically(self.out_dir / RESULTS_FILE, json.dumps(results, indent=2) + "\n")
