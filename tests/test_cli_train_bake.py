"""`litetrain train` and `litetrain bake`, run as a user would (a separate process)."""

from __future__ import annotations

import json

import litetrain
import numpy as np
import pytest
from cli_runner import litetrain as cli
from conftest import training_batches


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """40 samples for the 32-16-4 MLPs, as the .npz a user would write."""
    path = tmp_path_factory.mktemp("data") / "data.npz"
    batches = training_batches(5, 8, seed=3)
    np.savez(
        path,
        x=np.concatenate([b[0] for b in batches]),
        y=np.concatenate([b[1] for b in batches]),
    )
    return path


def assert_failed(result, *texts):
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    for text in texts:
        assert text in result.stderr, result.stderr


def test_train_prints_a_row_per_epoch_and_checkpoints(tmp_path, mlp_dynamic_path, data):
    checkpoint = tmp_path / "ckpt.npz"
    result = cli(
        "train",
        mlp_dynamic_path,
        "--data",
        data,
        "--epochs",
        "3",
        "--batch-size",
        "8",
        "--checkpoint",
        checkpoint,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert (
        f"training {mlp_dynamic_path} on 40 samples from {data}: epochs 1-3, batch 8, 5 steps per epoch, seed 0"
        in lines
    )
    header = next(i for i, line in enumerate(lines) if line.split()[:3] == ["epoch", "loss", "accuracy"])
    rows = [line.split() for line in lines[header + 1 : header + 4]]
    assert [r[0] for r in rows] == ["1", "2", "3"]
    assert float(rows[2][1]) < float(rows[0][1])  # the loss fell
    assert f"checkpoint: {checkpoint} (after epoch 3)" in lines
    assert not (tmp_path / "ckpt.npz.progress.json").exists()  # the state is in the checkpoint itself
    trainer = litetrain.Trainer(mlp_dynamic_path)
    state = trainer.load_checkpoint(checkpoint)  # a valid checkpoint of this model
    assert (state.epochs_done, state.steps_done, state.seed, state.batch_size) == (3, 15, 0, 8)


def test_a_resumed_run_ends_where_an_unbroken_one_does(tmp_path, mlp_dynamic_path, data):
    straight, resumed = tmp_path / "straight.npz", tmp_path / "resumed.npz"
    common = ("--data", data, "--batch-size", "8", "--seed", "7")
    assert (
        cli(
            "train",
            mlp_dynamic_path,
            *common,
            "--epochs",
            "4",
            "--checkpoint",
            straight,
        ).returncode
        == 0
    )
    assert cli("train", mlp_dynamic_path, *common, "--epochs", "2", "--checkpoint", resumed).returncode == 0
    again = cli(
        "train",
        mlp_dynamic_path,
        *common,
        "--epochs",
        "4",
        "--checkpoint",
        resumed,
        "--resume",
    )
    assert again.returncode == 0, again.stderr
    assert f"resuming from {resumed}: 2 epochs done" in again.stdout and "epochs 3-4" in again.stdout
    a, b = np.load(straight), np.load(resumed)
    for name in ("w0", "b0", "w1", "b1"):
        assert a[name].tobytes() == b[name].tobytes(), name
    done = cli(
        "train",
        mlp_dynamic_path,
        *common,
        "--epochs",
        "4",
        "--checkpoint",
        resumed,
        "--resume",
    )
    assert done.returncode == 0 and "nothing to do" in done.stdout
    assert_failed(
        cli("train", mlp_dynamic_path, *common, "--checkpoint", resumed),
        "exists: pass --resume",
    )


def test_learning_rate_is_set_and_kept_for_the_resumed_run(tmp_path, mlp_settable_lr_path, data):
    checkpoint = tmp_path / "ckpt.npz"
    first = cli(
        "train",
        mlp_settable_lr_path,
        "--data",
        data,
        "--checkpoint",
        checkpoint,
        "--lr",
        "0.25",
    )
    assert first.returncode == 0, first.stderr
    assert "learning rate 0.25" in first.stdout
    resumed = cli(
        "train",
        mlp_settable_lr_path,
        "--data",
        data,
        "--checkpoint",
        checkpoint,
        "--resume",
        "--epochs",
        "2",
    )
    assert resumed.returncode == 0 and "learning rate 0.25" in resumed.stdout, resumed.stdout + resumed.stderr


def test_lr_on_a_model_without_it_names_the_signature(mlp_fixed_path, data):
    assert_failed(
        cli("train", mlp_fixed_path, "--data", data, "--lr", "0.1"),
        "litetrain train: error:",
        str(mlp_fixed_path),
        "has no 'set_learning_rate' signature",
    )


@pytest.mark.needs_matplotlib
def test_plot_writes_a_png(tmp_path, mlp_dynamic_path, data):
    plot = tmp_path / "loss.png"
    result = cli("train", mlp_dynamic_path, "--data", data, "--epochs", "2", "--plot", plot)
    assert result.returncode == 0, result.stderr
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_without_matplotlib_says_what_to_install(tmp_path, mlp_dynamic_path, data):
    result = cli(
        "train",
        mlp_dynamic_path,
        "--data",
        data,
        "--plot",
        tmp_path / "loss.png",
        block=("matplotlib",),
    )
    assert result.blocked == {"attempts": ["matplotlib"], "loaded": []}
    assert_failed(
        result,
        "needs matplotlib, which is not installed: pip install 'litetrain[plot]'",
    )
    assert not (tmp_path / "loss.png").exists()


def test_bad_data_names_the_file_and_the_problem(tmp_path, mlp_fixed_path, data):
    only_x = tmp_path / "only_x.npz"
    np.savez(only_x, x=np.zeros((8, 32), np.float32), labels=np.zeros((8, 4), np.float32))
    assert_failed(
        cli("train", mlp_fixed_path, "--data", only_x),
        str(only_x),
        "lacks 'y' for signature 'train'",
        "'labels'",
    )
    doubles = tmp_path / "doubles.npz"
    np.savez(doubles, x=np.zeros((8, 32)), y=np.zeros((8, 4), np.float32))
    assert_failed(
        cli("train", mlp_fixed_path, "--data", doubles),
        "array 'x'",
        "is float64; input 'x' of 'train' takes float32",
    )
    assert_failed(
        cli("train", mlp_fixed_path, "--data", tmp_path / "none.npz"),
        "data file",
        "none.npz' does not exist",
    )
    assert_failed(
        cli("train", mlp_fixed_path, "--data", data, "--resume"),
        "--resume needs --checkpoint",
    )
    assert_failed(
        cli("train", tmp_path / "none.tflite", "--data", data),
        "none.tflite' does not exist",
    )


def test_bake_writes_a_checked_model_and_says_where_it_runs(tmp_path, mlp_fixed_path, data):
    checkpoint = tmp_path / "ckpt.npz"
    assert cli("train", mlp_fixed_path, "--data", data, "--checkpoint", checkpoint).returncode == 0
    out = tmp_path / "baked.tflite"
    result = cli("bake", mlp_fixed_path, "--checkpoint", checkpoint, "-o", out)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"wrote {out}: {out.stat().st_size:,} bytes, signatures eval, infer, restore, save, train",
        f"checked: loaded fresh, its 'save' signature returns the 4 variables of {checkpoint} bit for bit",
        "tflite-runtime-2.14: loads it",
    ]
    weights = litetrain.Trainer(out).snapshot()
    with np.load(checkpoint) as saved:
        assert all(weights[n].tobytes() == saved[n].tobytes() for n in weights)

    frozen = tmp_path / "frozen.tflite"
    result = cli(
        "bake",
        mlp_fixed_path,
        "--checkpoint",
        checkpoint,
        "-o",
        frozen,
        "--inference-only",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"wrote {frozen}: {frozen.stat().st_size:,} bytes, inference only: 'infer' (")
    assert list(litetrain.Model(frozen).signatures) == ["infer"]


def test_bake_errors_name_the_file_and_write_nothing(tmp_path, mlp_fixed_path, mlp_weights):
    from litetrain.checkpoint import write_checkpoint

    other = tmp_path / "other.npz"
    write_checkpoint(other, {**mlp_weights, "w0": np.zeros((32, 8), np.float32)})
    out = tmp_path / "out.tflite"
    assert_failed(
        cli("bake", mlp_fixed_path, "--checkpoint", other, "-o", out),
        f"checkpoint '{other}' does not fit model '{mlp_fixed_path}'",
        "variable 'w0' is float32[32, 8]",
    )
    assert_failed(
        cli("bake", mlp_fixed_path, "--checkpoint", tmp_path / "none.npz", "-o", out),
        "none.npz' does not exist",
    )
    good = tmp_path / "good.npz"
    write_checkpoint(good, mlp_weights)
    assert_failed(
        cli(
            "bake",
            mlp_fixed_path,
            "--checkpoint",
            good,
            "-o",
            out,
            "--require-runtime",
            "tflite-runtime-1",
        ),
        "unknown runtime 'tflite-runtime-1'; litetrain knows: 'tflite-runtime-2.14'",
    )
    assert not out.exists()


def test_bake_needs_no_tensorflow(tmp_path, mlp_fixed_path, mlp_weights):
    from litetrain.checkpoint import write_checkpoint

    checkpoint = tmp_path / "ckpt.npz"
    write_checkpoint(checkpoint, mlp_weights)
    result = cli(
        "bake",
        mlp_fixed_path,
        "--checkpoint",
        checkpoint,
        "-o",
        tmp_path / "out.tflite",
        block=("tensorflow", "keras"),
    )
    assert result.returncode == 0, result.stderr
    assert result.blocked == {"attempts": [], "loaded": []}


def test_batch_size_zero_is_refused(mlp_dynamic_path, data):
    assert_failed(
        cli("train", mlp_dynamic_path, "--data", data, "--batch-size", "0"), "--batch-size must be at least 1, got 0"
    )


def test_validation_split_and_early_stopping(tmp_path, mlp_dynamic_path):
    # 32 samples that repeat (the training loss falls) and 8 fresh ones held
    # out (the validation loss rises once the model overfits).
    batches = training_batches(4, 8, seed=3)
    fresh = training_batches(1, 8, seed=99)[0]
    path = tmp_path / "split.npz"
    np.savez(
        path,
        x=np.concatenate([b[0] for b in batches] + [fresh[0]]),
        y=np.concatenate([b[1] for b in batches] + [fresh[1]]),
    )
    result = cli(
        "train",
        mlp_dynamic_path,
        "--data",
        path,
        "--epochs",
        "200",
        "--batch-size",
        "8",
        "--validation-split",
        "0.2",
        "--early-stopping",
        "2",
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any("on 32 samples" in line for line in lines), result.stdout
    header = next(line.split() for line in lines if line.split()[:1] == ["epoch"])
    assert {"val_loss", "val_accuracy"} <= set(header), header
    stop = next(line for line in lines if line.startswith("stopped in epoch"))
    assert "early stopping" in stop and int(stop.split()[3].rstrip(":")) < 200, result.stdout


def test_drop_remainder_lets_a_fixed_batch_model_train_any_size(mlp_fixed_path, tmp_path):
    path = tmp_path / "odd.npz"
    batches = training_batches(3, 9, seed=3)
    np.savez(path, x=np.concatenate([b[0] for b in batches]), y=np.concatenate([b[1] for b in batches]))
    assert_failed(cli("train", mlp_fixed_path, "--data", path), "pass drop_remainder=true")
    result = cli("train", mlp_fixed_path, "--data", path, "--drop-remainder")
    assert result.returncode == 0, result.stderr
    assert "27 samples" in result.stdout and "3 steps per epoch" in result.stdout


def test_an_old_progress_file_is_read_once(tmp_path, mlp_dynamic_path, data):
    """Checkpoints of litetrain 0.1 kept their epoch count beside them."""
    import hashlib

    checkpoint = tmp_path / "old.npz"
    trainer = litetrain.Trainer(mlp_dynamic_path)
    trainer.fit(dict(np.load(data)), batch_size=8, epochs=2, seed=0, progress=False)
    litetrain.write_checkpoint(checkpoint, trainer.snapshot())  # no state inside, as 0.1 wrote them
    progress = tmp_path / "old.npz.progress.json"
    progress.write_text(
        json.dumps(
            {
                "format": "litetrain-train-progress",
                "version": 1,
                "epochs": 2,
                "seed": 0,
                "batch_size": 8,
                "learning_rate": None,
                "checkpoint_sha256": hashlib.sha256(checkpoint.read_bytes()).hexdigest(),
            }
        )
    )
    result = cli("train", mlp_dynamic_path, "--data", data, "--epochs", "3", "--checkpoint", checkpoint, "--resume")
    assert result.returncode == 0, result.stderr
    assert f"resuming from {checkpoint}: 2 epochs done" in result.stdout and "epoch 3" in result.stdout
    assert not progress.exists()
    assert litetrain.Trainer(mlp_dynamic_path).load_checkpoint(checkpoint).epochs_done == 3
