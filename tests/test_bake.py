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
        assert (
            value.dtype == theirs[name].dtype and value.shape == theirs[name].shape
        ), name
        assert value.tobytes() == theirs[name].tobytes(), name


@pytest.mark.parametrize("fixture", ["mlp_fixed_path", "mlp_dynamic_path"])
def test_baked_model_starts_from_the_trained_weights(
    request, tmp_path, fixture, mlp_weights
):
    trainer = trained(request.getfixturevalue(fixture))
    weights = trainer.snapshot()
    assert any(
        not np.array_equal(weights[n], mlp_weights[n]) for n in weights
    )  # it trained
    out = tmp_path / "baked.tflite"
    trainer.bake(out)

    fresh = litetrain.Trainer(out)
    assert set(fresh.model.signatures) == set(trainer.model.signatures)
    assert_bitwise_equal(fresh.snapshot(), weights)
    x, y = training_batches(1, 8, seed=5)[0]
    assert_bitwise_equal(
        fresh.predict(x, batch_size=8), trainer.predict(x, batch_size=8)
    )
    # and it keeps training from there, step for step
    assert (
        fresh.fit(x, y, batch_size=8, epochs=3).losses.tobytes()
        == trainer.fit(x, y, batch_size=8, epochs=3).losses.tobytes()
    )


def test_inference_only_is_infer_with_constants(tmp_path, mlp_dynamic_path):
    trainer = trained(mlp_dynamic_path)
    out = tmp_path / "inference.tflite"
    litetrain.bake(trainer.model, trainer, out, inference_only=True)
    model = litetrain.Model(out)
    assert list(model.signatures) == ["infer"]
    ops = {op.name for op in litetrain.list_operators(out)}
    assert not ops & {"VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE", "CALL_ONCE"}
    weight_bytes = sum(v.nbytes for v in trainer.snapshot().values())
    assert (
        weight_bytes < out.stat().st_size < weight_bytes + 4096
    )  # the weights and a small graph
    x = training_batches(1, 13, seed=6)[0][0]
    assert_bitwise_equal(model.runner("infer")(x=x), trainer.predict(x, batch_size=13))


def test_weights_from_a_dict_or_a_checkpoint(tmp_path, mlp_fixed_path):
    trainer = trained(mlp_fixed_path)
    checkpoint = tmp_path / "ckpt.npz"
    trainer.save_checkpoint(checkpoint)
    from_dict = litetrain.bake(mlp_fixed_path, trainer.snapshot(), None)
    litetrain.bake(str(mlp_fixed_path), checkpoint, tmp_path / "from_checkpoint.tflite")
    assert (tmp_path / "from_checkpoint.tflite").read_bytes() == from_dict
    assert_bitwise_equal(litetrain.Trainer(from_dict).snapshot(), trainer.snapshot())


def test_checkpoint_of_another_model_is_refused_and_nothing_written(
    tmp_path, mlp_fixed_path
):
    other = tmp_path / "other.tflite"
    from litetrain._reference_models import mlp_training_model

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
    with pytest.raises(
        ValueError, match=r"is float64\[.*\] in the weights but float32"
    ):
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
    with pytest.raises(
        FileNotFoundError, match=r"model file '.*missing.tflite' does not exist"
    ):
        litetrain.bake(
            tmp_path / "missing.tflite", mlp_weights, tmp_path / "again.tflite"
        )
    with pytest.raises(
        FileNotFoundError, match=r"checkpoint '.*missing.npz' does not exist"
    ):
        litetrain.bake(
            mlp_fixed_path, tmp_path / "missing.npz", tmp_path / "again.tflite"
        )
    with pytest.raises(
        FileNotFoundError, match=r"cannot write '.*no/such/folder/out.tflite'"
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
    assert (
        "train" in uses["FULLY_CONNECTED"].signatures
        and "infer" not in uses["FULLY_CONNECTED"].signatures
    )
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
