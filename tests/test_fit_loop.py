"""The one native fit loop: Keras-style history and callbacks, resume from a
checkpoint's own state, any dataset size on fixed-batch models, checks made
before the first step."""

from __future__ import annotations

import csv
import os
import threading

import litetrain
import numpy as np
import pytest
from conftest import build_host_import
from litetrain import callbacks
from litetrain._reference_models import digits_dataset

# Tests that build their models with TensorFlow skip on a target machine without it
# through build_host_import (in the test or in its fixture) or their needs_tensorflow mark.


@pytest.fixture(scope="module")
def digits():
    return digits_dataset()


@pytest.fixture(scope="module")
def sparse_models():
    """A 64-16-10 digits classifier with sparse labels, built twice with the
    same initial weights: fixed batch 32 and dynamic batch."""
    keras = build_host_import("keras", "litetrain.build")

    def build(batch_size):
        keras.utils.set_random_seed(1)
        model = keras.Sequential(
            [
                keras.Input((64,)),
                keras.layers.Dense(16, activation="relu", name="hidden"),
                keras.layers.Dense(10, name="logits"),
            ]
        )
        return litetrain.build(
            model, "sparse_categorical_crossentropy", litetrain.optim.SGD(0.1), batch_size=batch_size, from_logits=True
        ).tflite

    return {"fixed": build(32), "dynamic": build(None)}


def sparse_data(digits):
    x_train, y_train, x_test, y_test = digits
    return x_train, np.argmax(y_train, 1).astype(np.int32), x_test, np.argmax(y_test, 1).astype(np.int32)


def snapshot_bytes(trainer):
    return {k: v.tobytes() for k, v in trainer.snapshot().items()}


# --- history ---------------------------------------------------------------------------


def test_history_has_keras_keys_equal_to_its_fields(sparse_models, digits):
    x, y, xv, yv = sparse_data(digits)
    trainer = litetrain.Trainer(sparse_models["dynamic"])
    history = trainer.fit(x, y, epochs=3, validation_data=(xv, yv), progress=False)
    h = history.history
    assert sorted(h) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert h["loss"] == history.epoch_losses
    assert h["accuracy"] == [m["accuracy"] for m in history.epoch_metrics]
    assert h["val_loss"] == [v["loss"] for v in history.validation]
    assert history.epoch == [0, 1, 2]
    assert history.params == {"epochs": 3, "steps": -(-len(x) // 32), "batch_size": 32}
    assert len(history.losses) == history.steps == 3 * history.params["steps"]
    # Validation after each epoch is the eval signature on the weights of that moment.
    assert trainer.evaluate(xv, yv) == pytest.approx(history.validation[-1], abs=0)


def test_validation_split_holds_out_the_last_samples(sparse_models, digits):
    x, y, _, _ = sparse_data(digits)
    split = litetrain.Trainer(sparse_models["dynamic"]).fit(
        x, y, epochs=1, validation_split=0.25, progress=False, shuffle=False
    )
    held = int(len(x) * 0.25)
    by_hand = litetrain.Trainer(sparse_models["dynamic"])
    explicit = by_hand.fit(
        x[:-held], y[:-held], epochs=1, validation_data=(x[-held:], y[-held:]), progress=False, shuffle=False
    )
    assert split.history == explicit.history
    with pytest.raises(ValueError, match="validation_split must be a fraction"):
        litetrain.Trainer(sparse_models["dynamic"]).fit(x, y, validation_split=1.0, progress=False)


# --- checks before the first step ----------------------------------------------------------


@pytest.mark.parametrize("bad", [10, 12, -1])
def test_out_of_range_labels_raise_before_any_step(sparse_models, digits, bad):
    x, y, _, _ = sparse_data(digits)
    y = y.copy()
    y[57] = bad
    trainer = litetrain.Trainer(sparse_models["dynamic"])
    before = snapshot_bytes(trainer)
    with pytest.raises(ValueError, match=rf"'y' holds label {bad} at sample 57, but the model has 10 classes"):
        trainer.fit(x, y, progress=False)
    assert snapshot_bytes(trainer) == before
    with pytest.raises(ValueError, match="holds label"):
        trainer.evaluate(x, y)


def test_bad_validation_data_raises_before_any_step(sparse_models, digits):
    x, y, xv, yv = sparse_data(digits)
    trainer = litetrain.Trainer(sparse_models["dynamic"])
    before = snapshot_bytes(trainer)
    with pytest.raises(ValueError, match="must be int32, got float32.*np.argmax"):
        trainer.fit(x, y, validation_data=(xv, digits[3]), progress=False)
    yv = yv.copy()
    yv[3] = 99
    with pytest.raises(ValueError, match="validation array 'y' holds label 99"):
        trainer.fit(x, y, validation_data=(xv, yv), progress=False)
    assert snapshot_bytes(trainer) == before


def test_messages_say_the_fix(sparse_models, digits):
    x, y, _, _ = sparse_data(digits)
    trainer = litetrain.Trainer(sparse_models["dynamic"])
    with pytest.raises(ValueError, match=r"must be int32, got float32.*np\.argmax\(y, axis=-1\)\.astype\(np\.int32\)"):
        trainer.fit(x, digits[1], progress=False)  # one-hot labels on a sparse model
    with pytest.raises(ValueError, match=r"has shape \[\d+, 63\].*must have shape \[samples, 64\]"):
        trainer.fit(x[:, :63], y, progress=False)  # a slice: the shape is the problem, not the layout
    keras = build_host_import("keras", "litetrain.build")
    with pytest.raises(TypeError, match=r"Keras model.*litetrain\.build\(model"):
        litetrain.Trainer(keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]))


@pytest.mark.parametrize(
    "options, message",
    [
        ({"seed": -1}, "seed must be at least 0, got -1"),
        ({"batch_size": 2**63}, "batch_size must be at least 1"),
        ({"batch_size": True}, "batch_size must be an integer, got bool"),
        ({"epochs": 1.5}, "epochs must be an integer"),
        ({"initial_epoch": -2}, "initial_epoch must be at least 0"),
    ],
)
def test_integer_options_are_range_checked_without_dumping_data(sparse_models, digits, options, message):
    x, y, _, _ = sparse_data(digits)
    trainer = litetrain.Trainer(sparse_models["dynamic"])
    with pytest.raises(ValueError, match=message) as raised:
        trainer.fit(x, y, progress=False, **options)
    assert len(str(raised.value)) < 200


def test_threads_are_range_checked(sparse_models):
    with pytest.raises(ValueError, match="threads must be between 1 and 4096, got 2147483648"):
        litetrain.Model(sparse_models["dynamic"], threads=2**31)


# --- any dataset size on fixed-batch models --------------------------------------------------


def test_fixed_batch_model_evaluates_any_sample_count_exactly(sparse_models, digits):
    x, y, _, _ = sparse_data(digits)
    fixed = litetrain.Trainer(sparse_models["fixed"])
    dynamic = litetrain.Trainer(sparse_models["dynamic"])
    fixed.fit(x[:448], y[:448], batch_size=32, epochs=2, progress=False)
    dynamic.restore(fixed.snapshot())
    for n in (449, 450, 50, 7, 1, 31, 33):
        want = dynamic.evaluate(x[:n], y[:n], batch_size=64)
        got = fixed.evaluate(x[:n], y[:n], batch_size=32)
        assert got.keys() == want.keys()
        for name in want:
            assert got[name] == pytest.approx(want[name], abs=1e-6), (n, name)
    logits = fixed.predict(x[:449], batch_size=32)
    assert next(iter(logits.values())).shape[0] == 449


def test_fixed_batch_model_validates_any_sample_count(sparse_models, digits):
    x, y, xv, yv = sparse_data(digits)
    history = litetrain.Trainer(sparse_models["fixed"]).fit(
        x, y, batch_size=32, drop_remainder=True, validation_data=(xv[:50], yv[:50]), epochs=2, progress=False
    )
    assert len(history.validation) == 2


# --- callbacks against Keras' own ---------------------------------------------------------------


class _FakeKerasModel:
    """What Keras' EarlyStopping / ReduceLROnPlateau touch of a model."""

    def __init__(self, learning_rate=0.1):
        self.stop_training = False
        self.optimizer = type("Optimizer", (), {"learning_rate": learning_rate})()
        self.metrics = []

    def get_weights(self):
        return []

    def set_weights(self, weights):
        pass


CURVES = [
    [1.0, 0.9, 0.8, 0.85, 0.84, 0.83, 0.82, 0.9, 0.95, 0.99, 1.0, 1.1],
    [0.5, 0.49995, 0.4999, 0.6, 0.4, 0.41, 0.42, 0.43, 0.39, 0.5, 0.5, 0.5],
    [2.0, 1.0, 0.5, 0.25, 0.125, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1],
]


def keras_stop_epoch(keras, curve, **kwargs):
    early = keras.callbacks.EarlyStopping(**kwargs)
    model = _FakeKerasModel()
    early.set_model(model)
    early.on_train_begin()
    for epoch, value in enumerate(curve):
        early.on_epoch_end(epoch, {"val_loss": value})
        if model.stop_training:
            return epoch
    return None


class _CurveTrainer:
    """Enough of a Trainer for a callback fed a given validation curve."""

    def __init__(self, learning_rate=0.1):
        self.stop_training = False
        self.learning_rate = learning_rate

    def snapshot(self):
        return {}

    def set_learning_rate(self, value):
        self.learning_rate = value

    def _learning_rate_input(self):
        return "learning_rate"


@pytest.mark.parametrize("curve", CURVES)
@pytest.mark.parametrize(
    "kwargs", [{"patience": 0}, {"patience": 2}, {"patience": 3, "min_delta": 0.001}, {"patience": 1, "baseline": 0.45}]
)
def test_early_stopping_stops_where_keras_does(curve, kwargs):
    keras = build_host_import("keras", "litetrain.callbacks")
    ours = callbacks.EarlyStopping(**kwargs)
    trainer = _CurveTrainer()
    ours.set_trainer(trainer)
    ours.on_train_begin()
    stopped = None
    for epoch, value in enumerate(curve):
        ours.on_epoch_end(epoch, {"val_loss": value})
        if trainer.stop_training:
            stopped = epoch
            break
    assert stopped == keras_stop_epoch(keras, curve, **kwargs)


@pytest.mark.parametrize("curve", CURVES)
@pytest.mark.parametrize(
    "kwargs", [{"patience": 1}, {"patience": 2, "factor": 0.5, "cooldown": 1}, {"patience": 1, "min_lr": 0.05}]
)
def test_reduce_lr_on_plateau_changes_the_rate_when_keras_does(curve, kwargs):
    keras = build_host_import("keras", "litetrain.callbacks")
    theirs = keras.callbacks.ReduceLROnPlateau(**kwargs)
    model = _FakeKerasModel(0.1)
    theirs.set_model(model)
    theirs.on_train_begin()
    ours = callbacks.ReduceLROnPlateau(**kwargs)
    trainer = _CurveTrainer(0.1)
    ours.set_trainer(trainer)
    ours.on_train_begin()
    for epoch, value in enumerate(curve):
        theirs.on_epoch_end(epoch, {"val_loss": value})
        ours.on_epoch_end(epoch, {"val_loss": value})
        assert trainer.learning_rate == pytest.approx(float(model.optimizer.learning_rate), rel=1e-12), epoch


def _logs(curve):
    return [{"loss": 2.0 - 0.1 * epoch, "accuracy": 0.5, "val_loss": value} for epoch, value in enumerate(curve)]


@pytest.mark.parametrize("curve", CURVES)
def test_csv_logger_writes_what_keras_writes(curve, tmp_path):
    keras = build_host_import("keras", "litetrain.callbacks")
    theirs = keras.callbacks.CSVLogger(str(tmp_path / "keras.csv"))
    theirs.set_model(_FakeKerasModel())
    ours = callbacks.CSVLogger(tmp_path / "ours.csv")
    ours.set_trainer(_CurveTrainer())
    for callback in (theirs, ours):
        callback.on_train_begin()
        for epoch, logs in enumerate(_logs(curve)):
            callback.on_epoch_end(epoch, dict(logs))
        callback.on_train_end()
    assert (tmp_path / "ours.csv").read_bytes() == (tmp_path / "keras.csv").read_bytes()


class _CheckpointTrainer(_CurveTrainer):
    def __init__(self):
        super().__init__()
        self.saved = []

    def save_checkpoint(self, path):
        self.saved.append(path)


@pytest.mark.parametrize("curve", CURVES)
@pytest.mark.parametrize(
    "kwargs", [{}, {"save_best_only": True}, {"save_best_only": True, "initial_value_threshold": 0.45}]
)
def test_model_checkpoint_writes_on_the_epochs_keras_does(curve, kwargs, tmp_path):
    keras = build_host_import("keras", "litetrain.callbacks")
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    theirs = keras.callbacks.ModelCheckpoint(
        str(tmp_path / "keras-{epoch}.weights.h5"), save_weights_only=True, **kwargs
    )
    theirs.set_model(model)
    theirs.on_train_begin()
    ours = callbacks.ModelCheckpoint(str(tmp_path / "ours-{epoch}.npz"), **kwargs)
    trainer = _CheckpointTrainer()
    ours.set_trainer(trainer)
    ours.on_train_begin()
    for epoch, logs in enumerate(_logs(curve)):
        theirs.on_epoch_end(epoch, dict(logs))
        ours.on_epoch_end(epoch, dict(logs))
    keras_epochs = sorted(int(p.name.split("-")[1].split(".")[0]) for p in tmp_path.glob("keras-*.weights.h5"))
    our_epochs = [int(os.path.basename(p).split("-")[1].split(".")[0]) for p in trainer.saved]
    assert our_epochs == keras_epochs


def test_learning_rate_scheduler_sets_the_rates_keras_sets():
    keras = build_host_import("keras", "litetrain.callbacks")
    schedule = lambda epoch, rate: rate * 0.5 if epoch % 2 else rate  # noqa: E731
    model = _FakeKerasModel(0.1)
    theirs = keras.callbacks.LearningRateScheduler(schedule)
    theirs.set_model(model)
    ours = callbacks.LearningRateScheduler(schedule)
    trainer = _CurveTrainer(0.1)
    ours.set_trainer(trainer)
    for epoch in range(6):
        theirs.on_epoch_begin(epoch)
        ours.on_epoch_begin(epoch)
        assert trainer.learning_rate == pytest.approx(float(model.optimizer.learning_rate), rel=1e-12), epoch


def test_early_stopping_in_a_real_fit_stops_where_keras_would(sparse_models, digits):
    keras = build_host_import("keras", "litetrain.callbacks")
    x, y, xv, yv = sparse_data(digits)
    unbroken = litetrain.Trainer(sparse_models["dynamic"]).fit(
        x, y, epochs=12, validation_data=(xv, yv), progress=False
    )
    curve = unbroken.history["val_accuracy"]
    expected = keras_stop_epoch(keras, [-v for v in curve], monitor="val_loss", patience=1)
    early = callbacks.EarlyStopping(monitor="val_accuracy", patience=1, restore_best_weights=True)
    trainer = litetrain.Trainer(sparse_models["dynamic"])
    history = trainer.fit(x, y, epochs=12, validation_data=(xv, yv), callbacks=[early], progress=False)
    assert history.history["val_accuracy"] == curve[: len(history.epoch)]
    assert (early.stopped_epoch or None) == expected
    if expected is not None:
        assert history.stopped and history.epoch[-1] == expected
    # The best epoch's weights are back.
    assert trainer.evaluate(xv, yv)["accuracy"] == pytest.approx(max(history.history["val_accuracy"]), abs=0)


def test_reduce_lr_and_scheduler_set_the_models_rate(mlp_settable_lr_path):
    from conftest import training_batches

    batches = training_batches(4, 8, seed=1)
    x = np.concatenate([b[0] for b in batches])
    y = np.concatenate([b[1] for b in batches])
    trainer = litetrain.Trainer(mlp_settable_lr_path)
    rates = []

    class Record(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            rates.append(logs["learning_rate"])

    trainer.fit(
        x,
        y,
        epochs=4,
        batch_size=8,
        progress=False,
        callbacks=[callbacks.LearningRateScheduler(lambda e: 0.5 / (e + 1)), Record()],
    )
    assert rates == pytest.approx([0.5, 0.25, 0.5 / 3, 0.125])
    with pytest.raises(ValueError, match="learning rate must be a positive finite float32"):
        trainer.set_learning_rate(1e39)
    assert trainer.learning_rate == pytest.approx(0.125)


def test_csv_logger_and_terminate_on_nan(sparse_models, digits, tmp_path):
    x, y, xv, yv = sparse_data(digits)
    log = tmp_path / "log.csv"
    litetrain.Trainer(sparse_models["dynamic"]).fit(
        x, y, epochs=2, validation_data=(xv, yv), callbacks=[callbacks.CSVLogger(log)], progress=False
    )
    with log.open() as f:
        rows = list(csv.DictReader(f))
    assert [r["epoch"] for r in rows] == ["0", "1"]
    assert set(rows[0]) == {"epoch", "loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"}
    bad = x.copy()
    bad[40] = np.inf
    history = litetrain.Trainer(sparse_models["dynamic"]).fit(
        bad, y, epochs=2, shuffle=False, callbacks=[callbacks.TerminateOnNaN()], progress=False
    )
    assert history.stopped and "non-finite loss" in history.stop_reason and history.steps == 2


# --- resume -----------------------------------------------------------------------------------------


def test_resume_from_a_model_checkpoint_ends_bit_for_bit_where_an_unbroken_run_does(sparse_models, digits, tmp_path):
    x, y, xv, yv = sparse_data(digits)
    unbroken = litetrain.Trainer(sparse_models["dynamic"])
    unbroken.fit(x, y, epochs=5, seed=3, progress=False)

    first = litetrain.Trainer(sparse_models["dynamic"])
    path = tmp_path / "ck-{epoch}.npz"
    first.fit(x, y, epochs=2, seed=3, callbacks=[callbacks.ModelCheckpoint(path)], progress=False)
    assert (tmp_path / "ck-1.npz").exists() and (tmp_path / "ck-2.npz").exists()

    resumed = litetrain.Trainer(sparse_models["dynamic"])
    history = resumed.fit(x, y, epochs=5, seed=3, resume_from=tmp_path / "ck-2.npz", progress=False)
    assert history.epoch == [2, 3, 4]
    assert snapshot_bytes(resumed) == snapshot_bytes(unbroken)
    state = resumed.training_state
    assert (state.epochs_done, state.steps_done, state.seed) == (5, 5 * -(-len(x) // 32), 3)
    with pytest.raises(ValueError, match="seed 3.*pass seed=3 to resume it"):
        litetrain.Trainer(sparse_models["dynamic"]).fit(
            x, y, epochs=5, resume_from=tmp_path / "ck-2.npz", progress=False
        )


def test_a_checkpoint_without_state_loads_but_does_not_resume(sparse_models, digits, tmp_path):
    x, y, _, _ = sparse_data(digits)
    trainer = litetrain.Trainer(sparse_models["dynamic"])
    path = tmp_path / "plain.npz"
    litetrain.write_checkpoint(path, trainer.snapshot())  # as older litetrain wrote them
    assert trainer.load_checkpoint(path) is None
    with pytest.raises(litetrain.CheckpointError, match="no training state"):
        trainer.fit(x, y, resume_from=path, progress=False)


def test_stale_temporary_files_of_killed_writers_are_removed(sparse_models, tmp_path):
    trainer = litetrain.Trainer(sparse_models["dynamic"])
    dead = tmp_path / ".ck.npz.999999999.a1b2c3.tmp"  # no such pid
    alive = tmp_path / f".ck.npz.{__import__('os').getpid()}.a1b2c3.tmp"
    other = tmp_path / ".other.npz.999999999.a1b2c3.tmp"
    for f in (dead, alive, other):
        f.write_bytes(b"partial")
    trainer.save_checkpoint(tmp_path / "ck.npz")
    assert not dead.exists() and alive.exists() and other.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([alive.name, other.name, "ck.npz"])


# --- one fit at a time --------------------------------------------------------------------------------


def test_fit_from_its_own_callback_is_refused_as_busy(sparse_models, digits):
    x, y, _, _ = sparse_data(digits)
    trainer = litetrain.Trainer(sparse_models["dynamic"])

    class Reenter(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            trainer.fit(x, y, progress=False)

    with pytest.raises(litetrain.TrainerBusy, match="already running fit"):
        trainer.fit(x, y, callbacks=[Reenter()], progress=False)
    trainer.fit(x, y, progress=False)  # usable afterwards


def test_a_second_thread_fitting_the_same_trainer_is_refused(sparse_models, digits):
    x, y, _, _ = sparse_data(digits)
    trainer = litetrain.Trainer(sparse_models["dynamic"])
    started, release = threading.Event(), threading.Event()
    errors = []

    def hold(step, epoch, loss):
        started.set()
        release.wait(30)

    def other():
        started.wait(30)
        try:
            trainer.fit(x, y, progress=False)
        except litetrain.TrainerBusy as e:
            errors.append(e)
        finally:
            release.set()

    thread = threading.Thread(target=other)
    thread.start()
    trainer.fit(x, y, callback=hold, callback_every=1, progress=False)
    thread.join()
    assert len(errors) == 1


def test_two_trainers_on_one_model_are_refused(sparse_models):
    model = litetrain.Model(sparse_models["dynamic"])
    first = litetrain.Trainer(model)
    with pytest.raises(ValueError, match="already has a Trainer"):
        litetrain.Trainer(model)
    del first
    litetrain.Trainer(model)  # once the first is gone


def test_bake_refuses_nonfinite_weights_unless_asked(sparse_models, digits, tmp_path):
    x, y, _, _ = sparse_data(digits)
    bad = x.copy()
    bad[3] = np.inf
    trainer = litetrain.Trainer(sparse_models["dynamic"])
    history = trainer.fit(bad, y, shuffle=False, on_nonfinite="stop", progress=False)
    assert history.stopped
    out = tmp_path / "diverged.tflite"
    with pytest.raises(ValueError, match="holds (NaN|infinity).*allow_nonfinite"):
        trainer.bake(out)
    assert not out.exists()
    trainer.bake(out, allow_nonfinite=True)
    assert out.exists()


@pytest.mark.needs_tensorflow
@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="counts threads through Linux's /proc")
def test_a_multi_epoch_fit_starts_the_gathering_thread_once():
    """Batches of >= 1 MiB are gathered on a helper thread: one for the whole
    fit, not one per epoch (the native loop runs every epoch)."""
    from litetrain.tf.reference_models import mlp_training_model

    model = mlp_training_model((2048, 16, 10), batch_size=128, learning_rate=0.01)  # 1 MiB + 5 KiB batches
    rng = np.random.default_rng(0)
    x = rng.standard_normal((384, 2048), dtype=np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 384)]
    before = set(os.listdir("/proc/self/task"))
    seen = []

    class Threads(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(set(os.listdir("/proc/self/task")) - before)

    litetrain.Trainer(model).fit(x, y, batch_size=128, epochs=4, shuffle=False, callbacks=[Threads()], progress=False)
    gatherer = seen[0] - set(os.listdir("/proc/self/task"))  # it ends with the fit
    assert len(seen) == 4 and gatherer, "no gathering thread: the batches are too small to prefetch"
    assert all(gatherer <= threads for threads in seen), f"the gathering thread changed between epochs: {seen}"
