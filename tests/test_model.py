"""Model loading, signature listing and the runner's contract."""

from __future__ import annotations

import numpy as np
from ai_edge_litert.interpreter import Interpreter

import litetrain
from conftest import training_batches


def test_signatures_list_inputs_outputs_dtypes_and_shapes(mlp_fixed_path):
    model = litetrain.Model(mlp_fixed_path)
    assert set(model.signatures) == {"train", "eval", "infer", "save", "restore"}
    train = model.signatures["train"]
    assert train.inputs["x"].dtype == np.float32
    assert train.inputs["x"].shape == (8, 32)
    assert train.inputs["y"].shape == (8, 4)
    assert train.outputs["loss"].shape == ()
    assert all(sig.num_ops > 0 for sig in model.signatures.values())


def test_dynamic_dimensions_are_minus_one(mlp_dynamic_path):
    model = litetrain.Model(mlp_dynamic_path)
    assert model.signatures["infer"].inputs["x"].shape == (-1, 32)
    assert model.signatures["infer"].outputs["logits"].shape == (-1, 4)


def test_signatures_match_the_interpreters(mlp_fixed_path):
    ours = litetrain.Model(mlp_fixed_path).signatures
    theirs = Interpreter(model_path=str(mlp_fixed_path)).get_signature_list()
    assert set(ours) == set(theirs)
    for key, sig in ours.items():
        assert sorted(sig.inputs) == sorted(theirs[key]["inputs"])
        assert sorted(sig.outputs) == sorted(theirs[key]["outputs"])


def test_model_loads_from_bytes_and_paths(mlp_fixed_path):
    from_bytes = litetrain.Model(mlp_fixed_path.read_bytes())
    from_str = litetrain.Model(str(mlp_fixed_path))
    assert from_bytes.signatures == from_str.signatures
    assert litetrain.Model(bytearray(mlp_fixed_path.read_bytes())).signatures == from_str.signatures


def test_fresh_model_saves_its_initial_weights_exactly(mlp_fixed_path, mlp_weights):
    saved = litetrain.Model(mlp_fixed_path).runner("save")()
    assert set(saved) == set(mlp_weights)
    for name, value in mlp_weights.items():
        np.testing.assert_array_equal(saved[name], value)


def test_restore_puts_weights_back(mlp_fixed_path, mlp_weights):
    model = litetrain.Model(mlp_fixed_path)
    train = model.runner("train")
    for x, y in training_batches(5, 8):
        train(x=x, y=y)
    assert not np.array_equal(model.runner("save")()["w0"], mlp_weights["w0"])
    model.runner("restore")(**mlp_weights)
    for name, value in model.runner("save")().items():
        np.testing.assert_array_equal(value, mlp_weights[name])


def test_outputs_are_fresh_arrays_owned_by_the_caller(mlp_fixed_path):
    infer = litetrain.Model(mlp_fixed_path).runner("infer")
    x = np.ones((8, 32), np.float32)
    first = infer(x=x)["logits"]
    second = infer(x=2 * x)["logits"]
    assert not np.shares_memory(first, second)
    assert not np.array_equal(first, second)
    assert first.flags.writeable and first.flags.owndata


def test_dynamic_batch_follows_the_input(mlp_dynamic_path):
    infer = litetrain.Model(mlp_dynamic_path).runner("infer")
    x = np.random.default_rng(0).standard_normal((10, 32), dtype=np.float32)
    big = infer(x=x)["logits"]
    small = infer(x=x[:3].copy())["logits"]
    assert big.shape == (10, 4) and small.shape == (3, 4)
    np.testing.assert_allclose(small, big[:3], rtol=1e-6, atol=1e-7)


def test_aligned_input_is_used_in_place_and_unaligned_is_staged(mlp_fixed_path):
    runner = litetrain.Model(mlp_fixed_path).runner("infer")
    index = list(runner.info.inputs).index("x")
    values = np.random.default_rng(1).standard_normal((8, 32)).astype(np.float32)
    raw = np.zeros(8 * 32 + 16, np.float32)
    start = (-raw.ctypes.data % 64) // 4  # first element on a 64-byte boundary

    aligned = raw[start : start + 256].reshape(8, 32)
    aligned[:] = values
    in_place = runner(x=aligned)["logits"]
    assert runner._native.staged_bytes(index) == 0

    unaligned = raw[start + 1 : start + 257].reshape(8, 32)  # 4 bytes past it
    unaligned[:] = values
    staged = runner(x=unaligned)["logits"]
    assert runner._native.staged_bytes(index) == values.nbytes
    np.testing.assert_array_equal(in_place, staged)


def test_non_contiguous_input_is_accepted(mlp_dynamic_path):
    infer = litetrain.Model(mlp_dynamic_path).runner("infer")
    x = np.random.default_rng(2).standard_normal((32, 6), dtype=np.float32)
    np.testing.assert_array_equal(infer(x=x.T)["logits"], infer(x=np.ascontiguousarray(x.T))["logits"])


def test_threads_option_trains_identically(mlp_fixed_path):
    losses = {}
    for threads in (None, 2):
        train = litetrain.Model(mlp_fixed_path, threads=threads).runner("train")
        losses[threads] = [float(train(x=x, y=y)["loss"]) for x, y in training_batches(10, 8)]
    np.testing.assert_allclose(losses[2], losses[None], rtol=1e-6)


def test_library_path_is_the_installed_runtime(mlp_fixed_path):
    from litetrain import _runtime

    assert litetrain.Model(mlp_fixed_path).library_path == _runtime.installed_litert_library()
