"""Built models train exactly like TensorFlow: the same 10 steps, from the same
start, through LiteRT and through GradientTape + the Keras optimizer, give the
same weights (rtol 1e-5) and losses. One row per layer, activation, loss and
optimizer."""

from __future__ import annotations

import numpy as np
import pytest

import keras_reference
import litetrain
from conftest import build_host_import
from litetrain import optim

keras = build_host_import("keras", "TensorFlow in the test process (it compares with Keras training)")

BATCH = 8
STEPS = 10
L = keras.layers


def mlp(activation="relu", out=4, out_activation=None):
    return keras.Sequential(
        [keras.Input((12,)), L.Dense(10, activation=activation), L.Dense(out, activation=out_activation)]
    )


def cnn(*middle, shape=(8, 8, 1)):
    return keras.Sequential([keras.Input(shape), *middle, L.Flatten(), L.Dense(4)])


def two_inputs():
    a, b = keras.Input((6,), name="a"), keras.Input((5,), name="b")
    joined = L.Concatenate()([L.Dense(7, activation="tanh")(a), b])
    return keras.Model([a, b], L.Dense(4)(joined))


def pooled_and_direct():
    """A ReLU's output used by a max pool (which pools its input first) and by a Flatten."""
    x = keras.Input((8, 8, 1))
    h = L.Conv2D(3, 3, activation="relu")(x)
    joined = L.Concatenate()([L.Flatten()(L.MaxPooling2D()(h)), L.Flatten()(h)])
    return keras.Model(x, L.Dense(4)(joined))


def residual():
    x = keras.Input((12,))
    h = L.Dense(12, activation="relu")(x)
    return keras.Model(x, L.Dense(4)(L.Add()([x, h])))


CASES = {
    # name: (model factory, loss, from_logits, optimizer)
    "dense_relu": (mlp, "categorical_crossentropy", True, optim.SGD(0.1)),
    "dense_relu6": (lambda: mlp("relu6"), "categorical_crossentropy", True, optim.SGD(0.1)),
    "dense_leaky_relu": (lambda: mlp("leaky_relu"), "categorical_crossentropy", True, optim.SGD(0.1)),
    "dense_sigmoid": (lambda: mlp("sigmoid"), "categorical_crossentropy", True, optim.SGD(0.1)),
    "dense_tanh": (lambda: mlp("tanh"), "categorical_crossentropy", True, optim.SGD(0.1)),
    "dense_gelu": (lambda: mlp("gelu"), "categorical_crossentropy", True, optim.SGD(0.1)),
    "dense_hard_sigmoid": (lambda: mlp("hard_sigmoid"), "categorical_crossentropy", True, optim.SGD(0.1)),
    "dense_hard_silu": (lambda: mlp("hard_silu"), "categorical_crossentropy", True, optim.SGD(0.1)),
    "dense_silu": (lambda: mlp("silu"), "categorical_crossentropy", True, optim.SGD(0.1)),
    "dense_softmax_probabilities": (
        lambda: mlp(out_activation="softmax"),
        "categorical_crossentropy",
        False,
        optim.SGD(0.1),
    ),
    "relu_layers": (
        lambda: keras.Sequential(
            [keras.Input((12,)), L.Dense(10), L.ReLU(), L.Dense(10), L.LeakyReLU(), L.Dense(4), L.Softmax()]
        ),
        "categorical_crossentropy",
        False,
        optim.SGD(0.1),
    ),
    "conv_valid": (lambda: cnn(L.Conv2D(3, 3, activation="relu")), "categorical_crossentropy", True, optim.SGD(0.05)),
    "conv_same_stride2": (
        lambda: cnn(L.Conv2D(3, 3, strides=2, padding="same", activation="relu")),
        "categorical_crossentropy",
        True,
        optim.SGD(0.05),
    ),
    "conv_valid_stride2_odd": (
        lambda: cnn(L.Conv2D(2, 2, strides=2), shape=(7, 7, 2)),
        "categorical_crossentropy",
        True,
        optim.SGD(0.05),
    ),
    # A convolution after another: its input gradient is computed too (the first layer's is not).
    "conv_stack_same_stride2": (
        lambda: cnn(L.Conv2D(3, 3, activation="relu"), L.Conv2D(4, 3, strides=2, padding="same"), shape=(9, 9, 2)),
        "categorical_crossentropy",
        True,
        optim.SGD(0.05),
    ),
    "conv_stack_valid_stride2_odd": (
        lambda: cnn(L.Conv2D(2, 3, padding="same", activation="tanh"), L.Conv2D(3, 2, strides=2), shape=(7, 7, 1)),
        "categorical_crossentropy",
        True,
        optim.SGD(0.05),
    ),
    "conv_stack_same_stride3": (
        lambda: cnn(L.Conv2D(2, 1), L.Conv2D(3, (3, 2), strides=3, padding="same"), shape=(8, 7, 2)),
        "categorical_crossentropy",
        True,
        optim.SGD(0.05),
    ),
    "depthwise": (
        lambda: cnn(L.DepthwiseConv2D(3, depth_multiplier=2, padding="same", activation="relu"), shape=(6, 6, 3)),
        "categorical_crossentropy",
        True,
        optim.SGD(0.05),
    ),
    "depthwise_stride2": (
        lambda: cnn(L.DepthwiseConv2D(3, strides=2), shape=(7, 7, 2)),
        "categorical_crossentropy",
        True,
        optim.SGD(0.05),
    ),
    "depthwise_stack_stride2": (
        lambda: cnn(
            L.Conv2D(3, 1, activation="tanh"),
            L.DepthwiseConv2D(3, depth_multiplier=2, strides=2, padding="same"),
            shape=(7, 7, 2),
        ),
        "categorical_crossentropy",
        True,
        optim.SGD(0.05),
    ),
    "max_pool": (
        lambda: cnn(L.Conv2D(4, 3, padding="same", activation="relu"), L.MaxPooling2D()),
        "categorical_crossentropy",
        True,
        optim.SGD(0.05),
    ),
    "max_pool_and_direct": (pooled_and_direct, "categorical_crossentropy", True, optim.SGD(0.05)),
    "max_pool_odd": (
        lambda: cnn(L.Conv2D(2, 2, activation="relu"), L.MaxPooling2D(), shape=(8, 8, 1)),
        "categorical_crossentropy",
        True,
        optim.SGD(0.05),
    ),
    "max_pool_gradient_to_input": (  # a pooled one-hot convolution that is not the first layer, linear
        lambda: cnn(
            L.Conv2D(2, 3, padding="same", activation="tanh"), L.Conv2D(4, 3), L.MaxPooling2D(), shape=(9, 9, 1)
        ),
        "categorical_crossentropy",
        True,
        optim.SGD(0.05),
    ),
    "max_pool_same": (  # two input channels (one-hot patches), SAME convolution and pool
        lambda: cnn(L.Conv2D(4, 3, padding="same", activation="relu"), L.MaxPooling2D(padding="same"), shape=(8, 8, 2)),
        "categorical_crossentropy",
        True,
        optim.SGD(0.05),
    ),
    "max_pool_3": (
        lambda: cnn(L.Conv2D(3, 2, activation="relu"), L.MaxPooling2D(3), shape=(8, 8, 1)),
        "categorical_crossentropy",
        True,
        optim.SGD(0.05),
    ),
    "max_pool_after_two_convolutions": (  # the second's patches from slices; the pool tiles its output
        lambda: cnn(L.Conv2D(3, 3, activation="relu"), L.Conv2D(4, 3, activation="relu"), L.MaxPooling2D()),
        "categorical_crossentropy",
        True,
        optim.SGD(0.05),
    ),
    "max_pool_cropped": (  # the pool reads 4 x 4 of the second convolution's 5 x 5 outputs
        lambda: cnn(
            L.Conv2D(3, 3, activation="relu"), L.Conv2D(4, 3, activation="relu"), L.MaxPooling2D(), shape=(9, 9, 1)
        ),
        "categorical_crossentropy",
        True,
        optim.SGD(0.05),
    ),
    "max_pool_cropped_stride2": (  # a strided linear convolution (patches from slices), cropped to what the pool reads
        lambda: cnn(L.Conv2D(4, 3, strides=2), L.MaxPooling2D(), shape=(11, 11, 3)),
        "categorical_crossentropy",
        True,
        optim.SGD(0.05),
    ),
    "average_pool": (
        lambda: cnn(L.Conv2D(4, 3, padding="same"), L.AveragePooling2D(2)),
        "categorical_crossentropy",
        True,
        optim.SGD(0.05),
    ),
    "global_average_pool": (
        lambda: keras.Sequential(
            [keras.Input((8, 8, 2)), L.Conv2D(6, 3, activation="tanh"), L.GlobalAveragePooling2D(), L.Dense(4)]
        ),
        "categorical_crossentropy",
        True,
        optim.SGD(0.05),
    ),
    "batch_norm_reshape": (
        lambda: keras.Sequential(
            [
                keras.Input((12,)),
                L.Reshape((3, 4)),
                L.Reshape((12,)),
                L.Dense(10),
                L.BatchNormalization(),
                L.Activation("relu"),
                L.Dense(4),
            ]
        ),
        "categorical_crossentropy",
        True,
        optim.SGD(0.1),
    ),
    "two_inputs": (two_inputs, "categorical_crossentropy", True, optim.SGD(0.1)),
    # Wide enough that the forward FULLY_CONNECTEDs run swapped (litetrain.tf.builder.products).
    "dense_wide": (
        lambda: keras.Sequential(
            [keras.Input((64,)), L.Dense(320, activation="relu"), L.Dense(300, use_bias=False), L.Dense(4)]
        ),
        "categorical_crossentropy",
        True,
        optim.SGD(0.05),
    ),
    "residual_add": (residual, "categorical_crossentropy", True, optim.SGD(0.1)),
    "sparse_logits": (mlp, "sparse_categorical_crossentropy", True, optim.SGD(0.1)),
    "sparse_probabilities": (
        lambda: mlp(out_activation="softmax"),
        "sparse_categorical_crossentropy",
        False,
        optim.SGD(0.1),
    ),
    "binary_logits": (lambda: mlp(out=3), "binary_crossentropy", True, optim.SGD(0.1)),
    "binary_probabilities": (
        lambda: mlp(out=3, out_activation="sigmoid"),
        "binary_crossentropy",
        False,
        optim.SGD(0.1),
    ),
    "mse": (lambda: mlp(out=3), "mean_squared_error", False, optim.SGD(0.05)),
    "huber": (lambda: mlp(out=3), "huber", False, optim.SGD(0.1)),
    "sgd_momentum": (mlp, "categorical_crossentropy", True, optim.SGD(0.05, momentum=0.9)),
    "sgd_nesterov": (mlp, "categorical_crossentropy", True, optim.SGD(0.05, momentum=0.9, nesterov=True)),
    "adam": (mlp, "categorical_crossentropy", True, optim.Adam(0.01)),
    "adamw": (mlp, "categorical_crossentropy", True, optim.AdamW(0.01, weight_decay=0.05)),
    "adam_cnn": (
        lambda: cnn(L.Conv2D(3, 3, activation="relu"), L.MaxPooling2D()),
        "categorical_crossentropy",
        True,
        optim.Adam(0.01),
    ),
}


def _labels(loss: str, outputs: int, n: int, rng) -> np.ndarray:
    if loss == "sparse_categorical_crossentropy":
        return rng.integers(0, outputs, n).astype(np.int32)
    if loss == "categorical_crossentropy":
        return np.eye(outputs, dtype=np.float32)[rng.integers(0, outputs, n)]
    if loss == "binary_crossentropy":
        return rng.integers(0, 2, (n, outputs)).astype(np.float32)
    return rng.normal(size=(n, outputs)).astype(np.float32)


def _batches(model, loss, rng, integer_inputs=False):
    inputs = [rng.normal(size=(STEPS * BATCH, *t.shape[1:])).astype(np.float32) for t in model.inputs]
    if integer_inputs:  # few distinct values: ties everywhere (as in images with flat regions)
        inputs = [np.round(x) for x in inputs]
    labels = _labels(loss, model.outputs[0].shape[-1], STEPS * BATCH, rng)
    for s in range(STEPS):
        part = slice(s * BATCH, (s + 1) * BATCH)
        yield [x[part] for x in inputs], labels[part]


def feed(model, inputs, labels) -> dict[str, np.ndarray]:
    """Signature inputs by name: ``x`` for a single model input, else the Input names."""
    if len(inputs) == 1:
        return {"x": inputs[0], "y": labels}
    return {"y": labels, **{t._keras_history.operation.name: x for t, x in zip(model.inputs, inputs)}}


def run_both(
    factory,
    loss,
    from_logits,
    optimizer,
    *,
    batch_size=BATCH,
    trainable=None,
    seed=0,
    batch_statistics=False,
    integer_inputs=False,
):
    """(our losses, TensorFlow's losses, our weights, TensorFlow's weights, initial weights, the BuiltModel)."""
    keras.utils.set_random_seed(seed)
    model = factory()
    initial = keras_reference.weights_by_name(model)
    built = litetrain.build(
        model,
        loss,
        optimizer,
        trainable=trainable,
        batch_size=batch_size,
        from_logits=from_logits,
        batch_statistics=batch_statistics,
    )
    batches = list(_batches(model, loss, np.random.default_rng(seed), integer_inputs))
    compiled = litetrain.Model(built.tflite)
    train = compiled.runner("train")
    ours = [float(train(**feed(model, inputs, labels))["loss"]) for inputs, labels in batches]
    weights = compiled.runner("save")()
    trainable_layers = None if trainable is None else set(built_layers(model, built))
    theirs = keras_reference.train_steps(
        model,
        keras_reference.keras_loss(loss, from_logits),
        optimizer,
        [(x if len(x) > 1 else x[0], y) for x, y in batches],
        trainable_layers,
        training=batch_statistics,
    )
    return ours, theirs, weights, keras_reference.weights_by_name(model), initial, built


def built_layers(model, built) -> list[str]:
    """Names of the layers whose weights train in `built`."""
    from litetrain.tf.builder.weights import weight_name

    return [
        layer.name
        for layer in model.layers
        if any(weight_name(layer, w) in built.trainable_weights for w in layer.weights)
    ]


@pytest.mark.parametrize("case", sorted(CASES))
def test_matches_tensorflow(case):
    factory, loss, from_logits, optimizer = CASES[case]
    ours, theirs, weights, reference, initial, built = run_both(factory, loss, from_logits, optimizer)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6, err_msg=f"{case}: losses")
    assert_trained_alike(built, weights, reference, initial, case)


@pytest.mark.parametrize("case", ["mse", "huber", "binary_logits", "dense_leaky_relu"])
def test_a_batch_of_any_size_matches_tensorflow(case):
    """With the batch unknown while tracing, TensorFlow sums the gradients of the loss's
    broadcasts with BroadcastGradientArgs (Flex); the build traces them in builtin ops."""
    factory, loss, from_logits, optimizer = CASES[case]
    ours, theirs, weights, reference, initial, built = run_both(factory, loss, from_logits, optimizer, batch_size=None)
    assert not [op.name for op in litetrain.list_operators(built.tflite) if op.custom]
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6, err_msg=f"{case}: losses")
    assert_trained_alike(built, weights, reference, initial, case)


def test_max_pool_ties_match_tensorflow():
    """Windows with several equal maxima: like TensorFlow, only the first (row-major) gets the gradient."""

    def factory():
        return cnn(L.Conv2D(3, 1, use_bias=False, activation="relu"), L.MaxPooling2D(), L.Conv2D(2, 2))

    ours, theirs, weights, reference, initial, built = run_both(
        factory, "categorical_crossentropy", True, optim.SGD(0.05), integer_inputs=True
    )
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
    assert_trained_alike(built, weights, reference, initial, "max pool ties")


def test_batch_statistics_match_keras_training_mode():
    def factory():
        return cnn(L.Conv2D(4, 3, use_bias=False), L.BatchNormalization(momentum=0.9), L.Activation("relu"))

    ours, theirs, weights, reference, initial, built = run_both(
        factory, "categorical_crossentropy", True, optim.SGD(0.05), batch_statistics=True
    )
    assert any(n.endswith("moving_mean") for n in weights) and any(n.endswith("moving_variance") for n in weights)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
    assert_trained_alike(built, weights, reference, initial, "batch statistics")


def assert_trained_alike(built, weights, reference, initial, case):
    """Every trainable weight moved (so the comparison means something) and equals TensorFlow's."""
    for name in [n for n in weights if n in reference]:
        assert np.abs(reference[name] - initial[name]).max() > 1e-4, f"{case}: {name} did not train"
        np.testing.assert_allclose(weights[name], reference[name], rtol=1e-5, atol=1e-6, err_msg=f"{case}: {name}")
