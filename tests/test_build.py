"""litetrain.build: signatures, lean graphs, learning rate, freezing, refusals, and the way back
(load_weights, export)."""

from __future__ import annotations

import numpy as np
import pytest

import keras_reference
import litetrain
from conftest import REPORT, build_host_import
from litetrain import optim
from test_build_parity import CASES, assert_trained_alike, run_both

keras = build_host_import("keras", "TensorFlow in the test process (it builds models from Keras)")
L = keras.layers


def issue_mlp():
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((32,)), L.Dense(16, activation="relu"), L.Dense(4)])


@pytest.fixture(scope="module")
def lean():
    """The 32-16-4 MLP of the lean-graph target: fixed batch 8, SGD, loss only."""
    model = issue_mlp()
    return model, litetrain.build(
        model, "categorical_crossentropy", optim.SGD(0.1), batch_size=8, from_logits=True, metrics=()
    )


@pytest.fixture(scope="module")
def adam_model():
    model = issue_mlp()
    return model, litetrain.build(model, "categorical_crossentropy", optim.Adam(0.01), from_logits=True)


def digits_one_hot(n=256):
    from sklearn.datasets import load_digits

    d = load_digits()
    return (d.data[:n] / 16.0).astype(np.float32), np.eye(10, dtype=np.float32)[d.target[:n]]


def test_lean_train_signature_runs_inside_xnnpack(lean):
    """Every operator of the step is one XNNPACK takes (the variable handles and the
    initializer call aside), so the step is one XNNPACK partition, and it stays small:
    no weight is copied out of its variable (variable_reads.py)."""
    _, built = lean
    counts = built.op_counts
    profile = litetrain.profile(built.tflite, "train", runs=3)
    outside = [op.op for op in profile.operators if not op.in_xnnpack]
    assert outside == ["CALL_ONCE"], profile.describe()
    running = [op.name for op in profile.xnnpack_operators]
    assert len(running) <= 30, profile.describe()
    assert not [name for name in running if name.startswith("Copy")], profile.describe()
    REPORT.append(f"lean 32-16-4 MLP (SGD, softmax CE, batch 8): ops per signature {counts}")


def test_signatures_and_names(adam_model):
    model, built = adam_model
    sigs = built.signatures
    assert set(sigs) == set(litetrain.tf.builder.SIGNATURES)
    assert (
        sorted(sigs["train"].inputs) == ["x", "y"]
        and list(sigs["train"].outputs) == ["accuracy", "loss"]
        or set(sigs["train"].outputs) == {"loss", "accuracy"}
    )
    assert list(sigs["infer"].outputs) == [model.layers[-1].name]
    saved = set(sigs["save"].outputs)
    assert saved == set(sigs["restore"].inputs)
    for name in built.trainable_weights:
        assert {name, f"{name}__adam_m", f"{name}__adam_v"} <= saved
    assert {"optimizer__learning_rate", "optimizer__iterations"} <= saved


@pytest.mark.parametrize("kernel", ["zeros", "glorot_uniform"], ids=["every_output_tied", "random"])
def test_accuracy_is_argmax_agreement_with_ties_and_soft_labels(kernel):
    """Accuracy compares argmaxes: the first of tied outputs, the largest of soft labels."""
    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((3,)), L.Dense(5, kernel_initializer=kernel)])
    built = litetrain.build(model, "categorical_crossentropy", optim.SGD(0.1), from_logits=True)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(24, 3)).astype(np.float32)
    labels = np.eye(5, dtype=np.float32)[rng.integers(0, 5, 24)]
    labels[:6] = rng.dirichlet(np.ones(5), 6)  # soft labels
    labels[6] = [0.0, 0.4, 0.4, 0.2, 0.0]  # tied labels: argmax takes class 1
    run = litetrain.Model(built.tflite)
    outputs = run.runner("infer")(x=x)[model.layers[-1].name]
    got = run.runner("eval")(x=x, y=labels)["accuracy"]
    expected = np.mean(np.argmax(outputs, -1) == np.argmax(labels, -1))
    assert float(got) == pytest.approx(expected, abs=1e-6)


def test_fresh_model_saves_exactly_the_source_weights(adam_model):
    model, built = adam_model
    saved = built.trainer().snapshot()
    for name, value in keras_reference.weights_by_name(model).items():
        np.testing.assert_array_equal(saved[name], value)
        assert not saved[f"{name}__adam_m"].any() and not saved[f"{name}__adam_v"].any()
    assert saved["optimizer__learning_rate"].tolist() == [np.float32(0.01)]
    assert saved["optimizer__iterations"].tolist() == [0]


def test_learning_rate_changes_without_rebuild():
    model = issue_mlp()
    built = litetrain.build(model, "categorical_crossentropy", optim.SGD(0.1), batch_size=8, from_logits=True)
    x = np.random.default_rng(0).normal(size=(8, 32)).astype(np.float32)
    y = np.eye(4, dtype=np.float32)[np.arange(8) % 4]

    def one_step(trainer):
        before = trainer.snapshot()
        trainer.fit(x, y, batch_size=8, epochs=1, shuffle=False, progress=False)
        return {k: trainer.snapshot()[k] - before[k] for k in built.trainable_weights}

    trainer = built.trainer()
    assert trainer.learning_rate == pytest.approx(0.1)
    step_01 = one_step(trainer)
    trainer.restore(built.trainer().snapshot())
    trainer.set_learning_rate(0.025)
    assert trainer.learning_rate == pytest.approx(0.025)
    step_0025 = one_step(trainer)
    for name in step_01:
        np.testing.assert_allclose(step_0025[name], step_01[name] / 4, rtol=1e-4, atol=1e-7)
    with pytest.raises(ValueError, match="learning rate must be a positive finite number"):
        trainer.set_learning_rate(float("nan"))
    rates = []
    trainer.fit(
        x,
        y,
        batch_size=8,
        epochs=3,
        progress=False,
        learning_rate_schedule=lambda epoch: rates.append(0.1 / (epoch + 1)) or rates[-1],
    )
    assert trainer.learning_rate == pytest.approx(0.1 / 3)


def test_dynamic_batch_matches_tensorflow():
    ours, theirs, weights, reference, initial, built = run_both(*CASES["adamw"], batch_size=None)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
    assert_trained_alike(built, weights, reference, initial, "dynamic batch")
    assert built.signatures["train"].inputs["x"].shape[0] == -1


def test_trainable_convolution_needs_a_fixed_batch():
    factory, loss, from_logits, optimizer = CASES["conv_valid"]
    with pytest.raises(litetrain.BuildError, match=r"trainable convolution needs a fixed batch size"):
        litetrain.build(factory(), loss, optimizer, from_logits=from_logits)


def _signature_graph(tflite: bytes, signature: str):
    """(the model's object tree, the subgraph of `signature`)."""
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(tflite))
    index = next(s.subgraphIndex for s in model.signatureDefs if s.signatureKey.decode() == signature)
    return model, model.subgraphs[index]


def _matrix_products(tflite: bytes, signature: str) -> dict[str, list[tuple[int, int, int]]]:
    """(m, n, k) of each matrix BATCH_MATMUL and each FULLY_CONNECTED in a signature's subgraph."""
    from tensorflow.lite.python import schema_py_generated as schema

    model, graph = _signature_graph(tflite, signature)
    shape = lambda t: [int(d) for d in graph.tensors[t].shape]  # noqa: E731
    found: dict[str, list] = {"BATCH_MATMUL": [], "FULLY_CONNECTED": []}
    for op in graph.operators:
        code = model.operatorCodes[op.opcodeIndex]
        builtin = max(code.builtinCode, code.deprecatedBuiltinCode)
        if builtin not in (schema.BuiltinOperator.BATCH_MATMUL, schema.BuiltinOperator.FULLY_CONNECTED):
            continue
        a, b = shape(op.inputs[0]), shape(op.inputs[1])
        if builtin == schema.BuiltinOperator.BATCH_MATMUL:
            if len(a) != 2 or len(b) != 2:
                continue  # a batch of products
            m, k = a[::-1] if op.builtinOptions.adjX else a
            found["BATCH_MATMUL"].append((m, b[0] if op.builtinOptions.adjY else b[1], k))
        else:
            found["FULLY_CONNECTED"].append((int(np.prod(a[:-1])), b[0], a[-1]))
    return found


def test_convolution_filter_gradients_run_as_fully_connected():
    """XNNPACK's BATCH_MATMUL is slow on the long reductions of a filter gradient
    (dy^T . patches over every output pixel of the batch), so the builder writes
    them as FULLY_CONNECTED; the parity matrix checks the values."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((12, 12, 1)), L.Conv2D(4, 3, activation="relu"), L.Conv2D(6, 3), L.Flatten(), L.Dense(3)]
    )
    built = litetrain.build(model, "categorical_crossentropy", optim.SGD(0.1), batch_size=16, from_logits=True)
    products = _matrix_products(built.tflite, "train")
    rows1, rows2 = 16 * 10 * 10, 16 * 8 * 8
    # Filter gradients as [taps * cin, rows] . [cout, rows]^T, or the other way round
    # (whichever transposes less; see products._fold_cost).
    for depth, cout, rows in ((9, 4, rows1), (36, 6, rows2)):
        assert {(depth, cout, rows), (cout, depth, rows)} & set(products["FULLY_CONNECTED"]), products
    assert not [p for p in products["BATCH_MATMUL"] if p[2] >= 4 * max(p[0], p[1])], products
    profile = litetrain.profile(built.tflite, "train", runs=2)
    assert {op.op for op in profile.operators if not op.in_xnnpack} <= {"CALL_ONCE", "ARG_MAX", "EQUAL", "CAST"}

    # A dense layer's weight gradient dy^T . x runs as FC too, unswapped: [units, inputs]
    # (XNNPACK folds x's transpose into the weights). The input gradient dy . W keeps
    # BATCH_MATMUL: transposing W would cost more.
    mlp = litetrain.build(issue_mlp(), "categorical_crossentropy", optim.SGD(0.1), batch_size=8, from_logits=True)
    products = _matrix_products(mlp.tflite, "train")
    assert products["BATCH_MATMUL"] == [(8, 16, 4)], products
    assert {(16, 32, 8), (4, 16, 8)} <= set(products["FULLY_CONNECTED"]), products


def test_max_pool_of_a_one_hot_convolution_moves_no_windows():
    """A convolution of few input channels, max pooled, makes its patches one
    window position at a time, so that the pool is a MAXIMUM of the positions
    and its gradient moves no windows: the only TRANSPOSEs left are the filter
    gradients' matrices (values: the max_pool* parity cases)."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((12, 12, 1)), L.Conv2D(4, 3, activation="relu"), L.MaxPooling2D(), L.Flatten(), L.Dense(3)]
    )
    built = litetrain.build(model, "categorical_crossentropy", optim.SGD(0.1), batch_size=16, from_logits=True)
    for signature in ("train", "infer"):
        ops = _operators(built.tflite, signature)
        names = [name for name, _ in ops]
        assert "MAXIMUM" in names and "MAX_POOL_2D" not in names, names
    transposed = [shapes for name, shapes in _operators(built.tflite, "train") if name == "TRANSPOSE"]
    assert transposed and all(len(shape) == 2 for shape in transposed), transposed


def _operators(tflite: bytes, signature: str) -> list[tuple[str, list[int]]]:
    """(operator name, shape of its first input) of each operator in a signature's subgraph."""
    from tensorflow.lite.python import schema_py_generated as schema

    names = {code: name for name, code in vars(schema.BuiltinOperator).items() if not name.startswith("_")}
    model, graph = _signature_graph(tflite, signature)
    found = []
    for op in graph.operators:
        code = model.operatorCodes[op.opcodeIndex]
        shape = graph.tensors[op.inputs[0]].shape if len(op.inputs) and op.inputs[0] >= 0 else None
        found.append((names[max(code.builtinCode, code.deprecatedBuiltinCode)], [] if shape is None else list(shape)))
    return found


def test_wide_dense_layers_pack_the_batch_not_the_weights():
    """XNNPACK packs a FULLY_CONNECTED's variable weights every run; where they
    outnumber the batch the product runs swapped (values: the dense_wide parity case)."""
    factory, loss, from_logits, optimizer = CASES["dense_wide"]
    keras.utils.set_random_seed(0)
    built = litetrain.build(factory(), loss, optimizer, batch_size=8, from_logits=from_logits)
    forward = _matrix_products(built.tflite, "train")["FULLY_CONNECTED"]
    assert {(320, 8, 64), (300, 8, 320)} <= set(forward), forward  # W [n, k] . x^T
    assert (8, 4, 300) in forward  # 4 x 300 weights: cheaper to pack than to swap
    # Inference keeps x . W^T, the form a baked model's constant weights need.
    assert (8, 320, 64) in _matrix_products(built.tflite, "infer")["FULLY_CONNECTED"]
    one = litetrain.build(factory(), loss, optimizer, batch_size=1, from_logits=from_logits)
    assert (1, 320, 64) in _matrix_products(one.tflite, "train")["FULLY_CONNECTED"]


def test_portable_build_leaves_out_the_forms_tuned_for_litetrain():
    """portable=True keeps the forms that any runtime's XNNPACK takes under its
    default options (no DYNAMIC_FULLY_CONNECTED): one variable read per weight,
    BATCH_MATMUL weight gradients, no swapped dense layer; and it trains alike."""
    factory, loss, from_logits, optimizer = CASES["dense_wide"]
    keras.utils.set_random_seed(0)
    model = factory()
    files = {
        name: litetrain.build(model, loss, optimizer, batch_size=8, from_logits=from_logits, portable=portable)
        for name, portable in (("tuned", False), ("portable", True))
    }
    tuned, portable = files["tuned"], files["portable"]
    reads = {
        name: [op for op, _ in _operators(built.tflite, "train")].count("READ_VARIABLE")
        for name, built in files.items()
    }
    assert reads["portable"] < reads["tuned"], reads
    products = _matrix_products(portable.tflite, "train")
    assert (8, 320, 64) in products["FULLY_CONNECTED"] and (320, 8, 64) not in products["FULLY_CONNECTED"]
    assert (320, 64, 8) in products["BATCH_MATMUL"], products  # dW = dy^T . x
    assert (320, 64, 8) in _matrix_products(tuned.tflite, "train")["FULLY_CONNECTED"]

    # What runs outside XNNPACK under the runtime's default flags.
    default_flags = litetrain.xnnpack_flags.DEFAULT & ~litetrain.xnnpack_flags.DYNAMIC_FULLY_CONNECTED
    builtin = {
        name: sum(
            not op.in_xnnpack and op.op == "FULLY_CONNECTED"
            for op in litetrain.profile(built.tflite, "train", runs=1, xnnpack_flags=default_flags).operators
        )
        for name, built in files.items()
    }
    assert builtin["portable"] < builtin["tuned"], builtin

    x = np.random.default_rng(0).normal(size=(64, 64)).astype(np.float32)
    y = np.eye(4, dtype=np.float32)[np.arange(64) % 4]
    trained = {}
    for name, built in files.items():
        trainer = built.trainer()
        trainer.fit(x, y, batch_size=8, epochs=3, shuffle=False, progress=False)
        trained[name] = trainer.snapshot()
    for weight in tuned.trainable_weights:
        np.testing.assert_allclose(trained["portable"][weight], trained["tuned"][weight], rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="portable must be True or False"):
        litetrain.build(model, loss, optimizer, batch_size=8, from_logits=from_logits, portable="yes")


def test_frozen_layers_are_constants_and_match_tensorflow():
    factory = CASES["max_pool"][0]
    ours, theirs, weights, reference, initial, built = run_both(
        factory, "categorical_crossentropy", True, optim.Adam(0.01), trainable=["dense*"]
    )
    assert built.frozen_weights and all("conv" in n for n in built.frozen_weights)
    assert not set(built.frozen_weights) & set(weights)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
    assert_trained_alike(built, weights, reference, initial, "frozen conv")


def test_frozen_weights_quantized_to_int8_and_the_head_still_trains():
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((64,)), L.Dense(256, activation="relu", name="backbone"), L.Dense(10, name="head")]
    )
    kwargs = {"trainable": ["head"], "batch_size": 32, "from_logits": True}
    plain = litetrain.build(model, "categorical_crossentropy", optim.SGD(0.1), **kwargs)
    small = litetrain.build(model, "categorical_crossentropy", optim.SGD(0.1), quantize_frozen="int8", **kwargs)
    backbone_bytes = 64 * 256 * 4
    assert len(plain.tflite) - len(small.tflite) > 0.5 * backbone_bytes  # int8: a quarter of the bytes
    x, y = digits_one_hot()
    history = small.trainer().fit(x, y, batch_size=32, epochs=25, drop_remainder=True, progress=False)
    assert history.epoch_losses[-1] < 0.5 * history.epoch_losses[0]


def test_dropout_is_random_in_train_only():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((64,)), L.Dense(32, activation="relu"), L.Dropout(0.5), L.Dense(10)])
    built = litetrain.build(model, "categorical_crossentropy", optim.SGD(1e-6), batch_size=32, from_logits=True)
    x, y = digits_one_hot(32)
    compiled = litetrain.Model(built.tflite)
    train, evaluate = compiled.runner("train"), compiled.runner("eval")
    train_losses = {float(train(x=x, y=y)["loss"]) for _ in range(5)}
    eval_losses = {float(evaluate(x=x, y=y)["loss"]) for _ in range(3)}
    assert len(train_losses) == 5 and len(eval_losses) == 1


def test_keras_loss_and_optimizer_objects_are_accepted():
    model = issue_mlp()
    built = litetrain.build(
        model, keras.losses.CategoricalCrossentropy(from_logits=True), keras.optimizers.SGD(0.05, momentum=0.5)
    )
    assert "dense_kernel__momentum" in built.signatures["save"].outputs or any(
        n.endswith("__momentum") for n in built.signatures["save"].outputs
    )


@pytest.mark.parametrize(
    ("make", "kwargs", "message"),
    [
        (
            lambda: keras.Sequential([keras.Input((8, 3)), L.Conv1D(2, 3), L.Flatten(), L.Dense(2)]),
            {},
            r"layer 'conv1d' \(Conv1D\) cannot train: .* Freeze it",
        ),
        (lambda: keras.Sequential([keras.Input((8,)), L.Dense(4, activation="elu")]), {}, r"activation 'elu'"),
        (
            lambda: keras.Sequential(
                [keras.Input((9, 9, 1)), L.Conv2D(2, 3), L.MaxPooling2D(3, strides=2), L.Flatten(), L.Dense(2)]
            ),
            {"batch_size": 4},
            r"layer 'max_pooling2d.*' \(MaxPooling2D\): the gradient of pool_size=\(3, 3\)",
        ),
        (
            lambda: keras.Sequential(
                [keras.Input((9, 9, 1)), L.Conv2D(2, 3, dilation_rate=2), L.Flatten(), L.Dense(2)]
            ),
            {},
            r"dilation_rate",
        ),
        (issue_mlp, {"loss": "kl_divergence"}, r"loss 'kl_divergence' is not supported"),
        (issue_mlp, {"optimizer": keras.optimizers.SGD(0.1, clipnorm=1.0)}, r"clipnorm is not supported"),
        (issue_mlp, {"trainable": ["head*"]}, r"trainable='head\*' matches no layer"),
        (lambda: keras.Sequential([L.Dense(4)]), {}, r"not built"),
    ],
)
def test_refusals_name_the_layer_and_the_problem(make, kwargs, message):
    options = {"loss": "categorical_crossentropy", "optimizer": optim.SGD(0.1), **kwargs}
    with pytest.raises(litetrain.BuildError, match=message):
        litetrain.build(make(), options.pop("loss"), options.pop("optimizer"), **options)


FROZEN_BY_KERAS = {
    # Frozen layers litetrain has no formulation of run through Keras' own call.
    "conv1d_elu": lambda: keras.Sequential(
        [keras.Input((8, 3)), L.Conv1D(4, 3, activation="elu", name="c"), L.Flatten(), L.Dense(4, name="head")]
    ),
    "padding_rescaling_multiply": lambda: _padded_squeeze_excite(),
}


def _padded_squeeze_excite():
    x = keras.Input((6, 6, 2))
    h = L.Rescaling(1 / 2.0, offset=-1.0)(x)
    h = L.ZeroPadding2D(1)(L.Conv2D(3, 3, name="conv")(h))
    gate = L.Dense(3, activation="hard_sigmoid", name="gate")(L.GlobalAveragePooling2D(keepdims=True)(h))
    h = L.Multiply()([h, gate])
    return keras.Model(x, L.Dense(4, name="head")(L.Flatten()(h)))


@pytest.mark.parametrize("case", sorted(FROZEN_BY_KERAS))
def test_frozen_layers_of_any_kind_match_tensorflow(case):
    ours, theirs, weights, reference, initial, built = run_both(
        FROZEN_BY_KERAS[case], "categorical_crossentropy", True, optim.SGD(0.1), trainable=["head"]
    )
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
    assert_trained_alike(built, weights, reference, initial, case)
    assert not [op.name for op in litetrain.list_operators(built.tflite) if op.custom]


def test_gradients_pass_through_frozen_layers_above_trainable_ones():
    """ZeroPadding2D (no formulation here) between two trainable layers: TensorFlow's
    own gradient of its PAD (a SLICE) is builtin."""

    def make():
        return keras.Sequential(
            [
                keras.Input((6, 6, 1)),
                L.Conv2D(2, 3, name="conv"),
                L.ZeroPadding2D(1),
                L.Flatten(),
                L.Dense(4, name="head"),
            ]
        )

    ours, theirs, weights, reference, initial, built = run_both(make, "categorical_crossentropy", True, optim.SGD(0.1))
    assert any(n.startswith("conv") for n in built.trainable_weights)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
    assert_trained_alike(built, weights, reference, initial, "pad between trainable layers")


def test_trainable_takes_layers_nested_models_and_ranges():
    from litetrain.tf.builder.weights import select_trainable

    keras.utils.set_random_seed(0)
    inner = keras.Sequential([keras.Input((5,)), L.Dense(4, name="a"), L.Dense(4, name="b")], name="inner")
    x = keras.Input((5,))
    model = keras.Model(x, L.Dense(2, name="head")(L.Dropout(0.1)(inner(x))))
    assert select_trainable(model, model.get_layer("head")) == {"head"}
    assert select_trainable(model, [inner, "head"]) == {"a", "b", "head"}
    assert select_trainable(model, litetrain.LayersFrom("b")) == {"b", "head"}
    assert select_trainable(model, litetrain.LastLayers(2)) == {"head"}  # the dropout and the head
    assert select_trainable(model, litetrain.LastLayers(3)) == {"b", "head"}
    with pytest.raises(litetrain.BuildError, match="LayersFrom\\('nope'\\): no such layer"):
        select_trainable(model, litetrain.LayersFrom("nope"))
    stranger = L.Dense(3, name="stranger")
    stranger.build((None, 2))
    with pytest.raises(litetrain.BuildError, match="'stranger', which is not in this model"):
        select_trainable(model, [stranger])
    with pytest.raises(ValueError, match="LastLayers needs a count >= 1"):
        litetrain.LastLayers(0)


def test_overlapping_pool_is_fine_when_nothing_before_it_trains():
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((9, 9, 1)),
            L.Conv2D(2, 3, name="conv"),
            L.MaxPooling2D(3, strides=2),
            L.Flatten(),
            L.Dense(2, name="head"),
        ]
    )
    built = litetrain.build(model, "categorical_crossentropy", optim.SGD(0.1), trainable=["head"], from_logits=True)
    assert [n.rsplit("_", 2)[-2:] for n in built.trainable_weights] == [["head", "kernel"], ["head", "bias"]]


def test_load_weights_and_export_reproduce_the_trainer():
    model = issue_mlp()
    built = litetrain.build(model, "categorical_crossentropy", optim.Adam(0.01), from_logits=True)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(64, 32)).astype(np.float32)
    y = np.eye(4, dtype=np.float32)[rng.integers(0, 4, 64)]
    trainer = built.trainer()
    trainer.fit(x, y, batch_size=16, epochs=3, progress=False)
    predicted = trainer.predict(x)[model.layers[-1].name]

    assigned = litetrain.load_weights(model, trainer)
    assert assigned == sorted(built.trainable_weights)
    np.testing.assert_allclose(model.predict(x, verbose=0), predicted, rtol=1e-5, atol=1e-6)

    bad = dict(trainer.snapshot(), not_a_weight=np.zeros(1, np.float32))
    with pytest.raises(ValueError, match="not_a_weight"):
        litetrain.load_weights(model, bad)
    bias = built.trainable_weights[1]
    with pytest.raises(ValueError, match=rf"weight {bias}: got float32\[3\]"):
        litetrain.load_weights(model, {bias: np.zeros(3, np.float32)})


@pytest.mark.parametrize("quantize", [None, "dynamic", "float16", "int8"])
def test_export_writes_a_runnable_inference_model(quantize, tmp_path, adam_model):
    model, built = adam_model
    x = np.random.default_rng(2).normal(size=(100, 32)).astype(np.float32)
    y = np.random.default_rng(3).integers(0, 4, 100)
    report = litetrain.export(
        built, built.trainer(), tmp_path / "m.tflite", quantize=quantize, representative_data=x, validation_data=(x, y)
    )
    assert report.size_bytes == (tmp_path / "m.tflite").stat().st_size
    assert set(litetrain.Model(tmp_path / "m.tflite").signatures) == {"infer"}
    assert report.agreement >= 0.9 and report.max_abs_difference < (1e-6 if quantize is None else 0.5)
    if quantize is None:
        expected = built.trainer().predict(x)[model.layers[-1].name]
        np.testing.assert_allclose(
            litetrain.Model(tmp_path / "m.tflite").runner("infer")(x=x)[model.layers[-1].name],
            expected,
            rtol=1e-5,
            atol=1e-6,
        )


def test_export_refuses_bad_options(tmp_path, adam_model):
    _, built = adam_model
    with pytest.raises(ValueError, match="quantize must be one of"):
        litetrain.export(built, None, tmp_path / "m.tflite", quantize="int4")
    with pytest.raises(ValueError, match="needs representative_data"):
        litetrain.export(built, None, tmp_path / "m.tflite", quantize="int8")
    assert not (tmp_path / "m.tflite").exists()


class TanhMLP:
    """A tf.Module of plain tf.Variables with a forward function (no Keras)."""

    def __new__(cls, activation="tanh"):
        import tensorflow as tf

        class Module(tf.Module):
            def __init__(self):
                super().__init__()
                rng = np.random.default_rng(0)
                self.w1 = tf.Variable(rng.normal(0, 0.3, (12, 10)).astype(np.float32), name="w1")
                self.b1 = tf.Variable(np.zeros(10, np.float32), name="b1")
                self.w2 = tf.Variable(rng.normal(0, 0.3, (10, 4)).astype(np.float32), name="w2")
                self.b2 = tf.Variable(np.zeros(4, np.float32), name="b2")

            def __call__(self, x):
                h = tf.matmul(x, self.w1) + self.b1
                h = {"tanh": tf.tanh, "relu": tf.nn.relu, "gelu": tf.nn.gelu}[activation](h)
                return tf.matmul(h, self.w2) + self.b2

        return Module()


# relu: TensorFlow's gradient (ReluGrad) is Flex, the build traces it in builtin ops. (With Adam,
# whose steps do not shrink with the gradient, relu's kinks leave 1e-6 differences after 10 steps.)
@pytest.mark.parametrize("activation, optimizer", [("tanh", optim.Adam(0.01)), ("relu", optim.SGD(0.1))])
def test_tf_module_matches_tensorflow(activation, optimizer):
    import tensorflow as tf

    module = TanhMLP(activation)
    built = litetrain.build(
        module, "categorical_crossentropy", optimizer, input_shape=(12,), batch_size=8, from_logits=True
    )
    assert sorted(built.trainable_weights) == ["b1", "b2", "w1", "w2"]
    compiled = litetrain.Model(built.tflite)
    assert {k: v.tolist() for k, v in compiled.runner("save")().items() if k in ("b1",)} == {"b1": [0.0] * 10}
    rng = np.random.default_rng(1)
    batches = [
        (rng.normal(size=(8, 12)).astype(np.float32), np.eye(4, dtype=np.float32)[rng.integers(0, 4, 8)])
        for _ in range(10)
    ]
    train = compiled.runner("train")
    ours = [float(train(x=x, y=y)["loss"]) for x, y in batches]
    saved = compiled.runner("save")()

    loss = keras.losses.CategoricalCrossentropy(from_logits=True)
    opt = keras_reference.keras_optimizer(optimizer)
    theirs = []
    for x, y in batches:
        with tf.GradientTape() as tape:
            value = loss(y, module(x))
        opt.apply_gradients(zip(tape.gradient(value, module.trainable_variables), module.trainable_variables))
        theirs.append(float(value))
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
    for v in module.trainable_variables:
        np.testing.assert_allclose(saved[v.name.split(":")[0]], v.numpy(), rtol=1e-5, atol=1e-6)


def test_tf_module_with_a_flex_gradient_is_refused():
    with pytest.raises(litetrain.BuildError, match="not TFLite builtins: Erfc"):
        litetrain.build(
            TanhMLP("gelu"), "categorical_crossentropy", optim.SGD(0.1), input_shape=(12,), from_logits=True
        )
    with pytest.raises(litetrain.BuildError, match="needs input_shape"):
        litetrain.build(TanhMLP(), "categorical_crossentropy", optim.SGD(0.1))


def test_bake_a_built_model_with_transposed_kernels_and_scalar_state(tmp_path, adam_model):
    """save returns dense kernels transposed back and scalars as [1]: bake follows both."""
    model, built = adam_model
    trainer = built.trainer()
    x = np.random.default_rng(4).normal(size=(64, 32)).astype(np.float32)
    y = np.eye(4, dtype=np.float32)[np.arange(64) % 4]
    trainer.fit(x, y, batch_size=16, epochs=2, progress=False)
    weights = trainer.snapshot()
    litetrain.bake(built.tflite, trainer, tmp_path / "baked.tflite")
    baked = litetrain.Trainer(tmp_path / "baked.tflite").snapshot()
    assert baked.keys() == weights.keys()
    for name, value in weights.items():
        np.testing.assert_array_equal(baked[name], value, err_msg=name)
    litetrain.bake(built.tflite, trainer, tmp_path / "infer.tflite", inference_only=True)
    out = model.layers[-1].name
    np.testing.assert_allclose(
        litetrain.Model(tmp_path / "infer.tflite").runner("infer")(x=x)[out],
        trainer.predict(x)[out],
        rtol=1e-5,
        atol=1e-6,
    )


def test_cli_export_from_a_keras_file_and_a_checkpoint(tmp_path):
    import subprocess
    import sys

    from litetrain._reference_models import digits_dataset

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((64,)), L.Dense(16, activation="relu"), L.Dense(10, name="logits")])
    model.save(tmp_path / "digits.keras")  # a reloaded Sequential keeps the weights' save/restore names
    built = litetrain.build(model, "categorical_crossentropy", optim.SGD(0.1), from_logits=True)
    x, y, x_test, y_test = digits_dataset()
    trainer = built.trainer()
    trainer.fit(x, y, epochs=3, progress=False)
    trainer.save_checkpoint(tmp_path / "ckpt.npz")
    np.savez(tmp_path / "test.npz", x=x_test, y=y_test)

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "litetrain", *args], capture_output=True, text=True, check=False)

    done = cli(
        "export",
        str(tmp_path / "digits.keras"),
        "--checkpoint",
        str(tmp_path / "ckpt.npz"),
        "-o",
        str(tmp_path / "int8.tflite"),
        "--quantize",
        "int8",
        "--data",
        str(tmp_path / "test.npz"),
    )
    assert done.returncode == 0, done.stderr
    assert "int8.tflite: int8" in done.stdout and "accuracy" in done.stdout
    expected = trainer.evaluate(x_test, y_test)["accuracy"]
    reported = float(done.stdout.split("(float32: ")[2].split(")")[0])
    assert reported == pytest.approx(expected, abs=6e-4)  # printed to 4 digits
    refused = cli("export", str(tmp_path / "digits.keras"), "-o", str(tmp_path / "x.tflite"), "--quantize", "int8")
    assert refused.returncode == 1 and "needs --data" in refused.stderr and "Traceback" not in refused.stderr


def test_a_checkpoint_of_a_second_keras_instance_says_why_it_does_not_load(tmp_path):
    """Keras numbers the layers of a model built again in one process (dense_2, ...)."""

    def make():
        return keras.Sequential([keras.Input((6,)), L.Dense(5), L.Dense(3)])

    first, second = make(), make()
    assert first.layers[0].name != second.layers[0].name
    a = litetrain.build(first, "categorical_crossentropy", optim.SGD(0.1), from_logits=True).trainer()
    b = litetrain.build(second, "categorical_crossentropy", optim.SGD(0.1), from_logits=True).trainer()
    a.save_checkpoint(tmp_path / "first.npz")
    with pytest.raises(
        litetrain.CheckpointError, match=r"differ only by Keras' automatic layer numbers .*clear_session"
    ):
        b.load_checkpoint(tmp_path / "first.npz")
    with pytest.raises(ValueError, match=r"differ only by Keras' automatic layer numbers"):
        b.restore(a.snapshot())
