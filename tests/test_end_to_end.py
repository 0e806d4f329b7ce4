"""The whole way: build on the desktop, train through the CLI, bake with no
TensorFlow in the process, run the baked model in three runtimes."""

from __future__ import annotations

from pathlib import Path

import litetrain
import numpy as np
import pytest
from cli_runner import litetrain as cli
from conftest import REPORT
from litetrain._reference_models import digits_dataset
from test_interop import run_elsewhere


@pytest.mark.slow
def test_build_train_bake_and_deploy_anywhere(tmp_path: Path, tflite_runtime_python):
    from litetrain.tf.reference_models import mlp_training_model

    # 1. Desktop, with TensorFlow: a trainable 64-64-10 MLP for sklearn's digits.
    model = tmp_path / "digits.tflite"
    model.write_bytes(
        mlp_training_model(
            (64, 64, 10),
            batch_size=None,
            learning_rate=0.5,
            settable_learning_rate=True,
        )
    )
    x_train, y_train, x_test, y_test = digits_dataset(seed=0)
    data = tmp_path / "train.npz"
    np.savez(data, x=x_train, y=y_train)

    # 2. Training through the command line, checkpointed, with a plot.
    checkpoint, plot = tmp_path / "digits.ckpt.npz", tmp_path / "loss.png"
    trained = cli(
        "train",
        model,
        "--data",
        data,
        "--epochs",
        "10",
        "--lr",
        "0.3",
        "--checkpoint",
        checkpoint,
        "--plot",
        plot,
    )
    assert trained.returncode == 0, trained.stderr
    assert f"checkpoint: {checkpoint} (after epoch 10)" in trained.stdout and plot.exists()

    # 3. Baking where TensorFlow cannot be imported (as on a board).
    baked, frozen = tmp_path / "digits.baked.tflite", tmp_path / "digits.infer.tflite"
    for extra, out in (((), baked), (("--inference-only",), frozen)):
        result = cli(
            "bake",
            model,
            "--checkpoint",
            checkpoint,
            "-o",
            out,
            *extra,
            block=("tensorflow", "keras"),
        )
        assert result.returncode == 0, result.stderr
        assert result.blocked == {"attempts": [], "loaded": []}, "baking touched TensorFlow"
        assert "tflite-runtime-2.14: loads it" in result.stdout

    # 4. The trained model's own answers: the training model with the checkpoint.
    reference = litetrain.Trainer(model)
    reference.load_checkpoint(checkpoint)
    expected = reference.predict(x_test, batch_size=len(x_test))["logits"]
    accuracy = float(np.mean(expected.argmax(1) == y_test.argmax(1)))
    assert accuracy > 0.9

    # 5. Both baked files in every runtime: the same logits.
    calls = [("infer", {"x": x_test})]
    for path in (frozen, baked):
        for runtime in ("ai_edge_litert", "tensorflow", "tflite_runtime"):
            logits = run_elsewhere(runtime, path, calls, tflite_runtime_python, tmp_path)[0]["logits"]
            scale = float(np.max(np.abs(expected)))
            np.testing.assert_allclose(
                logits,
                expected,
                rtol=0,
                atol=1e-6 * scale,
                err_msg=f"{path.name} in {runtime}",
            )
            assert np.array_equal(logits.argmax(1), expected.argmax(1))
    REPORT.append(
        f"end to end: digits 64-64-10, 10 epochs through `litetrain train`, test accuracy {accuracy:.3f}; "
        f"baked {baked.stat().st_size:,} bytes, inference-only {frozen.stat().st_size:,} bytes; "
        "same logits in ai_edge_litert, tf.lite and tflite-runtime 2.14"
    )
