"""litetrain's Flower ClientApp: ``train`` and ``evaluate`` messages run on a :class:`FederatedNode`.

Where a node's model and data come from:

- Deployment (a SuperNode per device): the SuperNode's ``--node-config``
  ``model='/path/model.tflite' data='/path/shard.npz'``; ``litetrain federated
  client`` starts such a SuperNode.
- Simulation: the run config's ``model`` and ``data`` (the whole training set)
  and the node config's ``partition-id`` / ``num-partitions`` that Flower sets:
  each virtual node takes the shard :func:`split_by_class` gives it
  (``classes-per-node`` classes, so the federation is non-IID).

Failures (a model that is not the server's, a diverging local loss) raise, so
that Flower reports the round as failed for this node and sends nothing else.
"""

from __future__ import annotations

import os

import numpy as np
from flwr.app import ConfigRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp
from flwr.clientapp.mod import fixedclipping_mod

from litetrain.federated.data import LocalData, load_local_data, split_by_class
from litetrain.federated.node import FederatedNode, RoundConfig
from litetrain.federated.records import arrays_of, record_of
from litetrain.federated.weights import FINGERPRINT_KEY

_nodes: dict[tuple, FederatedNode] = {}


def _setting(context: Context, key: str) -> object | None:
    """A node-config value, else the run config's."""
    if key in context.node_config:
        return context.node_config[key]
    return context.run_config.get(key)


def _path(context: Context, key: str) -> str:
    value = _setting(context, key)
    if not isinstance(value, str) or not value:
        raise ValueError(
            f"this node has no {key!r}: give it in the SuperNode's --node-config "
            f"(e.g. --node-config \"model='/path/model.tflite' data='/path/shard.npz'\") "
            f"or in the run config"
        )
    return os.path.abspath(os.path.expanduser(value))


def _local_data(context: Context, path: str) -> LocalData:
    if "partition-id" not in context.node_config or "data" in context.node_config:
        return load_local_data(path)
    whole = load_local_data(path)
    part, parts = int(context.node_config["partition-id"]), int(context.node_config["num-partitions"])
    per_node = int(context.run_config.get("classes-per-node", 3))
    index = split_by_class(whole.y, parts, per_node, seed=int(context.run_config.get("seed", 0)))[part]
    held_out = np.zeros(len(index), bool)
    held_out[::5] = True  # a fifth of the shard for the node's own evaluation
    return LocalData(
        whole.x[index[~held_out]], whole.y[index[~held_out]], whole.x[index[held_out]], whole.y[index[held_out]]
    )


def node_for(context: Context) -> FederatedNode:
    """The node of this context, built once per process."""
    model, data = _path(context, "model"), _path(context, "data")
    key = (model, data, context.node_config.get("partition-id"))
    if key not in _nodes:
        _nodes[key] = FederatedNode(model, _local_data(context, data), seed=int(context.node_id) % 2**31)
    return _nodes[key]


def _received(msg: Message, node: FederatedNode) -> ConfigRecord:
    config = msg.content.config_records.get("config", ConfigRecord())
    announced = config.get(FINGERPRINT_KEY)
    node.receive(arrays_of(msg.content["arrays"]), announced if isinstance(announced, str) else None)
    return config


def _clipping_when_asked(msg: Message, context: Context, call_next):
    """Flower's client-side clipping mod, for runs whose server asks for clipping."""
    config = msg.content.config_records.get("config")
    if config is not None and "clipping_norm" in config:
        return fixedclipping_mod(msg, context, call_next)
    return call_next(msg, context)


app = ClientApp(mods=[_clipping_when_asked])


@app.train()
def train(msg: Message, context: Context) -> Message:
    node = node_for(context)
    config = _received(msg, node)
    weights, metrics = node.train(RoundConfig.from_config(config))
    content = RecordDict({"arrays": record_of(weights), "metrics": MetricRecord(metrics)})
    return Message(content=content, reply_to=msg)


@app.evaluate()
def evaluate(msg: Message, context: Context) -> Message:
    node = node_for(context)
    _received(msg, node)
    return Message(content=RecordDict({"metrics": MetricRecord(node.evaluate())}), reply_to=msg)
