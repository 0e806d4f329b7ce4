"""The native training loop: fit, evaluate, predict, snapshots, checkpoints."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import litetrain
from litetrain._reference_models import digits_dataset


@pytest.fixture(scope="session")
def digits():
    return digits_dataset(seed=0)


def accuracy(logits, y):
    return float(np.mean(logits.argmax(1) == y.argmax(1)))


def python_loop(model_bytes, x, y, batch, epochs, seed):
    """The same steps as fit, through a Python signature-runner loop."""
    model = litetrain.Model(model_bytes)
    train = model.runner("train")
    losses = []
    for epoch in range(epochs):
        order = litetrain.epoch_order(len(x), seed, epoch)
        for start in range(0, len(x), batch):
            rows = order[start : start + batch]
            losses.append(float(train(x=x[rows], y=y[rows])["loss"]))
    return np.array(losses, np.float32), model.runner("infer")


def test_fit_matches_a_python_runner_loop_on_digits(digits, digits_model):
    x, y, x_test, y_test = digits
    trainer = litetrain.Trainer(digits_model)
    history = trainer.fit(x, y, batch_size=32, epochs=20, seed=7, progress=False)
    ours = accuracy(trainer.predict(x_test)["logits"], y_test)

    losses, infer = python_loop(digits_model, x, y, 32, 20, seed=7)
    theirs = accuracy(infer(x=x_test)["logits"], y_test)
    np.testing.assert_array_equal(history.losses, losses)
    assert ours == theirs and ours > 0.9
    assert history.steps == 20 * 43 and len(history.epoch_losses) == 20
    assert history.epoch_losses[-1] < history.epoch_losses[0]
    assert history.epoch_metrics[-1]["accuracy"] > history.epoch_metrics[0]["accuracy"]


def test_snapshot_restore_reproduces_later_epochs_bit_for_bit(digits, digits_model):
    x, y, _, _ = digits
    trainer = litetrain.Trainer(digits_model)
    trainer.fit(x, y, batch_size=32, epochs=5, progress=False)
    snapshot = trainer.snapshot()
    first = trainer.fit(x, y, batch_size=32, epochs=15, initial_epoch=5, progress=False)
    trainer.restore(snapshot)
    second = trainer.fit(x, y, batch_size=32, epochs=15, initial_epoch=5, progress=False)
    np.testing.assert_array_equal(first.losses, second.losses)
    np.testing.assert_array_equal(trainer.snapshot()["w0"], trainer.snapshot()["w0"])


def test_evaluate_and_predict_agree_with_the_runners(digits, digits_model):
    x, y, x_test, y_test = digits
    trainer = litetrain.Trainer(digits_model)
    trainer.fit(x, y, batch_size=32, epochs=2, progress=False)
    metrics = trainer.evaluate(x_test, y_test, batch_size=50)
    logits = trainer.model.runner("infer")(x=x_test)["logits"]
    np.testing.assert_allclose(trainer.predict(x_test, batch_size=50)["logits"], logits, rtol=1e-6, atol=1e-6)
    assert metrics["accuracy"] == pytest.approx(accuracy(logits, y_test), abs=1e-6)
    assert metrics["loss"] > 0


def test_validation_data_is_evaluated_each_epoch(digits, digits_model):
    x, y, x_test, y_test = digits
    history = litetrain.Trainer(digits_model).fit(x, y, epochs=3, validation_data=(x_test, y_test), progress=False)
    assert len(history.validation) == 3
    assert set(history.validation[0]) == {"loss", "accuracy"}


def test_partial_batches_are_trained_unless_dropped(mlp_dynamic_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((21, 32), dtype=np.float32)
    y = np.eye(4, dtype=np.float32)[rng.integers(0, 4, 21)]
    trainer = litetrain.Trainer(mlp_dynamic_path)
    assert trainer.fit(x, y, batch_size=8, progress=False).steps == 3
    assert trainer.fit(x, y, batch_size=8, drop_remainder=True, progress=False).steps == 2


def test_fixed_batch_model_refuses_a_remainder_and_other_batch_sizes(mlp_fixed_path):
    x = np.zeros((21, 32), np.float32)
    y = np.zeros((21, 4), np.float32)
    trainer = litetrain.Trainer(mlp_fixed_path)
    with pytest.raises(ValueError, match="last batch of 5.*drop_remainder"):
        trainer.fit(x, y, batch_size=8, progress=False)
    with pytest.raises(ValueError, match="fixed batch of 8"):
        trainer.fit(x, y, batch_size=4, progress=False)
    assert trainer.fit(x, y, batch_size=8, drop_remainder=True, progress=False).steps == 2


def test_memory_mapped_data_trains(tmp_path, digits, digits_model):
    x, y, _, _ = digits
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    mx = np.load(tmp_path / "x.npy", mmap_mode="r")
    my = np.load(tmp_path / "y.npy", mmap_mode="r")
    from_memory = litetrain.Trainer(digits_model).fit(x, y, epochs=2, progress=False)
    from_disk = litetrain.Trainer(digits_model).fit(mx, my, epochs=2, progress=False)
    np.testing.assert_array_equal(from_memory.losses, from_disk.losses)


def test_callback_sees_steps_and_can_stop(digits, digits_model):
    x, y, _, _ = digits
    seen = []

    def callback(step, epoch, loss):
        seen.append((step, epoch))
        return step < 20

    history = litetrain.Trainer(digits_model).fit(x, y, epochs=3, callback=callback, callback_every=10, progress=False)
    assert history.stopped and history.stop_reason == "callback"
    assert history.steps == 20
    assert seen == [(10, 0), (20, 0)]


def test_callback_exceptions_propagate(digits, digits_model):
    x, y, _, _ = digits

    def callback(step, epoch, loss):
        raise RuntimeError("from the callback")

    trainer = litetrain.Trainer(digits_model)
    with pytest.raises(RuntimeError, match="from the callback"):
        trainer.fit(x, y, epochs=1, callback=callback, callback_every=5, progress=False)
    trainer.fit(x, y, epochs=1, progress=False)  # still usable


def nan_data(x, y, at):
    x = x.copy()
    x[at] = np.nan
    return x, y


def test_nonfinite_raise(digits, digits_model):
    x, y, _, _ = digits
    x, y = nan_data(x, y, 100)
    with pytest.raises(litetrain.NonFiniteLoss, match="non-finite loss"):
        litetrain.Trainer(digits_model).fit(x, y, shuffle=False, progress=False)


def test_nonfinite_stop(digits, digits_model):
    x, y, _, _ = digits
    x, y = nan_data(x, y, 100)
    history = litetrain.Trainer(digits_model).fit(x, y, shuffle=False, on_nonfinite="stop", progress=False)
    assert history.stopped and "non-finite" in history.stop_reason
    assert history.steps == 100 // 32 + 1 and not np.isfinite(history.losses[-1])


def test_nonfinite_rollback_restores_the_epoch_start(digits, digits_model):
    x, y, _, _ = digits
    trainer = litetrain.Trainer(digits_model)
    trainer.fit(x, y, epochs=1, progress=False)
    before = trainer.snapshot()
    bad_x, bad_y = nan_data(x, y, 500)
    history = trainer.fit(bad_x, bad_y, shuffle=False, on_nonfinite="rollback", progress=False)
    assert history.stopped and "rolled back" in history.stop_reason
    for name, value in trainer.snapshot().items():
        np.testing.assert_array_equal(value, before[name])


def test_bad_training_data_is_named(mlp_dynamic_path):
    trainer = litetrain.Trainer(mlp_dynamic_path)
    x = np.zeros((16, 32), np.float32)
    y = np.zeros((16, 4), np.float32)
    with pytest.raises(ValueError, match="'x' must be float32, got float64"):
        trainer.fit(x.astype(np.float64), y, progress=False)
    with pytest.raises(ValueError, match="C-contiguous.*ascontiguousarray"):
        trainer.fit(np.zeros((32, 16), np.float32).T, y, progress=False)
    with pytest.raises(ValueError, match=r"'x' has shape \[16, 31\].*\[-1, 32\]"):
        trainer.fit(np.zeros((16, 31), np.float32), y, progress=False)
    with pytest.raises(ValueError, match="same number of samples"):
        trainer.fit(x, y[:8], progress=False)
    with pytest.raises(ValueError, match="no input 'z'"):
        trainer.fit({"x": x, "y": y, "z": y}, progress=False)
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        trainer.fit(x, y, batch_size=0, progress=False)
    with pytest.raises(ValueError, match="on_nonfinite"):
        trainer.fit(x, y, on_nonfinite="ignore", progress=False)


def test_restore_refuses_another_models_snapshot(mlp_dynamic_path, digits_model):
    small = litetrain.Trainer(mlp_dynamic_path)
    before = small.snapshot()
    with pytest.raises(ValueError, match=r"variable 'w\d' in the snapshot is float32\[\d+, \d+\], the model's is"):
        small.restore(litetrain.Trainer(digits_model).snapshot())
    for name, value in small.snapshot().items():
        np.testing.assert_array_equal(value, before[name])


def test_checkpoint_round_trip_and_numpy_can_read_it(tmp_path, digits, digits_model):
    x, y, _, _ = digits
    trainer = litetrain.Trainer(digits_model)
    trainer.fit(x, y, epochs=1, progress=False)
    path = tmp_path / "ckpt.npz"
    trainer.save_checkpoint(path)
    with np.load(path) as archive:
        np.testing.assert_array_equal(archive["w0"], trainer.snapshot()["w0"])
    fresh = litetrain.Trainer(digits_model)
    fresh.load_checkpoint(path)
    for name, value in trainer.snapshot().items():
        np.testing.assert_array_equal(fresh.snapshot()[name], value)
    assert not list(tmp_path.glob(".*tmp"))  # no temporary left behind


def test_damaged_or_foreign_checkpoints_leave_the_trainer_unchanged(tmp_path, digits_model, mlp_dynamic_path):
    trainer = litetrain.Trainer(digits_model)
    before = trainer.snapshot()
    good = tmp_path / "good.npz"
    trainer.save_checkpoint(good)
    data = good.read_bytes()

    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(data[: len(data) // 2])
    flipped = tmp_path / "flipped.npz"
    damaged = bytearray(data)
    damaged[len(data) // 3] ^= 0x40
    flipped.write_bytes(bytes(damaged))
    foreign = tmp_path / "foreign.npz"
    litetrain.Trainer(mlp_dynamic_path).save_checkpoint(foreign)
    plain = tmp_path / "plain.npz"
    np.savez(plain, w0=before["w0"])

    for path, message in [
        (truncated, "damaged"),
        (flipped, "damaged|checksum"),
        (foreign, "another model"),
        (plain, "not a litetrain checkpoint"),
    ]:
        with pytest.raises(litetrain.CheckpointError, match=message):
            trainer.load_checkpoint(path)
    with pytest.raises(FileNotFoundError):
        trainer.load_checkpoint(tmp_path / "missing.npz")
    for name, value in trainer.snapshot().items():
        np.testing.assert_array_equal(value, before[name])


WRITER = textwrap.dedent(
    """
    import sys, numpy as np
    from litetrain.checkpoint import write_checkpoint
    rng = np.random.default_rng(0)
    big = {f"v{i}": rng.standard_normal(1_000_000, dtype=np.float32) for i in range(8)}
    print("ready", flush=True)
    while True:
        write_checkpoint(sys.argv[1], big)
    """
)


@pytest.mark.slow
def test_a_checkpoint_killed_mid_write_never_leaves_a_damaged_file(tmp_path):
    from litetrain.checkpoint import load_checkpoint

    path = tmp_path / "ckpt.npz"
    rng = np.random.default_rng(1)
    outcomes = []
    for _ in range(6):
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE)
        assert writer.stdout.readline().strip() == b"ready"
        time.sleep(float(rng.uniform(0.05, 0.6)))
        writer.kill()
        writer.wait()
        writer.stdout.close()
        if path.exists():
            assert len(load_checkpoint(path)) == 8  # complete, checksum verified
            outcomes.append("complete")
        else:
            outcomes.append("absent")
    assert "complete" in outcomes


@pytest.mark.slow
def test_ctrl_c_stops_fit_and_leaves_the_model_usable(tmp_path, digits_model):
    model_path = tmp_path / "digits.tflite"
    model_path.write_bytes(digits_model)
    script = textwrap.dedent(
        """
        import signal, sys, time, numpy as np, litetrain
        from litetrain._reference_models import digits_dataset
        # Python's own handler even when this process inherited SIGINT ignored
        # (a test run started with nohup or `&` from a script).
        signal.signal(signal.SIGINT, signal.default_int_handler)
        x, y, xt, yt = digits_dataset()
        trainer = litetrain.Trainer(sys.argv[1])
        print("training", flush=True)
        start = time.perf_counter()
        try:
            trainer.fit(x, y, epochs=100000, progress=False)
        except KeyboardInterrupt:
            print(f"interrupted after {time.perf_counter() - start:.2f}s", flush=True)
        logits = trainer.predict(xt)["logits"]
        print("usable", bool(np.isfinite(logits).all()), flush=True)
        """
    )
    child = subprocess.Popen([sys.executable, "-c", script, str(model_path)], stdout=subprocess.PIPE, text=True)
    # communicate() below reads and closes the pipe
    assert child.stdout.readline().strip() == "training"
    time.sleep(1.0)
    sent = time.perf_counter()
    child.send_signal(signal.SIGINT)
    out, _ = child.communicate(timeout=60)
    assert child.returncode == 0, out
    assert "interrupted" in out and "usable True" in out
    assert time.perf_counter() - sent < 10
