"""Federated training on Flower: litetrain's ClientApp and ServerApp, and the parts they are made of.

Needs the ``federated`` extra (``pip install "litetrain[federated]"``, Flower);
a node needs no TensorFlow. The Flower components are
``litetrain.federated.client_app:app`` and ``litetrain.federated.server_app:app``;
``examples/federated`` is a ready Flower app that uses them.
"""

from __future__ import annotations

from litetrain.federated.data import LocalData, load_local_data, split_by_class
from litetrain.federated.node import FederatedNode, LocalTrainingDiverged, RoundConfig, accuracy
from litetrain.federated.server import GlobalModel, round_checkpoint
from litetrain.federated.weights import ModelMismatch, fingerprint, model_weights

__all__ = [
    "FederatedNode",
    "GlobalModel",
    "LocalData",
    "LocalTrainingDiverged",
    "ModelMismatch",
    "RoundConfig",
    "accuracy",
    "fingerprint",
    "load_local_data",
    "model_weights",
    "round_checkpoint",
    "split_by_class",
]
