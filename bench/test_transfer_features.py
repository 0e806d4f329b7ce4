"""Transfer learning as keras.io teaches it, on real data: litetrain with cached features against Keras ``fit``.

Run: ``python -m pytest bench/test_transfer_features.py -s``.

sklearn's digits, each 8x8 image scaled up to 32x32 and repeated over 3 channels.
A small CNN is pretrained in Keras on digits 0-4; then, as in keras.io's
"Transfer learning & fine-tuning" guide, the backbone is frozen and a new head
(GlobalAveragePooling2D -> Dropout -> Dense) learns digits 5-9. The same model,
initial head, optimizer, batch and epochs go to both systems:

- Keras: ``model.fit`` on the images (the frozen backbone runs at every step);
- litetrain: ``litetrain.build(..., cache_features=True)`` and ``Trainer.fit`` on
  the images, which runs the backbone once over the data and trains the head on its output.

It prints both test accuracies (they should agree within 1 point), ms per
step, and end-to-end seconds (litetrain's include the feature pass; the build
is reported apart, it is paid once per model, not per data set).
"""

from __future__ import annotations

import time

import numpy as np
import pytest

import litetrain
from litetrain.tf import tensorflow as tf

keras = tf.keras
L = keras.layers
EPOCHS, BATCH = 20, 32


def digits_32x32(classes, seed=0):
    from sklearn.datasets import load_digits

    digits = load_digits()
    keep = np.isin(digits.target, classes)
    images = np.kron(digits.images[keep] / 16.0, np.ones((4, 4)))[..., None].repeat(3, axis=-1).astype(np.float32)
    labels = (digits.target[keep] - min(classes)).astype(np.int32)
    order = np.random.default_rng(seed).permutation(len(images))
    images, labels = images[order], labels[order]
    n_test = len(images) // 4
    n_train = (len(images) - n_test) // BATCH * BATCH  # whole batches for the fixed-batch head
    return images[n_test : n_test + n_train], labels[n_test : n_test + n_train], images[:n_test], labels[:n_test]


@pytest.fixture(scope="module")
def pretrained_backbone():
    keras.utils.set_random_seed(0)
    base = keras.Sequential(
        [
            keras.Input((32, 32, 3)),
            L.Conv2D(16, 3, activation="relu"),
            L.MaxPooling2D(),
            L.Conv2D(32, 3, activation="relu"),
            L.MaxPooling2D(),
            L.Conv2D(64, 3, activation="relu"),
        ],
        name="backbone",
    )
    x, y, _, _ = digits_32x32(range(5))
    pretrain = keras.Sequential([base, L.GlobalAveragePooling2D(), L.Dense(5)])
    pretrain.compile(keras.optimizers.Adam(3e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    pretrain.fit(x, y, batch_size=BATCH, epochs=20, verbose=0)
    return base


def new_model(base):
    keras.utils.set_random_seed(1)  # the same initial head for both systems
    base.trainable = False
    inputs = keras.Input((32, 32, 3))
    x = L.GlobalAveragePooling2D()(base(inputs, training=False))
    x = L.Dropout(0.2, name="head_dropout")(x)
    return keras.Model(inputs, L.Dense(5, name="head")(x))


def test_cached_features_against_keras_fit(benchmark, pretrained_backbone):
    x, y, x_test, y_test = digits_32x32(range(5, 10))
    steps = EPOCHS * len(x) // BATCH

    model = new_model(pretrained_backbone)
    start = time.perf_counter()
    built = litetrain.build(
        model,
        "sparse_categorical_crossentropy",
        litetrain.optim.Adam(1e-3),
        trainable=["head"],
        batch_size=BATCH,
        from_logits=True,
        cache_features=True,
    )
    build_seconds = time.perf_counter() - start

    model.compile(keras.optimizers.Adam(1e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    start = time.perf_counter()
    model.fit(x, y, batch_size=BATCH, epochs=EPOCHS, verbose=0)
    keras_seconds = time.perf_counter() - start
    keras_accuracy = float(np.mean(model.predict(x_test, verbose=0).argmax(1) == y_test))

    def litetrain_run():
        begin = time.perf_counter()
        trainer = built.trainer()
        history = trainer.fit(x, y, batch_size=BATCH, epochs=EPOCHS, progress=False)
        assert trainer.caches_features and history.feature_seconds is not None
        return trainer, history.feature_seconds, time.perf_counter() - begin - history.feature_seconds

    runs = []
    benchmark.group = f"transfer: head on {len(x)} digits, {EPOCHS} epochs of batch {BATCH}"
    benchmark.pedantic(lambda: runs.append(litetrain_run()), rounds=5, iterations=1, warmup_rounds=1)
    trainer, extract_seconds, fit_seconds = sorted(runs[1:], key=lambda r: r[1] + r[2])[len(runs[1:]) // 2]
    accuracy = float(np.mean(trainer.predict(x_test)["head"].argmax(1) == y_test))

    info = {
        "keras_accuracy": keras_accuracy,
        "litetrain_accuracy": accuracy,
        "keras_ms_per_step": keras_seconds * 1e3 / steps,
        "litetrain_ms_per_step": fit_seconds * 1e3 / steps,
        "keras_seconds": keras_seconds,
        "litetrain_seconds": extract_seconds + fit_seconds,
        "litetrain_extract_seconds": extract_seconds,
        "build_seconds": build_seconds,
    }
    benchmark.extra_info.update(info)
    print(
        f"\naccuracy: Keras {keras_accuracy:.4f}, litetrain {accuracy:.4f}; "
        f"per step: Keras fit {info['keras_ms_per_step']:.3f} ms, "
        f"litetrain head {info['litetrain_ms_per_step']:.4f} ms "
        f"({info['keras_ms_per_step'] / info['litetrain_ms_per_step']:.0f}x); "
        f"end to end: Keras {keras_seconds:.2f} s, litetrain {info['litetrain_seconds']:.3f} s "
        f"(features {extract_seconds:.3f} s; build, once per model: {build_seconds:.1f} s)"
    )
    assert abs(accuracy - keras_accuracy) <= 0.01 + 1e-9, info
