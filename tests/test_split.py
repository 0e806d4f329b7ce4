"""litetrain.build_split: the frozen part runs once, the head trains on its features exactly as
the whole model would, and the trained head bakes back into one deployable file."""

from __future__ import annotations

import numpy as np
import pytest

import litetrain
from conftest import build_host_import
from litetrain._reference_models import digits_dataset

keras = build_host_import("keras", "TensorFlow in the test process (it builds models from Keras)")
L = keras.layers
pytestmark = pytest.mark.needs_tensorflow


def transfer_model(*frozen_extra, head_dropout=0.0):
    """A frozen conv backbone (with a ZeroPadding2D, which only converts through Keras) + GAP
    (+ Dropout, as keras.io's recipe has) + Dense head."""
    keras.utils.set_random_seed(0)
    base = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            L.Conv2D(8, 3, activation="relu", name="conv1"),
            L.ZeroPadding2D(1, name="pad"),
            L.Conv2D(8, 3, activation="relu", name="conv2"),
            *frozen_extra,
        ],
        name="base",
    )
    base.trainable = False
    inputs = keras.Input((8, 8, 1))
    features = L.GlobalAveragePooling2D(name="gap")(base(inputs))
    if head_dropout:
        features = L.Dropout(head_dropout, name="head_dropout")(features)
    return keras.Model(inputs, L.Dense(10, name="head")(features))


def _build(model, **options):
    return litetrain.build_split(
        model,
        "categorical_crossentropy",
        litetrain.optim.Adam(0.01),
        trainable=["head"],
        batch_size=32,
        from_logits=True,
        **options,
    )


@pytest.fixture(scope="module")
def split():
    return _build(transfer_model())


@pytest.fixture(scope="module")
def digits():
    x, y, x_test, y_test = digits_dataset()
    n = len(x) // 32 * 32
    return x[:n].reshape(-1, 8, 8, 1), y[:n], x_test.reshape(-1, 8, 8, 1), y_test


def test_the_head_on_features_trains_as_the_whole_model(split, digits):
    x, y, _, _ = digits
    assert split.cut == "head"
    features = split.extract(x, batch_size=100)  # batches that do not divide the data
    assert features.shape == (len(x), 8) and features.dtype == np.float32
    head, whole = split.trainer(), split.full.trainer()
    on_features = head.fit(features, y, batch_size=32, epochs=3, seed=5, progress=False)
    on_inputs = whole.fit(x, y, batch_size=32, epochs=3, seed=5, progress=False)
    np.testing.assert_allclose(on_features.losses, on_inputs.losses, rtol=1e-6, atol=1e-7)
    assert set(head.snapshot()) == set(whole.snapshot())
    for name, value in head.snapshot().items():
        np.testing.assert_allclose(value, whole.snapshot()[name], rtol=1e-5, atol=1e-6, err_msg=name)


def test_fit_on_the_whole_model_caches_the_features_itself(split, digits, tmp_path):
    """The whole model's file carries features / train_features: fit runs the frozen part once."""
    x, y, _, _ = digits
    assert {"features", "train_features"} <= set(split.full.signatures)
    cached, every_step = split.full.trainer(), litetrain.Trainer(split.full.tflite, train="train")
    assert cached.caches_features and not every_step.caches_features
    options = dict(batch_size=32, epochs=2, seed=3, validation_split=0.25, drop_remainder=True, progress=False)
    fast, slow = cached.fit(x, y, **options), every_step.fit(x, y, **options)
    np.testing.assert_allclose(fast.losses, slow.losses, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(fast.history["val_loss"], slow.history["val_loss"], rtol=1e-6)
    assert fast.feature_seconds is not None and slow.feature_seconds is None

    from cli_runner import litetrain as cli

    split.full.save(tmp_path / "full.tflite")
    np.savez(tmp_path / "data.npz", x=x, y=y)
    done = cli("train", tmp_path / "full.tflite", "--data", tmp_path / "data.npz", "--epochs", "2")
    assert done.returncode == 0, done.stderr
    assert f"features: the frozen part ran once over the {len(x):,} samples" in done.stdout, done.stdout


def test_a_dropout_below_the_head_trains_with_the_head(digits):
    split = _build(transfer_model(head_dropout=0.3))
    assert split.cut == "head_dropout"
    x, y, _, _ = digits
    on_features = split.trainer().fit(split.extract(x), y, batch_size=32, epochs=2, seed=1, progress=False)
    on_inputs = split.full.trainer().fit(x, y, batch_size=32, epochs=2, seed=1, progress=False)
    np.testing.assert_allclose(on_features.losses, on_inputs.losses, rtol=1e-6, atol=1e-7)  # the same masks


def test_the_trained_head_bakes_into_the_whole_model(split, digits, tmp_path):
    x, y, x_test, _ = digits
    head = split.trainer()
    head.fit(split.extract(x), y, batch_size=32, epochs=2, progress=False)
    baked = split.bake(head, tmp_path / "joined.tflite")
    joined = litetrain.Trainer(baked.path)
    for name, value in head.snapshot().items():
        np.testing.assert_array_equal(joined.snapshot()[name], value, err_msg=name)
    expected = head.predict(split.extract(x_test))["head"]
    np.testing.assert_allclose(joined.predict(x_test)["head"], expected, rtol=1e-5, atol=1e-5)
    deployable = split.bake(head, tmp_path / "infer.tflite", inference_only=True)
    outputs = litetrain.Model(deployable.path).runner("infer")(x=x_test[:32])  # the fixed batch
    np.testing.assert_allclose(outputs["head"], expected[:32], rtol=1e-5, atol=1e-5)


def test_quantized_features_are_close_to_the_float_ones(split, digits):
    x, _, _, _ = digits
    int8 = _build(transfer_model(), quantize_features="int8", representative_data=x[:200])
    assert len(int8.features) < len(split.features)
    float_features, int8_features = split.extract(x[:300]), int8.extract(x[:300])
    scale = np.abs(float_features).max()
    assert np.abs(int8_features - float_features).max() < 0.05 * scale


def test_splits_that_would_not_be_exact_are_refused():
    with pytest.raises(litetrain.BuildError, match=r"frozen layer\(s\) drop below 'head' are random in training"):
        _build(transfer_model(L.Dropout(0.5, name="drop")))

    keras.utils.set_random_seed(0)
    inputs = keras.Input((64,))
    first = L.Dense(16, name="first")(inputs)
    with pytest.raises(litetrain.BuildError, match=r"nothing is frozen below 'first'"):
        litetrain.build_split(
            keras.Model(inputs, L.Dense(10, name="out")(first)), "mse", litetrain.optim.SGD(0.1), trainable=["first"]
        )

    model = transfer_model()
    with pytest.raises(litetrain.BuildError, match=r"layers of the nested model 'base' train"):
        litetrain.build_split(model, "mse", litetrain.optim.SGD(0.1), trainable=["conv2", "head"])

    with pytest.raises(litetrain.BuildError, match="cache_features needs a Keras model"):
        import tensorflow as tf

        class Module(tf.Module):
            def __init__(self):
                self.w = tf.Variable(tf.ones([4, 2]))

            def __call__(self, x):
                return tf.matmul(x, self.w)

        litetrain.build(Module(), "mse", litetrain.optim.SGD(0.1), input_shape=(4,), cache_features=True)

    # A skip connection from below the cut: the head needs more than the cut tensor.
    keras.utils.set_random_seed(0)
    inputs = keras.Input((4,))
    frozen = L.Dense(4, name="frozen", trainable=False)(inputs)
    head = L.Dense(4, name="head")(frozen)
    skip = keras.Model(inputs, L.Add(name="add")([head, inputs]))
    with pytest.raises(litetrain.BuildError, match=r"from 'head' on also take inputs from below it"):
        litetrain.build_split(skip, "mse", litetrain.optim.SGD(0.1), trainable=["head"])
