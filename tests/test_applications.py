"""Transfer learning on keras.applications backbones (weights=None, small
inputs): a frozen backbone + a new head, and MobileNetV2 with its last block
trainable too. Each builds with builtin ops only (frozen layers litetrain has
no formulation of, like ZeroPadding2D or squeeze-excite's multiply, run
through Keras' own call), starts from the Keras weights, trains 10 steps like
GradientTape + the Keras optimizer, and exports to an int8 file that
ai_edge_litert runs. Each model is built once per session."""

from __future__ import annotations

import numpy as np
import pytest

import keras_reference
import litetrain
from conftest import build_host_import
from litetrain import optim

keras = build_host_import("keras", "TensorFlow in the test process (it compares with Keras training)")

pytestmark = [pytest.mark.slow, pytest.mark.needs_tensorflow]

BATCH = 8
STEPS = 10
CLASSES = 5


def _backbone(name: str):
    apps = keras.applications
    return {
        "MobileNetV2": lambda: apps.MobileNetV2(input_shape=(96, 96, 3), alpha=0.35, include_top=False, weights=None),
        "MobileNetV3Small": lambda: apps.MobileNetV3Small(input_shape=(96, 96, 3), include_top=False, weights=None),
        "EfficientNetB0": lambda: apps.EfficientNetB0(input_shape=(96, 96, 3), include_top=False, weights=None),
        "ResNet50": lambda: apps.ResNet50(input_shape=(64, 64, 3), include_top=False, weights=None),
    }[name]()


# case: (backbone, trainable=)
CASES = {
    "MobileNetV2-head": ("MobileNetV2", "head"),
    "MobileNetV3Small-head": ("MobileNetV3Small", "head"),
    "EfficientNetB0-head": ("EfficientNetB0", "head"),
    "ResNet50-head": ("ResNet50", "head"),
    "MobileNetV2-last-block": ("MobileNetV2", "block"),
}


def _transfer_model(backbone_name: str):
    keras.utils.set_random_seed(1)
    backbone = _backbone(backbone_name)
    backbone.trainable = False
    inputs = keras.Input(backbone.input_shape[1:])
    features = keras.layers.GlobalAveragePooling2D()(backbone(inputs, training=False))
    return keras.Model(inputs, keras.layers.Dense(CLASSES, name="head")(features))


@pytest.fixture(scope="module", params=list(CASES))
def transfer(request):
    backbone_name, which = CASES[request.param]
    model = _transfer_model(backbone_name)
    trainable = [model.get_layer("head")]
    if which == "block":
        trainable = [*litetrain.LayersFrom("block_16_expand").select(_flat(model)), model.get_layer("head")]
    initial = keras_reference.weights_by_name(model)
    built = litetrain.build(
        model,
        "sparse_categorical_crossentropy",
        optim.SGD(0.05),
        trainable=trainable,
        batch_size=BATCH,
        from_logits=True,
    )
    return request.param, model, built, initial


def _flat(model):
    from litetrain.tf.builder.weights import model_layers

    return model_layers(model)


def test_builds_with_builtin_ops_only(transfer):
    name, _, built, _ = transfer
    custom = [op.name for op in litetrain.list_operators(built.tflite) if op.custom]
    assert not custom, f"{name}: custom (Flex) ops {custom}"
    assert built.trainable_weights, name


def test_a_fresh_save_holds_the_keras_weights(transfer):
    name, _, built, initial = transfer
    saved = litetrain.Model(built.tflite).runner("save")()
    for weight in built.trainable_weights:
        np.testing.assert_array_equal(saved[weight], initial[weight], err_msg=f"{name}: {weight}")


def test_trains_like_gradient_tape(transfer):
    name, model, built, initial = transfer
    rng = np.random.default_rng(2)
    shape = model.inputs[0].shape[1:]
    x = rng.normal(size=(STEPS * BATCH, *shape)).astype(np.float32)
    y = rng.integers(0, CLASSES, STEPS * BATCH).astype(np.int32)
    batches = [(x[i : i + BATCH], y[i : i + BATCH]) for i in range(0, len(x), BATCH)]
    compiled = litetrain.Model(built.tflite)
    train = compiled.runner("train")
    ours = [float(train(x=bx, y=by)["loss"]) for bx, by in batches]
    weights = compiled.runner("save")()

    from litetrain.tf.builder.weights import weight_name

    trained_layers = {
        layer.name
        for layer in _flat(model)
        if any(weight_name(layer, w) in built.trainable_weights for w in layer.weights)
    }
    theirs = keras_reference.train_steps(
        model,
        keras_reference.keras_loss("sparse_categorical_crossentropy", True),
        optim.SGD(0.05),
        batches,
        trained_layers,
    )
    reference = keras_reference.weights_by_name(model)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6, err_msg=f"{name}: losses")
    # Random-init MobileNetV3 shrinks its features to ~1e-10, so its head's
    # kernel barely moves: the comparison needs only some weight to move.
    moved = [w for w in built.trainable_weights if np.abs(reference[w] - initial[w]).max() > 1e-4]
    assert moved, f"{name}: no weight trained in Keras"
    for weight in built.trainable_weights:
        np.testing.assert_allclose(
            weights[weight], reference[weight], rtol=1e-5, atol=1e-6, err_msg=f"{name}: {weight}"
        )


def test_exports_an_int8_model_ai_edge_litert_runs(transfer, tmp_path):
    from ai_edge_litert.interpreter import Interpreter

    name, model, built, _ = transfer
    if not name.endswith("-head"):
        pytest.skip("one int8 export per backbone: the -head case")
    rng = np.random.default_rng(4)
    samples = rng.uniform(-1, 1, size=(16, *model.inputs[0].shape[1:])).astype(np.float32)
    weights = litetrain.Model(built.tflite).runner("save")()
    path = tmp_path / "int8.tflite"
    litetrain.export(built, weights, path, quantize="int8", representative_data=samples)
    interpreter = Interpreter(model_path=str(path))
    out = interpreter.get_signature_runner("infer")(x=samples[:2])
    (logits,) = out.values()
    assert logits.shape == (2, CLASSES) and np.isfinite(logits).all(), name
