"""litetrain's Flower apps: the ClientApp called in process with Flower's own
messages and mods, and a real Flower Deployment federation on loopback: a
SuperLink, four SuperNodes started with ``litetrain federated client``
(separate processes), the app of ``examples/federated`` submitted with ``flwr
run``; 10 rounds of FedAvg on load_digits split non-IID (5 of 10 classes per
node); one node killed with SIGKILL during round 3 and started again later.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import REPORT, skip_module_on_prebuilt_target
from flower_federation import APP, Federation, example_prepare, free_port, wait_for

skip_module_on_prebuilt_target("TensorFlow to build the federation's model")

NODES = 4
ROUNDS = 10


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example's model, node shards and test set, made by its own prepare.py."""
    out = tmp_path_factory.mktemp("federated-inputs")
    prepare = example_prepare()
    prepare.build_model(out / "model.tflite")
    prepare.write_data(out, NODES, classes_per_node=5)
    return out


def _train_message(weights: dict, config: dict):
    from flwr.app import ConfigRecord, Message, MessageType, RecordDict
    from flwr.supercore.task_identity import TaskIdentity

    from litetrain.federated.records import record_of

    # Flower's runtime sets these before it builds messages; a test calling the app in process must too.
    TaskIdentity.run_id, TaskIdentity.node_id, TaskIdentity.task_id = 1, 0, 1
    return Message(
        content=RecordDict({"arrays": record_of(weights), "config": ConfigRecord(config)}),
        dst_node_id=7,
        message_type=MessageType.TRAIN,
    )


def _context(prepared: Path, node: int):
    from flwr.app import Context, RecordDict

    return Context(
        run_id=1,
        node_id=7,
        state=RecordDict(),
        run_config={},
        node_config={"model": str(prepared / "model.tflite"), "data": str(prepared / f"node-{node}.npz")},
    )


def test_client_app_clips_updates_when_the_server_asks(prepared: Path) -> None:
    from litetrain.federated import client_app, model_weights
    from litetrain.federated.records import arrays_of

    start = model_weights(litetrain_trainer(prepared))
    config = {"server-round": 1, "local-epochs": 2, "batch-size": 16, "learning-rate": 0.2}

    def update_norm(reply) -> float:
        assert not reply.has_error(), reply.error
        sent = arrays_of(reply.content["arrays"])
        return float(np.sqrt(sum(np.sum((sent[k] - start[k]) ** 2) for k in start)))

    free = update_norm(client_app.app(_train_message(start, config), _context(prepared, 0)))
    clipped = update_norm(
        client_app.app(_train_message(start, {**config, "clipping_norm": 0.05}), _context(prepared, 0))
    )
    assert free > 0.5 and clipped == pytest.approx(0.05, rel=1e-4)


def test_client_app_refuses_another_models_weights(prepared: Path) -> None:
    from litetrain.federated import ModelMismatch, client_app, model_weights

    start = model_weights(litetrain_trainer(prepared))
    wrong = {**start, "dense_bias": np.zeros(7, np.float32)}
    with pytest.raises(ModelMismatch, match="another model"):
        client_app.app(_train_message(wrong, {"server-round": 1}), _context(prepared, 1))


def litetrain_trainer(prepared: Path):
    import litetrain

    return litetrain.Trainer(str(prepared / "model.tflite"))


def _client_command(prepared: Path, node: int, federation: Federation) -> list[str]:
    return [
        sys.executable,
        "-m",
        "litetrain",
        "federated",
        "client",
        str(prepared / "model.tflite"),
        "--data",
        str(prepared / f"node-{node}.npz"),
        "--superlink",
        f"127.0.0.1:{federation.port}",
        "--insecure",
        "--port",
        str(free_port()),
    ]


def _rounds(results_path: Path) -> list[dict]:
    return json.loads(results_path.read_text())["rounds"] if results_path.exists() else []


def _interpreter_accuracy(path: str, x: np.ndarray, y: np.ndarray) -> float:
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=path)
    (source,) = interpreter.get_input_details()
    interpreter.resize_tensor_input(source["index"], list(x.shape))
    interpreter.allocate_tensors()
    interpreter.set_tensor(source["index"], x)
    interpreter.invoke()
    (target,) = interpreter.get_output_details()
    scores = interpreter.get_tensor(target["index"])
    return float(np.mean(np.argmax(scores, axis=1) == y))


def _write_run_config(folder: Path, prepared: Path, out: Path, settings: dict[str, str | int | float]) -> Path:
    """A run-config.toml for `flwr run`: the prepared model and test set, results in `out`, plus `settings`."""
    every = {
        "model": str(prepared / "model.tflite"),
        "out-dir": str(out),
        "test-data": str(prepared / "test.npz"),
        "num-server-rounds": ROUNDS,
        **settings,
    }
    path = folder / "run-config.toml"
    path.write_text("".join(f"{key} = {json.dumps(value)}\n" for key, value in every.items()))
    return path


@pytest.mark.slow
def test_simulation_runtime_with_20_virtual_nodes_and_clipping(prepared: Path, tmp_path: Path) -> None:
    out = tmp_path / "global"
    run_config = _write_run_config(
        tmp_path,
        prepared,
        out,
        {
            "data": str(prepared / "train.npz"),
            "classes-per-node": 3,
            "min-nodes": 20,
            # Differential privacy as Flower does it for NumPy clients: the server's
            # client-side-clipping wrapper asks, the nodes clip with fixedclipping_mod.
            "clipping-norm": 2.0,
            "noise-multiplier": 0.01,
        },
    )
    with Federation(tmp_path, virtual_nodes=20) as federation:
        federation.start_superlink()
        run = federation.run(APP, run_config)
        wait_for(lambda: run.poll() is not None, 600, "the simulated run to finish")
        run_log = federation.log("flwr-run")
        assert run.returncode == 0, run_log[-4000:]
    assert "fixedclipping_mod: parameters are clipped by value: 2.0000" in run_log
    summary = json.loads((out / "results.json").read_text())
    rounds = summary["rounds"]
    assert summary["finished"] and [r["round"] for r in rounds] == list(range(ROUNDS + 1))
    assert all(r["train-nodes"] == 20 for r in rounds[1:])
    REPORT.append(
        f"federated digits, Simulation runtime, 20 virtual nodes of 3 classes, clipping 2.0: "
        f"accuracy {rounds[-1]['accuracy']:.3f} after {ROUNDS} rounds"
    )
    assert rounds[-1]["accuracy"] >= 0.85
    assert Path(summary["files"]["inference"]).is_file()


def _alone_accuracy(prepared: Path, node: int, epochs: int) -> float:
    """The node's shard trained alone with the federation's step budget, tested on the held-out digits."""
    import litetrain
    from litetrain.federated import accuracy, load_local_data

    data, test = load_local_data(prepared / f"node-{node}.npz"), load_local_data(prepared / "test.npz")
    trainer = litetrain.Trainer(str(prepared / "model.tflite"))
    trainer.set_learning_rate(0.2)
    trainer.fit(data.x, data.y, batch_size=16, epochs=epochs, progress=False)
    return accuracy(trainer, test.x, test.y)


@pytest.mark.slow
def test_deployment_federation_survives_a_killed_node(prepared: Path, tmp_path: Path) -> None:
    out = tmp_path / "global"
    run_config = _write_run_config(
        tmp_path, prepared, out, {"min-nodes": 3, "local-epochs": 3, "learning-rate": 0.2, "batch-size": 16}
    )
    results = out / "results.json"
    with Federation(tmp_path) as federation:
        federation.start_superlink()
        for node in range(NODES):
            federation.start_supernode(f"node-{node}", _client_command(prepared, node, federation))
        run = federation.run(APP, run_config)

        def progress(round_: int) -> bool:
            if run.poll() is not None:
                raise AssertionError(f"flwr run ended early:\n{federation.log('flwr-run')[-4000:]}")
            return (out / f"round-{round_:03d}.npz").exists()

        wait_for(lambda: progress(2), 300, "round 2 to end")
        federation.kill("node-3")  # round 3 has been sent to it: it dies holding the round
        wait_for(lambda: progress(4), 400, "round 4 to end without node 3")
        federation.start_supernode("node-3-again", _client_command(prepared, 3, federation))
        wait_for(lambda: run.poll() is not None, 600, "the run to finish")
        run_log = federation.log("flwr-run")
        assert run.returncode == 0, run_log[-4000:]

    summary = json.loads(results.read_text())
    rounds = {r["round"]: r for r in summary["rounds"]}
    assert summary["finished"] and sorted(rounds) == list(range(ROUNDS + 1))
    for round_ in range(ROUNDS + 1):
        assert (out / f"round-{round_:03d}.npz").exists()
    nodes = [rounds[r]["train-nodes"] for r in range(1, ROUNDS + 1)]
    assert nodes[:2] == [NODES, NODES], nodes
    assert nodes[2] == NODES - 1, f"round 3 should complete with the 3 live nodes: {nodes}"
    assert nodes[-1] == NODES, f"the restarted node should train in the last rounds: {nodes}"
    assert "Node Unavailable" in run_log
    assert all(rounds[r]["train-tensorflow-imported"] == 0.0 for r in range(1, ROUNDS + 1)), (
        "a node imported TensorFlow"
    )

    final = rounds[ROUNDS]["accuracy"]
    alone = [_alone_accuracy(prepared, node, epochs=3 * ROUNDS) for node in range(NODES)]
    test = np.load(prepared / "test.npz")
    baked = _interpreter_accuracy(summary["files"]["inference"], test["x"], test["y"])
    REPORT.append(
        f"federated digits: accuracy {final:.3f} after {ROUNDS} rounds (nodes per round {nodes}); "
        f"shards alone {', '.join(f'{a:.3f}' for a in alone)}; baked file in Interpreter {baked:.3f}"
    )
    assert final >= 0.90
    assert final > max(alone)
    assert abs(baked - final) <= 1 / len(test["y"])
