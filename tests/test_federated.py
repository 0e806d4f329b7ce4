"""A real Flower Deployment federation on loopback: a SuperLink, four SuperNodes
started with ``litetrain federated client`` (separate processes), the app of
``examples/federated`` submitted with ``flwr run``; 10 rounds of FedAvg on
load_digits split non-IID (5 of 10 classes per node); one node killed with
SIGKILL during round 3 and started again later.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import REPORT, skip_module_on_prebuilt_target
from flower_federation import Federation, free_port, wait_for

skip_module_on_prebuilt_target("TensorFlow to build the federation's model")

pytestmark = pytest.mark.slow

APP = Path(__file__).resolve().parents[1] / "examples" / "federated"
NODES = 4
ROUNDS = 10


def _prepare_module():
    spec = importlib.util.spec_from_file_location("federated_prepare", APP / "prepare.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example's model, node shards and test set, made by its own prepare.py."""
    out = tmp_path_factory.mktemp("federated-inputs")
    prepare = _prepare_module()
    prepare.build_model(out / "model.tflite")
    prepare.write_data(out, NODES, classes_per_node=5)
    return out


def _client_command(prepared: Path, node: int, federation: Federation) -> list[str]:
    return [sys.executable, "-m", "litetrain", "federated", "client", str(prepared / "model.tflite"),
            "--data", str(prepared / f"node-{node}.npz"), "--superlink", f"127.0.0.1:{federation.port}",
            "--insecure", "--port", str(free_port())]


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


def _alone_accuracy(prepared: Path, node: int, epochs: int) -> float:
    """The node's shard trained alone with the federation's step budget, tested on the held-out digits."""
    import litetrain
    from litetrain.federated import accuracy, load_local_data

    data, test = load_local_data(prepared / f"node-{node}.npz"), load_local_data(prepared / "test.npz")
    trainer = litetrain.Trainer(str(prepared / "model.tflite"))
    trainer.set_learning_rate(0.2)
    trainer.fit(data.x, data.y, batch_size=16, epochs=epochs, progress=False)
    return accuracy(trainer, test.x, test.y)


def test_deployment_federation_survives_a_killed_node(prepared: Path, tmp_path: Path) -> None:
    out = tmp_path / "global"
    run_config = tmp_path / "run-config.toml"
    run_config.write_text(f'model = "{prepared / "model.tflite"}"\nout-dir = "{out}"\n'
                          f'test-data = "{prepared / "test.npz"}"\nnum-server-rounds = {ROUNDS}\n'
                          f'min-nodes = 3\nlocal-epochs = 3\nlearning-rate = 0.2\nbatch-size = 16\n')
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
    assert all(rounds[r]["train-tensorflow-imported"] == 0.0 for r in range(1, ROUNDS + 1)), \
        "a node imported TensorFlow"

    final = rounds[ROUNDS]["accuracy"]
    alone = [_alone_accuracy(prepared, node, epochs=3 * ROUNDS) for node in range(NODES)]
    test = np.load(prepared / "test.npz")
    baked = _interpreter_accuracy(summary["files"]["inference"], test["x"], test["y"])
    REPORT.append(f"federated digits: accuracy {final:.3f} after {ROUNDS} rounds (nodes per round {nodes}); "
                  f"shards alone {', '.join(f'{a:.3f}' for a in alone)}; baked file in Interpreter {baked:.3f}")
    assert final >= 0.90
    assert final > max(alone)
    assert abs(baked - final) <= 1 / len(test["y"])
