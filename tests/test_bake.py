"""Baking trained weights into a .tflite (litetrain.bake, Trainer.bake), and refusals."""

from __future__ import annotations

import os

import litetrain
import numpy as np
import pytest
from conftest import training_batches


def trained(path, steps=30, batch=8):
    trainer = litetrain.Trainer(path)
    x = np.concatenate([b[0] for b in training_batches(steps, batch, seed=1)])
    y = np.concatenate([b[1] for b in training_batches(steps, batch, seed=1)])
    trainer.fit(x, y, batch_size=batch, epochs=1, shuffle=False)
    return trainer


def assert_bitwise_equal(ours: dict, theirs: dict):
    assert set(ours) == set(theirs)
    for name, value in ours.items():
        assert value.dtype == theirs[name].dtype and value.shape == theirs[name].shape, name
        assert value.tobytes() == theirs[name].tobytes(), name


@pytest.mark.parametrize("fixture", ["mlp_fixed_path", "mlp_dynamic_path"])
def test_baked_model_starts_from_the_trained_weights(request, tmp_path, fixture, mlp_weights):
    trainer = trained(request.getfixturevalue(fixture))
    weights = trainer.snapshot()
    assert any(not np.array_equal(weights[n], mlp_weights[n]) for n in weights)  # it trained
    out = tmp_path / "baked.tflite"
    trainer.bake(out)

    fresh = litetrain.Trainer(out)
    assert set(fresh.model.signatures) == set(trainer.model.signatures)
    assert_bitwise_equal(fresh.snapshot(), weights)
    x, y = training_batches(1, 8, seed=5)[0]
    assert_bitwise_equal(fresh.predict(x, batch_size=8), trainer.predict(x, batch_size=8))
    # and it keeps training from there, step for step
    assert (
        fresh.fit(x, y, batch_size=8, epochs=3).losses.tobytes()
        == trainer.fit(x, y, batch_size=8, epochs=3).losses.tobytes()
    )


def test_inference_only_is_infer_with_constants(tmp_path, mlp_dynamic_path):
    trainer = trained(mlp_dynamic_path)
    out = tmp_path / "inference.tflite"
    baked = litetrain.bake(trainer.model, trainer, out, inference_only=True)
    assert baked.infer_difference == 0.0  # BATCH_MATMUL with constant weights: the same kernel
    model = litetrain.Model(out)
    assert list(model.signatures) == ["infer"]
    ops = {op.name for op in litetrain.list_operators(out)}
    assert not ops & {"VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE", "CALL_ONCE"}
    weight_bytes = sum(v.nbytes for v in trainer.snapshot().values())
    assert weight_bytes < out.stat().st_size < weight_bytes + 4096  # the weights and a small graph
    x = training_batches(1, 13, seed=6)[0][0]
    assert_bitwise_equal(model.runner("infer")(x=x), trainer.predict(x, batch_size=13))


def test_weights_from_a_dict_or_a_checkpoint(tmp_path, mlp_fixed_path):
    trainer = trained(mlp_fixed_path)
    checkpoint = tmp_path / "ckpt.npz"
    trainer.save_checkpoint(checkpoint)
    from_dict = litetrain.bake(mlp_fixed_path, trainer.snapshot(), None).data
    written = litetrain.bake(str(mlp_fixed_path), checkpoint, tmp_path / "from_checkpoint.tflite")
    assert written.data is None and written.path == str(tmp_path / "from_checkpoint.tflite")
    assert sorted(written.variables) == ["b0", "b1", "w0", "w1"] and written.infer_difference is None
    assert (tmp_path / "from_checkpoint.tflite").read_bytes() == from_dict
    assert_bitwise_equal(litetrain.Trainer(from_dict).snapshot(), trainer.snapshot())


@pytest.mark.needs_tensorflow
def test_checkpoint_of_another_model_is_refused_and_nothing_written(tmp_path, mlp_fixed_path):
    other = tmp_path / "other.tflite"
    from litetrain.tf.reference_models import mlp_training_model

    other.write_bytes(mlp_training_model((32, 8, 4), batch_size=8))
    checkpoint = tmp_path / "other.npz"
    litetrain.Trainer(other).save_checkpoint(checkpoint)
    out = tmp_path / "out.tflite"
    out.write_bytes(b"previous")
    with pytest.raises(
        litetrain.CheckpointError,
        match=r"checkpoint '.*other.npz' does not fit model '.*mlp_fixed.tflite': "
        r"variable 'b0' is float32\[8\] in the weights but float32\[16\] in the model",
    ):
        litetrain.bake(mlp_fixed_path, checkpoint, out)
    assert out.read_bytes() == b"previous"
    assert sorted(os.listdir(tmp_path)) == [
        "other.npz",
        "other.tflite",
        "out.tflite",
    ]  # no temporary left


def test_weights_that_do_not_fit_are_named(mlp_fixed_path, mlp_weights, tmp_path):
    out = tmp_path / "out.tflite"
    partial = dict(mlp_weights)
    del partial["w1"]
    with pytest.raises(ValueError, match=r"the weights lack variable 'w1'"):
        litetrain.bake(mlp_fixed_path, partial, out)
    extra = dict(mlp_weights, momentum=np.zeros(3, np.float32))
    with pytest.raises(
        ValueError,
        match=r"the weights hold 'momentum', which the model's 'save' does not return",
    ):
        litetrain.bake(mlp_fixed_path, extra, out)
    as_float64 = {n: v.astype(np.float64) for n, v in mlp_weights.items()}
    with pytest.raises(ValueError, match=r"is float64\[.*\] in the weights but float32"):
        litetrain.bake(mlp_fixed_path, as_float64, out)
    assert not out.exists()


def test_what_is_not_a_training_model_is_refused(tmp_path, mlp_fixed_path, mlp_weights):
    inference = tmp_path / "inference.tflite"
    litetrain.bake(mlp_fixed_path, mlp_weights, inference, inference_only=True)
    with pytest.raises(
        ValueError,
        match=r"cannot bake '.*inference.tflite': the model is not a litetrain training model: "
        r"it has no 'save' signature",
    ):
        litetrain.bake(inference, mlp_weights, tmp_path / "again.tflite")
    damaged = tmp_path / "damaged.tflite"
    damaged.write_bytes(mlp_fixed_path.read_bytes()[:5000])
    with pytest.raises(
        litetrain.ModelFormatError,
        match=r"damaged.tflite': the model is not a valid TFLite model",
    ):
        litetrain.bake(damaged, mlp_weights, tmp_path / "again.tflite")
    with pytest.raises(FileNotFoundError, match=r"model file '.*missing.tflite' does not exist"):
        litetrain.bake(tmp_path / "missing.tflite", mlp_weights, tmp_path / "again.tflite")
    with pytest.raises(FileNotFoundError, match=r"checkpoint '.*missing.npz' does not exist"):
        litetrain.bake(mlp_fixed_path, tmp_path / "missing.npz", tmp_path / "again.tflite")
    with pytest.raises(
        FileNotFoundError, match=r"cannot write model '.*no/such/folder/out.tflite': folder .* does not exist"
    ):
        litetrain.bake(
            mlp_fixed_path,
            mlp_weights,
            tmp_path / "no" / "such" / "folder" / "out.tflite",
        )
    assert not (tmp_path / "again.tflite").exists()


def test_learning_rate_of_a_model_that_exposes_it(mlp_settable_lr_path, mlp_fixed_path):
    batches = training_batches(5, 8, seed=2)
    losses = {}
    for lr in (0.05, 0.4):
        trainer = litetrain.Trainer(mlp_settable_lr_path)
        trainer.set_learning_rate(lr)
        assert trainer.learning_rate == pytest.approx(lr)
        x = np.concatenate([b[0] for b in batches])
        y = np.concatenate([b[1] for b in batches])
        losses[lr] = trainer.fit(x, y, batch_size=8, shuffle=False).losses
    assert losses[0.05][0] == losses[0.4][0]  # same start
    assert losses[0.4][-1] < losses[0.05][-1]  # the larger step moved further
    fixed = litetrain.Trainer(mlp_fixed_path)
    assert fixed.learning_rate is None
    with pytest.raises(
        ValueError,
        match=r"has no 'set_learning_rate' signature: its learning rate is fixed in the graph",
    ):
        fixed.set_learning_rate(0.1)
    with pytest.raises(ValueError, match=r"positive finite number"):
        litetrain.Trainer(mlp_settable_lr_path).set_learning_rate(float("nan"))


def test_operators_and_compatibility(mlp_fixed_path):
    uses = {op.name: op for op in litetrain.list_operators(mlp_fixed_path)}
    assert "train" in uses["FULLY_CONNECTED"].signatures and "infer" not in uses["FULLY_CONNECTED"].signatures
    assert set(uses["CALL_ONCE"].signatures) == {
        "train",
        "eval",
        "infer",
        "save",
        "restore",
    }
    check = litetrain.check_compatibility(mlp_fixed_path)
    assert check.ok and str(check) == "tflite-runtime-2.14 runs it"
    assert litetrain.check_compatibility(litetrain.Model(mlp_fixed_path.read_bytes())) == check
    with pytest.raises(
        ValueError,
        match=r"unknown runtime 'tflite-runtime-1.0'; litetrain knows: 'tflite-runtime-2.14'",
    ):
        litetrain.check_compatibility(mlp_fixed_path, "tflite-runtime-1.0")


def layout_model() -> bytes:
    """A training model whose `save` changes layouts, as litetrain.build's does:
    the kernel is kept as [out, in] and returned transposed, the int32 step
    counter (a scalar) is returned as shape [1], and a [2, 3, 4] table is
    returned as [4, 2, 3] (a permutation that is not its own inverse)."""
    from litetrain.tf import tensorflow as tf

    rng = np.random.default_rng(0)

    class Module(tf.Module):
        def __init__(self):
            super().__init__()
            self.kernel = tf.Variable(rng.standard_normal((4, 3)).astype(np.float32))  # [out, in]
            self.bias = tf.Variable(np.full(4, 0.1, np.float32))
            self.step = tf.Variable(np.int32(0))
            self.table = tf.Variable(np.zeros((2, 3, 4), np.float32))

    m = Module()
    # A fixed batch: the gradient of a broadcast over a dynamic one needs a Flex op.
    x_spec, y_spec = (
        tf.TensorSpec([5, 3], tf.float32, name="x"),
        tf.TensorSpec([5, 4], tf.float32, name="y"),
    )

    def logits(x):
        return tf.matmul(x, m.kernel, transpose_b=True) + m.bias

    @tf.function(input_signature=[x_spec, y_spec])
    def train(x, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(logits(x) - y))
        dk, db = tape.gradient(loss, [m.kernel, m.bias])
        m.kernel.assign_sub(0.1 * dk)
        m.bias.assign_sub(0.1 * db)
        m.step.assign_add(1)
        return {"loss": loss}

    @tf.function(input_signature=[x_spec])
    def infer(x):
        return {"logits": logits(x)}

    @tf.function(input_signature=[])
    def save():
        return {
            "kernel": tf.transpose(m.kernel),
            "bias": tf.identity(m.bias),
            "step": tf.reshape(m.step, [1]),
            "table": tf.transpose(m.table, [2, 0, 1]),
        }

    specs = [
        tf.TensorSpec([3, 4], tf.float32, name="kernel"),
        tf.TensorSpec([4], tf.float32, name="bias"),
        tf.TensorSpec([1], tf.int32, name="step"),
        tf.TensorSpec([4, 2, 3], tf.float32, name="table"),
    ]

    @tf.function(input_signature=specs)
    def restore(kernel, bias, step, table):
        m.kernel.assign(tf.transpose(kernel))
        m.bias.assign(bias)
        m.step.assign(tf.reshape(step, []))
        m.table.assign(tf.transpose(table, [1, 2, 0]))
        return {"ok": tf.constant(True)}

    import tempfile

    signatures = {"train": train, "infer": infer, "save": save, "restore": restore}
    with tempfile.TemporaryDirectory() as folder:
        tf.saved_model.save(m, folder, signatures=signatures)
        converter = tf.lite.TFLiteConverter.from_saved_model(folder, signature_keys=list(signatures))
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        converter.experimental_enable_resource_variables = True
        return converter.convert()


@pytest.mark.needs_tensorflow
def test_variables_save_returns_transposed_or_reshaped(tmp_path):
    model = tmp_path / "layout.tflite"
    model.write_bytes(layout_model())
    ops = {op.name for op in litetrain.list_operators(model) if "save" in op.signatures}
    assert {"TRANSPOSE", "RESHAPE"} <= ops  # the layouts this test is about
    weights = {
        "kernel": np.arange(12, dtype=np.float32).reshape(3, 4) / 10,  # distinct values: a wrong layout shows
        "bias": np.array([1, -1, 2, -2], np.float32),
        "step": np.array([41], np.int32),
        "table": np.arange(24, dtype=np.float32).reshape(4, 2, 3),
    }
    baked = tmp_path / "baked.tflite"
    litetrain.bake(model, weights, baked)
    assert_bitwise_equal(litetrain.Model(baked).runner("save")(), weights)

    reference = litetrain.Model(model)
    reference.runner("restore")(**weights)
    x = np.linspace(-1, 1, 15, dtype=np.float32).reshape(5, 3)
    expected = reference.runner("infer")(x=x)["logits"]
    np.testing.assert_allclose(expected, x @ weights["kernel"] + weights["bias"], rtol=1e-6)
    frozen = litetrain.bake(model, weights, tmp_path / "frozen.tflite", inference_only=True)
    got = litetrain.Model(tmp_path / "frozen.tflite").runner("infer")(x=x)["logits"]
    assert frozen.infer_difference is not None and frozen.infer_difference <= litetrain.baking.INFER_TOLERANCE
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6 * np.abs(expected).max())


def test_weights_of_another_model_are_a_typed_error(mlp_dynamic_path):
    """Callers tell "these weights do not fit" from other failures by its type, not its text."""
    model = mlp_dynamic_path.read_bytes()
    weights = litetrain.Model(model).runner("save")()
    weights.pop(next(iter(weights)))
    with pytest.raises(litetrain.WeightsMismatch, match="lack"):
        litetrain.bake(model, weights, None)
    trainer = litetrain.Trainer(model)
    with pytest.raises(litetrain.WeightsMismatch, match="the snapshot lacks variable"):
        trainer.restore(weights)
