"""Every .tflite litetrain writes runs in the runtimes users deploy, with the same answers.

Runtimes: ai_edge_litert's Interpreter and tf.lite.Interpreter (in this
process) and tflite-runtime 2.14 (its own venv, Python <= 3.11 and numpy < 2,
through tests/runtime_worker.py in a subprocess). Files: the training model,
the model baked after training, and its inference-only form. Each runtime
runs the same calls as litetrain (training steps included where the file
trains) and must give the same outputs to 1e-6 relative: the largest
difference in an output is at most 1e-6 of that output's largest magnitude
(element by element, values near zero that come out of sums of larger terms
differ by more: tflite-runtime 2.14 gave 0.0028680 for 0.0028681 after a few
training steps, 2e-5 of the value but 4e-8 of the logits' scale).
"""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path

import litetrain
import numpy as np
import pytest
import runtime_worker
from conftest import REPORT, training_batches

RTOL = 1e-6
REPO = Path(__file__).resolve().parent.parent


def run_elsewhere(runtime: str, model: Path, calls, tflite_runtime_python: str | None, tmp_path: Path):
    if runtime != "tflite_runtime":
        return runtime_worker.run_calls(runtime, str(model), calls)
    calls_path, out_path = tmp_path / "calls.npz", tmp_path / "out.npz"
    runtime_worker.write_calls(str(calls_path), calls)
    done = subprocess.run(
        [
            tflite_runtime_python,
            str(REPO / "tests" / "runtime_worker.py"),
            "run",
            runtime,
            str(model),
            str(calls_path),
            str(out_path),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return runtime_worker.read_results(str(out_path), len(calls))


def run_litetrain(model: Path, calls):
    loaded = litetrain.Model(model)
    runners = {key: loaded.runner(key) for key in {c[0] for c in calls}}
    return [runners[signature](**inputs) for signature, inputs in calls]


@pytest.fixture(scope="module")
def files(tmp_path_factory, mlp_dynamic_path):
    """{kind: (path, calls)} for the three kinds of file litetrain writes."""
    folder = tmp_path_factory.mktemp("interop")
    trainer = litetrain.Trainer(mlp_dynamic_path)
    x = np.concatenate([b[0] for b in training_batches(20, 8, seed=1)])
    y = np.concatenate([b[1] for b in training_batches(20, 8, seed=1)])
    trainer.fit(x, y, batch_size=8, epochs=2)
    trainer.bake(folder / "baked.tflite")
    trainer.bake(folder / "inference.tflite", inference_only=True)
    steps = [("train", {"x": bx, "y": by}) for bx, by in training_batches(6, 5, seed=4)]
    probe = ("infer", {"x": training_batches(1, 7, seed=8)[0][0]})
    training_calls = [probe, ("save", {}), *steps, ("save", {}), probe]
    return {
        "training model": (Path(mlp_dynamic_path), training_calls),
        "baked model": (folder / "baked.tflite", training_calls),
        "inference-only model": (folder / "inference.tflite", [probe, probe]),
    }


@pytest.mark.parametrize(
    "runtime", ["ai_edge_litert", pytest.param("tensorflow", marks=pytest.mark.needs_tensorflow), "tflite_runtime"]
)
@pytest.mark.parametrize("kind", ["training model", "baked model", "inference-only model"])
def test_same_outputs_in_every_runtime(request, tmp_path, files, kind, runtime):
    python = request.getfixturevalue("tflite_runtime_python") if runtime == "tflite_runtime" else None
    path, calls = files[kind]
    ours = run_litetrain(path, calls)
    theirs = run_elsewhere(runtime, path, calls, python, tmp_path)
    worst = 0.0
    for i, ((signature, _), a, b) in enumerate(zip(calls, ours, theirs)):
        assert set(a) == set(b), f"call {i} ({signature})"
        for name in a:
            assert b[name].dtype == a[name].dtype and b[name].shape == a[name].shape, f"call {i} {signature} {name}"
            scale = float(np.max(np.abs(a[name]))) if a[name].size else 0.0
            np.testing.assert_allclose(
                b[name],
                a[name],
                rtol=0,
                atol=RTOL * scale,
                err_msg=f"call {i} {signature} {name}",
            )
            if scale > 0:
                worst = max(worst, float(np.max(np.abs(b[name] - a[name]))) / scale)
    if kind != "inference-only model":  # the steps trained: the second save differs from the first
        assert not np.array_equal(ours[1]["w0"], ours[-2]["w0"])
    REPORT.append(
        f"interop {kind} in {runtime}: {len(calls)} calls, largest difference {worst:.1e} of an output's scale"
    )


def load_tool():
    spec = importlib.util.spec_from_file_location("probe_runtime_ops", REPO / "tools" / "probe_runtime_ops.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_compatibility_table_matches_tflite_runtime(tflite_runtime_python):
    tool = load_tool()
    found = tool.probe(tflite_runtime_python)
    assert tool.differences(found, tool.read_table()) == []
    assert found[9] == 10  # FULLY_CONNECTED: versions 11-13 are newer than 2.14


@pytest.mark.needs_tensorflow
def test_a_model_named_incompatible_is_refused_by_tflite_runtime(tmp_path, tflite_runtime_python):
    """A dynamic-range quantized dense layer (the converter's Optimize.DEFAULT without data) is
    FULLY_CONNECTED version 12: litetrain names it, tflite-runtime 2.14 refuses the file,
    LiteRT runs it."""
    from litetrain.tf import tensorflow as tf

    kernel = np.random.default_rng(0).standard_normal((64, 256)).astype(np.float32)
    dense = tf.function(
        lambda x: tf.matmul(x, kernel),
        input_signature=[tf.TensorSpec([1, 64], tf.float32)],
    )
    converter = tf.lite.TFLiteConverter.from_concrete_functions([dense.get_concrete_function()])
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    path = tmp_path / "dynamic_range.tflite"
    path.write_bytes(converter.convert())

    check = litetrain.check_compatibility(path)
    assert not check.ok
    assert "FULLY_CONNECTED version 12 (it has up to version 10)" in check.description
    refused = subprocess.run(
        [
            tflite_runtime_python,
            "-c",
            f"from tflite_runtime.interpreter import Interpreter; Interpreter(model_path={str(path)!r})",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert refused.returncode != 0 and "FULLY_CONNECTED' version '12'" in refused.stderr
    runtime_worker.interpreter_class("ai_edge_litert")(model_path=str(path)).allocate_tensors()
