"""The weights a federation exchanges: a model's weights, without optimizer state, by name.

Only the model's variables travel (frozen layers are constants of the file and
never leave a device); optimizer state (Adam's moments, the learning rate, the
step count) stays local. Every exchange carries the weights' fingerprint, so a
node holding another model refuses them instead of averaging unrelated arrays.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import numpy as np

from litetrain.errors import WeightsMismatch
from litetrain.optim import is_optimizer_state
from litetrain.trainer import Trainer

FINGERPRINT_KEY = "litetrain-fingerprint"


class ModelMismatch(WeightsMismatch):
    """Weights received from the federation belong to another model than this node's."""


def model_weights(trainer: Trainer) -> dict[str, np.ndarray]:
    """The trainer's model weights (optimizer state dropped), sorted by name."""
    snapshot = trainer.snapshot()
    return {name: snapshot[name] for name in sorted(snapshot) if not is_optimizer_state(name)}


def fingerprint(weights: Mapping[str, np.ndarray]) -> str:
    """A short digest of the weights' names, dtypes and shapes (not their values)."""
    layout = ";".join(f"{name}:{np.dtype(a.dtype).str}:{tuple(a.shape)}" for name, a in sorted(weights.items()))
    return hashlib.sha256(layout.encode()).hexdigest()[:16]


def describe(weights: Mapping[str, np.ndarray]) -> str:
    """``name dtype[shape], ...`` for error messages (the first few names)."""
    items = [f"{name} {np.dtype(a.dtype).name}{list(a.shape)}" for name, a in sorted(weights.items())]
    return ", ".join(items[:4]) + (f", ... ({len(items)} in all)" if len(items) > 4 else "")


def check_received(
    received: Mapping[str, np.ndarray],
    local: Mapping[str, np.ndarray],
    *,
    sender_fingerprint: str | None,
    local_model: str,
) -> dict[str, np.ndarray]:
    """`received` as this node's weights, or :class:`ModelMismatch` naming both models.

    Names, dtypes and shapes must equal the local model's, and every value be finite.
    """
    mine = fingerprint(local)
    theirs = fingerprint(received)
    if sender_fingerprint is not None and sender_fingerprint != theirs:
        raise ModelMismatch(
            f"the weights received do not match the fingerprint sent with them "
            f"({sender_fingerprint} announced, {theirs} received): the message was altered"
        )
    if theirs != mine:
        raise ModelMismatch(
            f"the federation sent weights of another model (fingerprint {theirs}: {describe(received)}) "
            f"than this node's {local_model} (fingerprint {mine}: {describe(local)}); "
            f"every node and the server must use the same model file"
        )
    bad = [name for name, a in received.items() if not np.all(np.isfinite(a))]
    if bad:
        raise ModelMismatch(f"the federation sent non-finite weights ({', '.join(bad[:4])}); refused")
    return {name: np.ascontiguousarray(received[name]) for name in local}


def restore_model_weights(trainer: Trainer, weights: Mapping[str, np.ndarray]) -> None:
    """Puts `weights` into the trainer, keeping its optimizer state."""
    trainer.restore({**trainer.snapshot(), **weights})
