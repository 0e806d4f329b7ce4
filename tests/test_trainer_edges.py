"""Edge cases of the training loop, each once a crash or a silent wrong answer."""

from __future__ import annotations

import signal
import stat
import threading

import numpy as np
import pytest

import litetrain
from litetrain.checkpoint import CheckpointError, load_checkpoint, write_checkpoint


def data(n, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 32), dtype=np.float32)
    y = np.eye(4, dtype=np.float32)[rng.integers(0, 4, n)]
    return x, y


def test_predict_with_fewer_samples_than_a_fixed_batch(mlp_fixed_path):
    x, _ = data(3)
    trainer = litetrain.Trainer(mlp_fixed_path)
    padded = np.concatenate([x, x, x[:2]])  # how predict fills the batch of 8
    expected = trainer.model.runner("infer")(x=padded)["logits"][:3]
    np.testing.assert_array_equal(trainer.predict(x, batch_size=8)["logits"], expected)


def test_predict_pads_the_last_fixed_batch_with_real_rows_first(mlp_fixed_path):
    x, _ = data(13)
    trainer = litetrain.Trainer(mlp_fixed_path)
    runner = trainer.model.runner("infer")
    expected = np.concatenate([runner(x=x[:8])["logits"], runner(x=np.concatenate([x[8:], x[:3]]))["logits"][:5]])
    np.testing.assert_array_equal(trainer.predict(x, batch_size=8)["logits"], expected)


def test_a_huge_batch_size_takes_all_samples_in_one_step(mlp_dynamic_path):
    x, y = data(16)
    trainer = litetrain.Trainer(mlp_dynamic_path)
    assert trainer.fit(x, y, batch_size=2**62, progress=False).steps == 1
    assert trainer.predict(x, batch_size=2**62)["logits"].shape == (16, 4)


def test_other_byte_order_is_refused_not_misread(mlp_dynamic_path):
    x, y = data(8)
    trainer = litetrain.Trainer(mlp_dynamic_path)
    swapped = x.astype(">f4")
    with pytest.raises(ValueError, match="must be float32, got >f4"):
        trainer.model.runner("infer")(x=swapped)
    with pytest.raises(ValueError, match=r"must be float32, got >f4.*astype\(np.float32\)"):
        trainer.fit(swapped, y, progress=False)


def test_one_runner_shared_by_threads_returns_each_its_own_outputs(mlp_dynamic_path):
    runner = litetrain.Model(mlp_dynamic_path).runner("infer")
    errors = []

    def work(batch):
        x = np.full((batch, 32), 0.5, np.float32)
        for _ in range(200):
            shape = runner(x=x)["logits"].shape
            if shape != (batch, 4):
                errors.append((batch, shape))

    threads = [threading.Thread(target=work, args=(b,)) for b in (1, 300)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_ctrl_c_inside_fit_stops_it_and_does_not_stop_later_fits(mlp_dynamic_path):
    x, y = data(400)
    trainer = litetrain.Trainer(mlp_dynamic_path)

    def press_ctrl_c(step, epoch, loss):
        signal.raise_signal(signal.SIGINT)

    # Python's own handler, as in an interactive run, even when the test run
    # itself started with SIGINT ignored (nohup, `&` in a script).
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            trainer.fit(x, y, batch_size=8, epochs=5, callback=press_ctrl_c, callback_every=10, progress=False)
    finally:
        signal.signal(signal.SIGINT, previous)
    steps = []
    worker = threading.Thread(target=lambda: steps.append(trainer.fit(x, y, batch_size=8, progress=False).steps))
    worker.start()
    worker.join()
    assert steps == [50]
    assert trainer.fit(x, y, batch_size=8, progress=False).steps == 50


def test_ctrl_c_is_left_alone_when_the_application_ignores_it(mlp_dynamic_path):
    x, y = data(80)
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        history = litetrain.Trainer(mlp_dynamic_path).fit(
            x,
            y,
            batch_size=8,
            epochs=2,
            callback=lambda *a: signal.raise_signal(signal.SIGINT),
            callback_every=3,
            progress=False,
        )
    finally:
        signal.signal(signal.SIGINT, previous)
    assert history.steps == 20 and not history.stopped


def test_callback_period_counts_across_epochs(mlp_dynamic_path):
    x, y = data(80)
    seen = []
    litetrain.Trainer(mlp_dynamic_path).fit(
        x, y, batch_size=8, epochs=3, callback=lambda s, e, loss: seen.append(s), callback_every=4, progress=False
    )
    # every 4th step, and the end of each 10-step epoch (once at step 20)
    assert seen == [4, 8, 10, 12, 16, 20, 24, 28, 30]


def test_an_epoch_ended_by_a_nonfinite_loss_is_not_counted(mlp_dynamic_path):
    x, y = data(16)
    x[15] = np.nan  # the last step of the epoch
    trainer = litetrain.Trainer(mlp_dynamic_path)
    history = trainer.fit(
        x, y, batch_size=8, shuffle=False, on_nonfinite="rollback", validation_data=data(8), progress=False
    )
    assert history.stopped and history.steps == 2
    assert history.epoch_losses == [] and history.validation == []


def test_checkpoint_names_that_numpy_keywords_would_swallow(tmp_path):
    variables = {"file": np.arange(3, dtype=np.float32), "allow_pickle": np.ones((2, 2), np.int32)}
    path = tmp_path / "names.npz"
    write_checkpoint(path, variables)
    back = load_checkpoint(path)
    assert set(back) == set(variables)
    np.testing.assert_array_equal(back["allow_pickle"], variables["allow_pickle"])
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_non_checkpoint_files_raise_checkpoint_error(tmp_path):
    npy = tmp_path / "one.npy"
    np.save(npy, np.zeros(3))
    with pytest.raises(CheckpointError, match="single .npy array"):
        load_checkpoint(npy)
    text = tmp_path / "text.npz"
    text.write_text("not a zip")
    with pytest.raises(CheckpointError, match="damaged"):
        load_checkpoint(text)


def test_old_names_still_work_with_a_deprecation_warning(tmp_path, mlp_dynamic_path):
    from litetrain.checkpoint import read_checkpoint

    trainer = litetrain.Trainer(mlp_dynamic_path.read_bytes())
    with pytest.warns(DeprecationWarning, match=r"use Trainer.snapshot\(\)"):
        weights = trainer.weights()
    with pytest.warns(DeprecationWarning, match=r"use Trainer.restore\(\)"):
        trainer.set_weights(weights)
    trainer.save_checkpoint(tmp_path / "ck.npz")
    with pytest.warns(DeprecationWarning, match="use litetrain.load_checkpoint"):
        assert set(read_checkpoint(tmp_path / "ck.npz")) == set(weights)
