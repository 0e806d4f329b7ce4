"""End to end on real data (sklearn's digits, 8x8 images): pretrain a small CNN on
digits 0-4 in Keras, build it with the backbone frozen, fine-tune a new head on
digits 5-9 through LiteRT, export int8, and check every stage's accuracy.
"""

from __future__ import annotations

import numpy as np
import pytest

import litetrain
from conftest import REPORT, build_host_import

keras = build_host_import("keras", "TensorFlow in the test process (it pretrains in Keras)")
L = keras.layers
pytestmark = pytest.mark.slow


def digits_split(classes, seed=0):
    from sklearn.datasets import load_digits

    digits = load_digits()
    keep = np.isin(digits.target, classes)
    x = (digits.images[keep] / 16.0).astype(np.float32)[..., None]
    y = (digits.target[keep] - min(classes)).astype(np.int32)
    order = np.random.default_rng(seed).permutation(len(x))
    x, y = x[order], y[order]
    n_test = len(x) // 4
    return x[n_test:], y[n_test:], x[:n_test], y[:n_test]


def backbone():
    return keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            L.Conv2D(8, 3, padding="same", activation="relu", name="conv1"),
            L.MaxPooling2D(name="pool1"),
            L.Conv2D(16, 3, padding="same", activation="relu", name="conv2"),
            L.MaxPooling2D(name="pool2"),
            L.Flatten(name="flatten"),
            L.Dense(32, activation="relu", name="features"),
        ],
        name="backbone",
    )


@pytest.fixture(scope="module")
def pretrained():
    keras.utils.set_random_seed(0)
    x, y, x_test, y_test = digits_split(range(5))
    base = backbone()
    model = keras.Sequential([base, L.Dense(5, name="pretrain_head")])
    model.compile(
        optimizer=keras.optimizers.Adam(0.01),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    model.fit(x, y, batch_size=32, epochs=15, verbose=0)
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    return base, float(accuracy)


def test_pretrain_freeze_finetune_export(pretrained, tmp_path):
    base, pretrain_accuracy = pretrained
    x, y, x_test, y_test = digits_split(range(5, 10))
    inputs = keras.Input((8, 8, 1))
    model = keras.Model(inputs, L.Dense(5, name="head")(base(inputs)))

    built = litetrain.build(
        model,
        "sparse_categorical_crossentropy",
        litetrain.optim.Adam(0.01),
        trainable=["head"],
        batch_size=32,
        from_logits=True,
        quantize_frozen="int8",
    )
    assert built.trainable_weights == ["head_kernel", "head_bias"]
    model_path = tmp_path / "transfer.tflite"
    built.save(model_path)

    trainer = litetrain.Trainer(model_path)
    before = trainer.evaluate(x_test, y_test, batch_size=32)["accuracy"]
    history = trainer.fit(x, y, batch_size=32, epochs=30, seed=0, drop_remainder=True, progress=False)
    after = trainer.evaluate(x_test, y_test, batch_size=32)["accuracy"]
    assert history.epoch_losses[-1] < history.epoch_losses[0] / 3
    assert after > 0.85 and after > before + 0.3

    weights = trainer.snapshot()
    int8 = litetrain.export(
        built,
        weights,
        tmp_path / "head_int8.tflite",
        quantize="int8",
        representative_data=x[:200],
        validation_data=(x_test, y_test),
    )
    float_report = litetrain.export(built, weights, tmp_path / "head_float.tflite", validation_data=(x_test, y_test))
    assert abs(float_report.accuracy - after) < 0.02  # the same model, outside the trainer
    assert int8.accuracy > after - 0.03 and int8.agreement > 0.95
    assert int8.size_bytes < 0.6 * float_report.size_bytes  # weights 4x smaller; the file has fixed overhead

    REPORT.append(
        f"digits transfer: pretrain 0-4 in Keras {pretrain_accuracy:.3f}; head on 5-9 through LiteRT "
        f"{before:.3f} -> {after:.3f} (30 epochs, {history.steps} steps, "
        f"{history.seconds * 1e6 / history.steps:.0f} us/step); "
        f"export float32 {float_report.accuracy:.3f} ({float_report.size_bytes:,} B), int8 {int8.accuracy:.3f} "
        f"({int8.size_bytes:,} B, agrees {int8.agreement:.1%}); training file {model_path.stat().st_size:,} B "
        f"(frozen backbone int8), ops/step {built.op_counts['train']}"
    )
