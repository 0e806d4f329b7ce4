"""A federation's parts without Flower: a node's local training and its refusals,
the server's files, the non-IID split, and ``litetrain federated client``'s checks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import litetrain
from cli_runner import litetrain as run_cli
from conftest import skip_module_on_prebuilt_target
from flower_federation import example_prepare
from litetrain.federated import (
    FederatedNode,
    GlobalModel,
    LocalTrainingDiverged,
    ModelMismatch,
    RoundConfig,
    load_local_data,
    model_weights,
    round_checkpoint,
    split_by_class,
)
from litetrain.federated.weights import fingerprint

skip_module_on_prebuilt_target("TensorFlow to build the example's model")


@pytest.fixture(scope="module")
def digits_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The federated example's model (64-32-10, sparse labels, set_learning_rate)."""
    path = tmp_path_factory.mktemp("fed") / "digits.tflite"
    example_prepare().build_model(path)
    return path


@pytest.fixture(scope="module")
def shard(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from sklearn.datasets import load_digits

    digits = load_digits()
    path = tmp_path_factory.mktemp("fed") / "shard.npz"
    np.savez(path, x=(digits.data[:300] / 16).astype(np.float32), y=digits.target[:300].astype(np.int32))
    return path


def test_split_by_class_gives_each_node_its_classes_and_covers_all() -> None:
    y = np.repeat(np.arange(10), 30)
    shards = split_by_class(y, 4, 5)
    assert [sorted(set(y[s])) for s in shards] == [[0, 1, 2, 3, 4], [2, 3, 4, 5, 6], [5, 6, 7, 8, 9], [0, 1, 7, 8, 9]]
    every = np.concatenate(shards)
    assert len(every) == len(set(every)) == len(y)  # disjoint, nothing lost
    assert all(len(s) == 75 for s in shards)
    twenty = split_by_class(y, 20, 3)
    assert set(np.concatenate(twenty)) == set(range(len(y)))
    with pytest.raises(ValueError, match="classes_per_node must be in 1..10"):
        split_by_class(y, 4, 11)


def test_a_round_sends_model_weights_only(digits_path: Path, shard: Path) -> None:
    node = FederatedNode(digits_path, load_local_data(shard))
    weights, metrics = node.train(RoundConfig(server_round=1, epochs=2, batch_size=16))
    assert list(weights) == sorted(weights) and not any(k.startswith("optimizer__") for k in weights)
    assert fingerprint(weights) == node.fingerprint
    assert metrics["num-examples"] == 300 and metrics["steps"] == 2 * 19
    assert any(not np.array_equal(weights[k], node.initial[k]) for k in weights)
    assert 0 <= node.evaluate()["accuracy"] <= 1


def test_weights_of_another_model_are_refused_naming_both(
    digits_path: Path, mlp_dynamic_path: Path, shard: Path
) -> None:
    node = FederatedNode(digits_path, load_local_data(shard))
    before = node.trainer.snapshot()
    other = model_weights(litetrain.Trainer(mlp_dynamic_path))
    with pytest.raises(ModelMismatch, match="another model") as caught:
        node.receive(other, fingerprint(other))
    assert fingerprint(other) in str(caught.value) and node.fingerprint in str(caught.value)
    assert "same model file" in str(caught.value)
    renamed = {f"x_{k}": v for k, v in node.initial.items()}
    with pytest.raises(ModelMismatch):
        node.receive(renamed, None)
    with pytest.raises(ModelMismatch, match="altered"):
        node.receive(node.initial, "0123456789abcdef")
    poisoned = {k: np.full_like(v, np.nan) for k, v in node.initial.items()}
    with pytest.raises(ModelMismatch, match="non-finite"):
        node.receive(poisoned, fingerprint(poisoned))
    after = node.trainer.snapshot()
    assert all(np.array_equal(before[k], after[k]) for k in before)


def test_a_diverging_node_reports_failure_instead_of_weights(digits_path: Path, tmp_path: Path) -> None:
    path = tmp_path / "huge.npz"
    np.savez(path, x=np.full((32, 64), 3e38, np.float32), y=np.zeros(32, np.int32))
    node = FederatedNode(digits_path, load_local_data(path))
    with pytest.raises(LocalTrainingDiverged, match="round 4: local loss became non-finite"):
        node.train(RoundConfig(server_round=4, epochs=1, batch_size=16))


def test_round_config_is_checked() -> None:
    assert RoundConfig.from_config(
        {"server-round": 2, "local-epochs": 3, "batch-size": 8, "learning-rate": 0.1}
    ) == RoundConfig(2, 3, 8, 0.1)
    with pytest.raises(ValueError, match="learning-rate must be a positive finite number"):
        RoundConfig.from_config({"learning-rate": float("inf")})
    with pytest.raises(ValueError, match="local-epochs"):
        RoundConfig.from_config({"local-epochs": 0})


def test_local_data_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no data file"):
        load_local_data(tmp_path / "missing.npz")
    np.savez(tmp_path / "no-y.npz", x=np.zeros((3, 64), np.float32))
    with pytest.raises(ValueError, match=r"no-y.npz: an .npz with arrays x and y is needed; it lacks \['y'\]"):
        load_local_data(tmp_path / "no-y.npz")
    np.savez(tmp_path / "short.npz", x=np.zeros((3, 64), np.float32), y=np.zeros(2, np.int32))
    with pytest.raises(ValueError, match="x has 3 samples but y has 2"):
        load_local_data(tmp_path / "short.npz")


def test_data_that_does_not_fit_the_model_fails_before_any_round(digits_path: Path, tmp_path: Path) -> None:
    np.savez(tmp_path / "wide.npz", x=np.zeros((4, 65), np.float32), y=np.zeros(4, np.int32))
    with pytest.raises(ValueError, match="65"):
        FederatedNode(digits_path, load_local_data(tmp_path / "wide.npz"))


def test_global_model_writes_rounds_and_bakes_both_forms(digits_path: Path, shard: Path, tmp_path: Path) -> None:
    server = GlobalModel(digits_path, tmp_path / "out", shard)
    node = FederatedNode(digits_path, load_local_data(shard))
    weights, metrics = node.train(RoundConfig(server_round=1, epochs=3, batch_size=16))
    server.record_training(metrics)
    server.set_weights(weights)
    server.end_round(1, server.evaluate())
    saved = litetrain.load_checkpoint(round_checkpoint(tmp_path / "out", 1))
    assert all(np.array_equal(saved[k], weights[k]) for k in weights)
    files = server.finish()
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert results["finished"] and results["rounds"][0]["train-num-examples"] == 300
    baked = litetrain.Trainer(files["training"])
    assert all(np.array_equal(baked.snapshot()[k], weights[k]) for k in weights)
    assert list(litetrain.Model(files["inference"]).signatures) == ["infer"]
    with pytest.raises(ValueError, match="do not match the model"):
        server.set_weights({"w": np.zeros(3, np.float32)})


def test_cli_client_checks_model_and_data_first(digits_path: Path, shard: Path, tmp_path: Path) -> None:
    ok = run_cli(
        "federated",
        "client",
        digits_path,
        "--data",
        shard,
        "--superlink",
        "127.0.0.1:9",
        "--insecure",
        "--dry-run",
        block=("tensorflow",),
    )
    assert ok.returncode == 0, ok.stderr
    assert "flower-supernode --insecure --superlink 127.0.0.1:9" in ok.stdout
    assert f"model='{digits_path}' data='{shard}'" in ok.stdout
    assert ok.blocked == {"attempts": [], "loaded": []}
    np.savez(tmp_path / "bad.npz", x=np.zeros((4, 3), np.float32), y=np.zeros(4, np.int32))
    bad = run_cli(
        "federated",
        "client",
        digits_path,
        "--data",
        tmp_path / "bad.npz",
        "--superlink",
        "h:1",
        "--insecure",
        "--dry-run",
    )
    assert bad.returncode == 1
    (line,) = bad.stderr.strip().splitlines()
    assert line.startswith("litetrain federated: error:")
