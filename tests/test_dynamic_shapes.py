"""Issue 17: models whose output shape LiteRT computes at run time must run in
litetrain at every batch with the Interpreter's outputs, or be refused clearly.

Before the runner reserved room for such outputs and read their shapes back
after each run (cpp/src/output_buffer.h), they failed ("Custom allocation is
too small"), returned the previous batch's shape, or corrupted the heap; so
litetrain runs in a child process here: a crash is a failed test, not a dead
pytest.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import build_host_import

tf = build_host_import("tensorflow", "TensorFlow to make the dynamic-shape models")
keras = build_host_import("keras", "Keras to make the dynamic-shape models")
import dynamic_shape_models as models  # noqa: E402

pytestmark = pytest.mark.needs_tensorflow

BATCHES = (1, 2, 7, 32)

# Runs one signature in litetrain, after an optional restore, on inputs from a
# .npz; writes the outputs to another .npz.
CHILD = """
import sys, numpy as np, litetrain
path, sig, feeds_path, restore_path, out_path = sys.argv[1:]
model = litetrain.Model(path)
if restore_path:
    model.runner("restore")(**dict(np.load(restore_path)))
out = model.runner(sig)(**dict(np.load(feeds_path)))
np.savez(out_path, **out)
"""


@pytest.fixture(scope="session")
def dynamic_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("dynamic-models")
    made = {
        "keras_flatten": models.keras_flatten(tf, keras),
        "reshape_training": models.reshape_training(tf),
        "keras_layer_module": models.keras_layer_module(tf, keras),
    }
    paths = {}
    for name, data in made.items():
        paths[name] = folder / f"{name}.tflite"
        paths[name].write_bytes(data)
    return paths


# model, signature, weights to restore first (None: the file's own).
CASES = {
    "keras_flatten": ("serving_default", None),
    "reshape_training": ("infer", None),
    # Its variables have no initial value: compare only after restoring some.
    "keras_layer_module": ("infer", {"kernel": (784, 10), "bias": (10,)}),
}


def _run_child(script: str, *args: str) -> None:
    """Runs litetrain in a child process: a crash there (the bug these tests guard) fails the test, not the run."""
    child = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=300)
    assert child.returncode == 0, f"litetrain exited {child.returncode}: {child.stderr[-800:]}"


def _interpreter_outputs(path: Path, sig: str, feeds: dict, restore: dict | None) -> dict:
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path))
    if restore is not None:
        interpreter.get_signature_runner("restore")(**restore)
    return interpreter.get_signature_runner(sig)(**feeds)


@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("case", list(CASES))
def test_runs_like_the_interpreter(dynamic_models, case, batch, tmp_path):
    path = dynamic_models[case]
    sig, restore_shapes = CASES[case]
    rng = np.random.default_rng(batch)
    from ai_edge_litert.interpreter import Interpreter

    details = Interpreter(model_path=str(path)).get_signature_runner(sig).get_input_details()
    feeds = {
        name: rng.standard_normal([batch if d < 0 else d for d in d_["shape_signature"]]).astype(np.float32)
        for name, d_ in details.items()
    }
    restore = None
    if restore_shapes is not None:
        restore = {n: (0.05 * rng.standard_normal(s)).astype(np.float32) for n, s in restore_shapes.items()}
    expected = _interpreter_outputs(path, sig, feeds, restore)

    np.savez(tmp_path / "feeds.npz", **feeds)
    restore_path = ""
    if restore is not None:
        np.savez(tmp_path / "restore.npz", **restore)
        restore_path = str(tmp_path / "restore.npz")
    _run_child(CHILD, str(path), sig, str(tmp_path / "feeds.npz"), restore_path, str(tmp_path / "out.npz"))
    got = dict(np.load(tmp_path / "out.npz"))
    assert set(got) == set(expected)
    for name, want in expected.items():
        assert got[name].shape == want.shape, json.dumps({name: [got[name].shape, want.shape]})
        np.testing.assert_allclose(got[name], want, rtol=1e-5, atol=1e-6)


# Trains one epoch in litetrain (batches of 7 over 30 samples: the last batch
# is 2), then predicts in batches of 32 and 5; writes weights and predictions.
FIT_CHILD = """
import sys, numpy as np, litetrain
path, data_path, restore_path, out_path = sys.argv[1:]
data = dict(np.load(data_path))
trainer = litetrain.Trainer(path)
if restore_path:
    trainer.model.runner("restore")(**dict(np.load(restore_path)))
trainer.fit(data["x"], data["y"], batch_size=7, epochs=1, shuffle=False, progress=False)
weights = trainer.model.runner("save")()
out = {"w_" + k: v for k, v in weights.items()}
out["logits_32"] = trainer.predict(data["x"], batch_size=32)["logits"]
out["logits_5"] = trainer.predict(data["x"], batch_size=5)["logits"]
np.savez(out_path, **out)
"""

TRAINING_CASES = {  # model: (input shape, classes, weights to restore first)
    "reshape_training": ((4, 4), 3, None),
    "keras_layer_module": ((28, 28), 10, {"kernel": (784, 10), "bias": (10,)}),
}


def _interpreter_fit(path: Path, x, y, restore: dict | None) -> dict:
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path))
    if restore is not None:
        interpreter.get_signature_runner("restore")(**restore)
    train = interpreter.get_signature_runner("train")
    for start in range(0, len(x), 7):
        train(x=x[start : start + 7], y=y[start : start + 7])
    out = {"w_" + k: v for k, v in interpreter.get_signature_runner("save")().items()}
    out["logits_32"] = interpreter.get_signature_runner("infer")(x=x)["logits"]
    return out


@pytest.mark.parametrize("case", list(TRAINING_CASES))
def test_fit_then_predict_like_the_interpreter(dynamic_models, case, tmp_path):
    """fit over batches of 7 and 2, then predict at 32 and 5: the weights and
    predictions of the Interpreter running the same steps."""
    path = dynamic_models[case]
    shape, classes, restore_shapes = TRAINING_CASES[case]
    rng = np.random.default_rng(3)
    x = rng.standard_normal((30, *shape)).astype(np.float32)
    y = np.eye(classes, dtype=np.float32)[rng.integers(0, classes, 30)]
    restore = None
    restore_path = ""
    if restore_shapes is not None:
        restore = {n: (0.05 * rng.standard_normal(s)).astype(np.float32) for n, s in restore_shapes.items()}
        np.savez(tmp_path / "restore.npz", **restore)
        restore_path = str(tmp_path / "restore.npz")
    expected = _interpreter_fit(path, x, y, restore)

    np.savez(tmp_path / "data.npz", x=x, y=y)
    _run_child(FIT_CHILD, str(path), str(tmp_path / "data.npz"), restore_path, str(tmp_path / "out.npz"))
    got = dict(np.load(tmp_path / "out.npz"))
    for name, want in expected.items():
        assert got[name].shape == want.shape, json.dumps({name: [got[name].shape, want.shape]})
        np.testing.assert_allclose(got[name], want, rtol=1e-5, atol=1e-6, err_msg=name)
    np.testing.assert_allclose(got["logits_5"], expected["logits_32"], rtol=1e-5, atol=1e-6)
