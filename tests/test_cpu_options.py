"""CPU options (threads, XNNPACK flags, kernel mode, weight cache) each take effect,
and the per-operator profile shows where a signature runs."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

import litetrain
from litetrain import xnnpack_flags
from cli_runner import litetrain as run_litetrain
from conftest import build_host_import

FLAGS_WITHOUT_DYNAMIC_FC = xnnpack_flags.QS8 | xnnpack_flags.QU8


def _outside(profile) -> list[str]:
    return [op.op for op in profile.operators if not op.in_xnnpack]


def _infer_input(model: litetrain.Model, signature: str = "infer") -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    spec = model.signatures[signature].inputs
    return {name: rng.random([d if d > 0 else 2 for d in t.shape]).astype(t.dtype) for name, t in spec.items()}


def test_default_flags_are_the_runtimes_plus_dynamic_fully_connected(mlp_fixed_path: Path) -> None:
    model = litetrain.Model(mlp_fixed_path)
    assert model.xnnpack_flags == xnnpack_flags.DEFAULT
    assert xnnpack_flags.DEFAULT == xnnpack_flags.QS8 | xnnpack_flags.QU8 | xnnpack_flags.DYNAMIC_FULLY_CONNECTED
    assert model.kernel_mode == "xnnpack"


def test_dynamic_fully_connected_puts_trainable_dense_layers_inside_xnnpack(mlp_fixed_path: Path) -> None:
    default = litetrain.profile(mlp_fixed_path, "train", runs=3)
    assert "FULLY_CONNECTED" not in _outside(default)
    without = litetrain.profile(mlp_fixed_path, "train", runs=3, xnnpack_flags=FLAGS_WITHOUT_DYNAMIC_FC)
    outside_fc = [op for op in without.operators if op.op == "FULLY_CONNECTED" and not op.in_xnnpack]
    assert outside_fc, without.describe()
    assert all("DYNAMIC_FULLY_CONNECTED" in op.reason for op in outside_fc)
    assert without.operators_in_xnnpack < default.operators_in_xnnpack


def test_flags_replace_the_runtimes_defaults(model_kind_bytes: dict[str, bytes]) -> None:
    """The int8 export runs inside XNNPACK by default (QS8), outside with flags 0."""
    int8 = model_kind_bytes["int8_export"]
    signature = next(iter(litetrain.Model(int8).signatures))
    default = litetrain.profile(int8, signature, runs=3)
    assert _outside(default) == [], default.describe()
    none = litetrain.profile(int8, signature, runs=3, xnnpack_flags=0)
    assert none.operators_in_xnnpack == 0, none.describe()


def test_training_with_dynamic_fully_connected_matches_builtin_kernels(mlp_fixed_path: Path) -> None:
    """The same steps on XNNPACK's dynamic FULLY_CONNECTED and on LiteRT's kernels agree."""
    rng = np.random.default_rng(1)
    spec = litetrain.Model(mlp_fixed_path).signatures["train"].inputs
    x = rng.normal(size=(64, *spec["x"].shape[1:])).astype(np.float32)
    y = np.eye(spec["y"].shape[1], dtype=np.float32)[rng.integers(0, spec["y"].shape[1], 64)]
    weights = {}
    for options in ({}, {"xnnpack_flags": FLAGS_WITHOUT_DYNAMIC_FC}, {"kernel_mode": "builtin"}):
        trainer = litetrain.Trainer(litetrain.Model(mlp_fixed_path, **options))
        trainer.fit(x, y, epochs=2, batch_size=spec["x"].shape[0], shuffle=False)
        weights[str(options)] = trainer.snapshot()
    reference = weights["{}"]
    for name, other in weights.items():
        for key, value in other.items():
            np.testing.assert_allclose(value, reference[key], rtol=1e-5, atol=1e-6, err_msg=f"{name}: {key}")


def test_builtin_kernel_mode_runs_nothing_in_xnnpack(model_kind_bytes: dict[str, bytes]) -> None:
    cnn = model_kind_bytes["cnn"]
    profile = litetrain.profile(cnn, "train", runs=2, kernel_mode="builtin")
    assert profile.operators_in_xnnpack == 0
    assert all(op.reason == "kernel mode 'builtin'" for op in profile.operators)
    xnnpack, builtin = litetrain.Model(cnn), litetrain.Model(cnn, kernel_mode="builtin")
    inputs = _infer_input(xnnpack)
    for name, value in xnnpack.runner("infer")(**inputs).items():
        np.testing.assert_allclose(builtin.runner("infer")(**inputs)[name], value, rtol=1e-5, atol=1e-6)


def test_convolution_with_a_variable_filter_is_named_with_its_reason(tmp_path: Path) -> None:
    tf = build_host_import("tensorflow", "a model converted with TensorFlow")

    class Module(tf.Module):
        def __init__(self):
            self.filter = tf.Variable(tf.ones([3, 3, 1, 2]))

        @tf.function(input_signature=[tf.TensorSpec([2, 6, 6, 1], tf.float32, name="x")])
        def infer(self, x):
            return {"y": tf.nn.conv2d(x, self.filter, 1, "VALID")}

        @tf.function(input_signature=[tf.TensorSpec([3, 3, 1, 2], tf.float32, name="value")])
        def set_filter(self, value):  # assigned somewhere: a variable, not a constant
            self.filter.assign(value)
            return {"ok": tf.constant(True)}

    module = Module()
    signatures = {"infer": module.infer, "set_filter": module.set_filter}
    tf.saved_model.save(module, str(tmp_path), signatures=signatures)
    converter = tf.lite.TFLiteConverter.from_saved_model(str(tmp_path), signature_keys=list(signatures))
    converter.experimental_enable_resource_variables = True
    profile = litetrain.profile(converter.convert(), "infer", runs=2)
    convolutions = [op for op in profile.operators if op.op == "CONV_2D"]
    assert len(convolutions) == 1 and not convolutions[0].in_xnnpack
    assert convolutions[0].reason == "XNNPACK takes convolutions with constant filters only"
    assert convolutions[0].microseconds >= 0


def test_a_built_cnn_trains_inside_xnnpack_but_for_the_accuracy(model_kind_bytes: dict[str, bytes]) -> None:
    """litetrain.build's convolutions, pooling and loss run in XNNPACK; what does not is named with why."""
    profile = litetrain.profile(model_kind_bytes["cnn"], "train", runs=2)
    outside = {op.op: op.reason for op in profile.operators if not op.in_xnnpack}
    assert set(outside) <= {"CALL_ONCE", "ARG_MAX", "EQUAL", "CAST"}, profile.describe()
    assert outside["ARG_MAX"] == "XNNPACK has no kernel for ARG_MAX"
    assert profile.xnnpack_operators, "XNNPACK reported none of its own operators"


def _task_count() -> int:
    return len(os.listdir("/proc/self/task"))


def test_threads_start_xnnpack_workers(mlp_fixed_path: Path) -> None:
    before = _task_count()
    one = litetrain.Model(mlp_fixed_path, threads=1)
    one_delta = _task_count() - before
    before = _task_count()
    three = litetrain.Model(mlp_fixed_path, threads=3)
    assert _task_count() - before >= one_delta + 2  # a pool of 3 runs 2 worker threads
    assert (one.threads, three.threads) == (1, 3)


def test_weight_cache_is_written_and_reused(model_kind_bytes: dict[str, bytes], tmp_path: Path) -> None:
    frozen = model_kind_bytes["inference_only"]
    cache = tmp_path / "weights.xnnpack_cache"
    first = litetrain.Model(frozen, weight_cache=cache)
    inputs = _infer_input(first)
    expected = first.runner("infer")(**inputs)
    assert cache.exists() and cache.stat().st_size > 0
    again = litetrain.Model(frozen, weight_cache=cache)
    for name, value in again.runner("infer")(**inputs).items():
        np.testing.assert_array_equal(value, expected[name])


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"xnnpack_flags": 0x1000}, "unknown bits 0x1000"),
        ({"xnnpack_flags": -1}, "xnnpack_flags must be"),
        ({"kernel_mode": "gpu"}, "'xnnpack', 'builtin', 'reference'"),
        ({"threads": 0}, "threads must be"),
        ({"weight_cache": 'a"b'}, "quote"),
    ],
)
def test_bad_cpu_options_are_refused(mlp_fixed_path: Path, options: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        litetrain.Model(mlp_fixed_path, **options)


def test_profile_needs_a_profiling_model_and_a_known_signature(mlp_fixed_path: Path) -> None:
    with pytest.raises(ValueError, match="without profiling"):
        litetrain.Model(mlp_fixed_path).profile("train")
    with pytest.raises(ValueError, match="no signature 'nope'"):
        litetrain.profile(mlp_fixed_path, "nope")


def test_profile_of_a_model_without_signature_defs() -> None:
    """LiteRT gives such a model one placeholder signature: its main subgraph."""
    tf = build_host_import("tensorflow", "TensorFlow converts a function without signatures")

    @tf.function(input_signature=[tf.TensorSpec([4, 6], tf.float32)])
    def doubled_relu(x):
        return tf.nn.relu(x) * 2.0

    converter = tf.lite.TFLiteConverter.from_concrete_functions([doubled_relu.get_concrete_function()], doubled_relu)
    model = litetrain.Model(converter.convert(), profiling=True)
    (key,) = model.signatures
    profile = model.profile(key, runs=2)
    assert [op.op for op in profile.operators] == ["RELU", "MUL"] and profile.operators_in_xnnpack == 2


def test_profile_lists_every_operator_of_the_signature(mlp_dynamic_path: Path) -> None:
    model = litetrain.Model(mlp_dynamic_path, profiling=True)
    profile = model.profile("train", runs=4, batch_size=5)
    assert profile.runs == 4 and profile.signature == "train"
    assert len(profile.operators) == model.signatures["train"].num_ops
    assert [op.index for op in profile.operators] == list(range(len(profile.operators)))
    assert profile.run_microseconds > 0
    assert "operators in XNNPACK" in profile.describe()


def test_cli_inspect_profile(mlp_fixed_path: Path) -> None:
    text = run_litetrain("inspect", mlp_fixed_path, "--profile", "--runs", "3")
    assert text.returncode == 0, text.stderr
    assert "signature 'train':" in text.stdout and "operators in XNNPACK" in text.stdout
    as_json = run_litetrain(
        "inspect",
        mlp_fixed_path,
        "--profile",
        "train",
        "--runs",
        "3",
        "--json",
        "--xnnpack-flags",
        hex(FLAGS_WITHOUT_DYNAMIC_FC),
    )
    assert as_json.returncode == 0, as_json.stderr
    report = json.loads(as_json.stdout)
    outside = [op for op in report["profile"]["operators"] if not op["in_xnnpack"]]
    assert any(op["op"] == "FULLY_CONNECTED" for op in outside)
