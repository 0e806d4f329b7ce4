"""A variable read of its own for each use (builder/variable_reads.py), on
models converted by TensorFlow's own converter: the rewritten step computes
what the converted one does, and a read whose uses straddle an assignment of
its variable (direct, or inside a branch of an IF) stays where it is."""

from __future__ import annotations

import numpy as np
import pytest

import litetrain
from conftest import build_host_import

tf = build_host_import("tensorflow", "TensorFlow converts the models and rewrites them")
from tensorflow.lite.python import schema_py_generated as schema  # noqa: E402
from tensorflow.lite.tools import flatbuffer_utils  # noqa: E402

from litetrain.tf.builder.fuse import rewrite_for_xnnpack  # noqa: E402

pytestmark = pytest.mark.needs_tensorflow

W0 = np.arange(6, dtype=np.float32).reshape(2, 3) / 4.0
X = np.array([[1.0, -2.0, 0.5], [0.25, 3.0, -1.0]], dtype=np.float32)


class Step(tf.Module):
    """y = x w^T, w <- w - x / 2 (`use`: "before"); "after" also returns
    w_read * w_new, a use of the first read after the assignment; "branch"
    makes the assignment in a tf.cond (an IF) and then uses the first read."""

    def __init__(self, use: str):
        super().__init__()
        self.w = tf.Variable(W0)
        self.use = use

    @tf.function(input_signature=[tf.TensorSpec([2, 3], tf.float32)])
    def step(self, x):
        w = self.w.read_value()
        outputs = {"y": tf.matmul(x, w, transpose_b=True)}
        if self.use == "branch":

            def update():
                self.w.assign(w - 0.5 * x)
                return tf.constant(1.0)

            updated = tf.cond(tf.reduce_sum(x) < 100.0, update, lambda: tf.constant(0.0))
            outputs["product"] = w * updated
            return outputs
        self.w.assign(w - 0.5 * x)
        if self.use == "after":
            outputs["product"] = w * self.w.read_value()
        return outputs


def _converted(use: str) -> bytes:
    module = Step(use)
    converter = tf.lite.TFLiteConverter.from_concrete_functions([module.step.get_concrete_function()], module)
    converter.experimental_enable_resource_variables = True
    return converter.convert()


def _reads(model_bytes: bytes) -> int:
    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(model_bytes))
    codes = [max(c.builtinCode, c.deprecatedBuiltinCode) for c in model.operatorCodes]
    read = schema.BuiltinOperator.READ_VARIABLE
    return sum(codes[op.opcodeIndex] == read for subgraph in model.subgraphs for op in subgraph.operators)


def _run_steps(model_bytes: bytes, steps: int = 3) -> list[dict]:
    run = litetrain.Model(model_bytes).runner("serving_default")
    return [run(x=X) for _ in range(steps)]


def _expected(use: str, steps: int = 3) -> list[dict]:
    w, results = W0.copy(), []
    for _ in range(steps):
        new = w - 0.5 * X
        result = {"y": X @ w.T}
        if use == "after":
            result["product"] = w * new
        elif use == "branch":
            result["product"] = w
        results.append(result)
        w = new
    return results


@pytest.mark.parametrize("use", ["before", "after", "branch"])
def test_rewritten_step_computes_what_the_converted_one_does(use):
    converted = _converted(use)
    rewritten = rewrite_for_xnnpack(converted)
    if use == "before":
        assert _reads(rewritten) == _reads(converted) + 1  # one read for the product, one for the update
    else:
        # Read again after the assignment, the product would see the new value.
        assert _reads(rewritten) == _reads(converted)
    for got, want in zip(_run_steps(rewritten), _expected(use)):
        assert set(got) == set(want)
        for name in want:
            np.testing.assert_allclose(got[name], want[name], rtol=1e-6, atol=1e-6, err_msg=name)
