"""litetrain's Flower ServerApp: FedAvg or FedAdam over the trainable weights of a model file.

Run config (``[tool.flwr.app.config]`` of the app, or ``flwr run --run-config``):

- ``model``: the training ``.tflite`` (every node holds a copy); its weights
  are the initial global model. Paths are read by the ServerApp process:
  give them absolute.
- ``out-dir``: a litetrain checkpoint per round (``round-NNN.npz``),
  ``results.json``, and at the end ``global.tflite`` (training form) and
  ``global-infer.tflite`` (inference only).
- ``test-data``: optional ``.npz`` (x, y) for centralized evaluation.
- ``num-server-rounds``, ``strategy`` (``fedavg`` or ``fedadam``),
  ``fraction-train``, ``min-nodes``, ``round-timeout`` (seconds),
  ``local-epochs``, ``batch-size``, ``learning-rate`` (the nodes'),
  ``server-learning-rate`` (FedAdam's eta).
- ``clipping-norm`` > 0: differential privacy with client-side fixed clipping
  (Flower's wrapper; nodes clip with ``fixedclipping_mod``) and
  ``noise-multiplier`` Gaussian noise added by the server.
"""

from __future__ import annotations

from flwr.app import ArrayRecord, ConfigRecord, Context, MetricRecord, RecordDict
from flwr.serverapp import Grid, ServerApp
from flwr.serverapp.strategy import DifferentialPrivacyClientSideFixedClipping, FedAdam, FedAvg, Strategy
from flwr.serverapp.strategy.strategy_utils import aggregate_metricrecords

from litetrain.federated.records import arrays_of, record_of
from litetrain.federated.server import GlobalModel
from litetrain.federated.weights import FINGERPRINT_KEY

STRATEGIES = ("fedavg", "fedadam")


def _required(config, key: str):
    if key not in config or config[key] in ("", None):
        raise ValueError(f'the run config needs {key!r} (flwr run --run-config "{key}=...")')
    return config[key]


def make_strategy(config, on_training_metrics) -> Strategy:
    """The strategy the run config names, reporting aggregated training metrics to `on_training_metrics`."""
    name = str(config.get("strategy", "fedavg")).lower()
    min_nodes = int(config.get("min-nodes", 2))

    def training_metrics(records: list[RecordDict], weight_key: str) -> MetricRecord:
        merged = aggregate_metricrecords(records, weight_key)
        merged["nodes"] = float(len(records))
        merged["tensorflow-imported"] = max(float(r["metrics"].get("tensorflow-imported", 0.0)) for r in records)
        on_training_metrics(dict(merged))
        return merged

    common = dict(
        fraction_train=float(config.get("fraction-train", 1.0)),
        fraction_evaluate=float(config.get("fraction-evaluate", 1.0)),
        min_train_nodes=min_nodes,
        min_evaluate_nodes=min_nodes,
        min_available_nodes=min_nodes,
        train_metrics_aggr_fn=training_metrics,
    )
    if name == "fedavg":
        strategy: Strategy = FedAvg(**common)
    elif name == "fedadam":
        strategy = FedAdam(
            **common,
            eta=float(config.get("server-learning-rate", 0.01)),
            eta_l=float(config.get("learning-rate", 0.05)),
        )
    elif name == "fedprox":
        raise ValueError(
            "strategy 'fedprox' needs a proximal term in each node's training loss, which "
            "litetrain's training graphs do not have; use 'fedavg' or 'fedadam'"
        )
    else:
        raise ValueError(f"unknown strategy {name!r}; litetrain's ServerApp offers {', '.join(STRATEGIES)}")
    clipping = float(config.get("clipping-norm", 0.0))
    if clipping > 0:
        strategy = DifferentialPrivacyClientSideFixedClipping(
            strategy,
            noise_multiplier=float(config.get("noise-multiplier", 0.0)),
            clipping_norm=clipping,
            num_sampled_clients=min_nodes,
        )
    return strategy


app = ServerApp()


@app.main()
def main(grid: Grid, context: Context) -> None:
    config = context.run_config
    model = GlobalModel(_required(config, "model"), _required(config, "out-dir"), config.get("test-data") or None)
    strategy = make_strategy(config, model.record_training)

    def evaluate(server_round: int, arrays: ArrayRecord) -> MetricRecord:
        model.set_weights(arrays_of(arrays))
        metrics = model.evaluate()
        model.end_round(server_round, metrics)
        return MetricRecord(metrics)

    round_config = {FINGERPRINT_KEY: model.fingerprint}
    train_config = ConfigRecord(
        {
            **round_config,
            "local-epochs": int(config.get("local-epochs", 1)),
            "batch-size": int(config.get("batch-size", 32)),
            "learning-rate": float(config.get("learning-rate", 0.05)),
        }
    )
    result = strategy.start(
        grid=grid,
        initial_arrays=record_of(model.initial),
        num_rounds=int(config.get("num-server-rounds", 3)),
        timeout=float(config.get("round-timeout", 600)),
        train_config=train_config,
        evaluate_config=ConfigRecord(round_config),
        evaluate_fn=evaluate,
    )
    del result  # its arrays are the last ones evaluate() put into the model
    model.finish()
