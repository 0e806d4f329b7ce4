"""Files litetrain did not make are first-class: signatures found by their
known names (Flower's `parameters`), a model with only train and infer
trains, and a file that needs Flex is refused when it is loaded."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import litetrain
from conftest import build_host_import

tf = build_host_import("tensorflow", "TensorFlow to convert the outside models")
import outside_models  # noqa: E402

pytestmark = pytest.mark.needs_tensorflow


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("outside")
    made = {
        "flower": outside_models.softmax_regression(tf, ("train", "infer", "parameters", "restore")),
        "train_only": outside_models.softmax_regression(tf, ("train", "infer")),
        "flex": outside_models.softmax_regression(tf, ("train", "infer", "save", "restore"), flex=True),
    }
    paths = {}
    for name, data in made.items():
        paths[name] = folder / f"{name}.tflite"
        paths[name].write_bytes(data)
    return paths


def _data(n=40):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((n, 12)).astype(np.float32)
    return x, np.eye(3, dtype=np.float32)[rng.integers(0, 3, n)]


def test_a_flex_file_is_refused_at_load(files):
    assert any(op.custom and op.name.startswith("Flex") for op in litetrain.list_operators(files["flex"]))
    with pytest.raises(
        ValueError, match=r"uses TensorFlow ops through the Flex delegate \(ReluGrad\).*builtin ops only"
    ):
        litetrain.Model(files["flex"])
    cli = subprocess.run(
        [sys.executable, "-m", "litetrain", "train", str(files["flex"]), "--data", "none.npz"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert cli.returncode == 1 and "Flex delegate" in cli.stderr, cli.stderr


def test_flowers_parameters_signature_serves_snapshots_checkpoints_and_bake(files, tmp_path):
    x, y = _data()
    trainer = litetrain.Trainer(files["flower"])
    history = trainer.fit(x, y, batch_size=8, epochs=5, progress=False)
    assert history.history["loss"][-1] < history.history["loss"][0]
    snapshot = trainer.snapshot()
    assert set(snapshot) == {"w", "b"}
    trainer.save_checkpoint(tmp_path / "ck.npz")
    fresh = litetrain.Trainer(files["flower"])
    fresh.load_checkpoint(tmp_path / "ck.npz")
    np.testing.assert_array_equal(fresh.snapshot()["w"], snapshot["w"])

    baked = trainer.bake(tmp_path / "baked.tflite")
    np.testing.assert_array_equal(litetrain.Model(baked.path).runner("parameters")()["w"], snapshot["w"])
    cli = subprocess.run(
        [
            sys.executable,
            "-m",
            "litetrain",
            "bake",
            str(files["flower"]),
            "--checkpoint",
            str(tmp_path / "ck.npz"),
            "-o",
            str(tmp_path / "cli.tflite"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert cli.returncode == 0, cli.stderr
    np.testing.assert_array_equal(litetrain.Model(tmp_path / "cli.tflite").runner("parameters")()["w"], snapshot["w"])


def test_signatures_can_be_named(files, tmp_path):
    x, y = _data()
    trainer = litetrain.Trainer(files["flower"], save="parameters", restore="restore")
    trainer.fit(x, y, batch_size=8, progress=False)
    with pytest.raises(ValueError, match="the model has no signature 'weights'; its signatures are"):
        litetrain.Trainer(files["flower"], save="weights")
    np.savez(tmp_path / "data.npz", x=x, y=y)
    cli = subprocess.run(
        [
            sys.executable,
            "-m",
            "litetrain",
            "train",
            str(files["flower"]),
            "--data",
            str(tmp_path / "data.npz"),
            "--epochs",
            "2",
            "--save-signature",
            "parameters",
            "--checkpoint",
            str(tmp_path / "ck.npz"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert cli.returncode == 0, cli.stderr
    assert set(litetrain.load_checkpoint(tmp_path / "ck.npz")) == {"w", "b"}


def test_a_model_with_only_train_and_infer_trains(files):
    x, y = _data()
    trainer = litetrain.Trainer(files["train_only"])
    history = trainer.fit(x, y, batch_size=8, epochs=5, progress=False)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert trainer.predict(x)["logits"].shape == (40, 3)
    with pytest.raises(ValueError, match=r"no signature returning its variables \('save' or 'parameters'\)"):
        trainer.snapshot()
    with pytest.raises(ValueError, match=r"no signature taking its variables \('restore'\)"):
        trainer.restore({"w": np.zeros((12, 3), np.float32)})
    with pytest.raises(ValueError, match="not a litetrain training model: it has no 'save' signature"):
        litetrain.bake(files["train_only"], {"w": np.zeros((12, 3), np.float32)}, None)


def test_uninitialized_variables_are_reported_at_load(tmp_path):
    """A Keras layer inside a tf.Module converts with no values for its variables."""
    import json

    import dynamic_shape_models

    keras = build_host_import("keras", "Keras for the module's layer")
    path = tmp_path / "keras_in_module.tflite"
    path.write_bytes(dynamic_shape_models.keras_layer_module(tf, keras))
    with pytest.warns(
        litetrain.UninitializedVariablesWarning, match=r"reads variables its file gives no value: .*kernel"
    ):
        model = litetrain.Model(path)
    assert any(name.endswith("kernel") for name in model.uninitialized_variables)
    cli = subprocess.run(
        [sys.executable, "-m", "litetrain", "inspect", str(path), "--json"], capture_output=True, text=True, check=True
    )
    info = json.loads(cli.stdout)
    assert info["uninitialized_variables"] == list(model.uninitialized_variables) and info["variables"] is None
    assert litetrain.Model(outside_models.softmax_regression(tf)).uninitialized_variables == ()  # plain tf.Variables
