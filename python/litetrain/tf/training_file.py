"""A training ``.tflite`` made on the TensorFlow side, held in memory: what :func:`litetrain.build`
and :func:`litetrain.convert` return."""

from __future__ import annotations

import os
from dataclasses import dataclass

from litetrain._files import write_atomically
from litetrain.model import Model
from litetrain.trainer import Trainer


@dataclass
class TrainingFile:
    """A trainable ``.tflite``.

    Attributes:
        tflite: The model file's bytes.
    """

    tflite: bytes

    @property
    def signatures(self):
        """Signature name -> litetrain.SignatureInfo (inputs, outputs, num_ops)."""
        return Model(self.tflite).signatures

    @property
    def op_counts(self) -> dict[str, int]:
        """Ops dispatched per call of each signature (a step's cost for small models)."""
        return {name: info.num_ops for name, info in self.signatures.items()}

    def save(self, path: str | os.PathLike[str]) -> None:
        """Writes the .tflite atomically (temporary file, fsync, rename)."""
        write_atomically(path, self.tflite)

    def trainer(self, **options) -> Trainer:
        """A :class:`litetrain.Trainer` over this model (options as Trainer's)."""
        return Trainer(self.tflite, **options)
