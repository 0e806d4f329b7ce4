"""Single damaged fields: omitted (-1) operator inputs, missing names, names
that are not UTF-8, signature maps pointing elsewhere.

LiteRT trusts these fields: a required input given as -1 crashed a kernel
(SIGSEGV), a missing or doubly mapped signature name made it build a
std::string from a null pointer ("basic_string::_M_construct null not
valid"). Each variant is loaded and run in a child process (variant_runs.py)
and must either work or be refused with ModelFormatError; RuntimeFailure from
a kernel at run time is a clean refusal too.
"""

from __future__ import annotations

import collections
import struct

import pytest

from conftest import REPORT
from model_kinds import KINDS
from tflite_fields import ModelFields
from variant_runs import probe_all

CLEAN = {"ok", "ModelFormatError", "RuntimeFailure"}


def with_word(data: bytes, offset: int, value: int, fmt: str = "<i") -> bytes:
    damaged = bytearray(data)
    struct.pack_into(fmt, damaged, offset, value)
    return bytes(damaged)


def summary(outcomes: list[str]) -> str:
    return ", ".join(f"{n} {k}" for k, n in collections.Counter(outcomes).most_common())


@pytest.mark.parametrize("kind", KINDS)
def test_each_operator_input_omitted(model_kind_bytes, kind):
    data = model_kind_bytes[kind]
    inputs = [i for i in ModelFields(data).operator_inputs() if struct.unpack_from("<i", data, i.offset)[0] != -1]
    outcomes = probe_all([with_word(data, i.offset, -1) for i in inputs])
    bad = [(i, o) for i, o in zip(inputs, outcomes) if o not in CLEAN]
    REPORT.append(f"-1 operator inputs, {kind}: {len(inputs)} variants: {summary(outcomes)}")
    assert not bad, [
        f"subgraph {i.subgraph} op {i.op} (code {i.builtin_code}) input {i.position}: {o}" for i, o in bad[:10]
    ]
    # Loading must refuse most of them: a checker that let all through would pass only by luck.
    assert outcomes.count("ModelFormatError") > len(inputs) // 2


@pytest.mark.parametrize("kind", ["mlp_fixed", "inference_only"])
def test_missing_names_and_moved_signature_tensors(model_kind_bytes, kind):
    data = model_kind_bytes[kind]
    fields = ModelFields(data)
    variants = []
    # A name whose vtable entry is zeroed is absent: LiteRT's pointer to it is null.
    for name in fields.names():
        variants.append((f"no {name.what} name", with_word(data, name.entry, 0, "<H")))
    # The "one zeroed word": a signature input or output now names
    # tensor 0 (or another), leaving the subgraph's own tensor unnamed.
    for what, offset in fields.signature_tensor_indices():
        for value in (0, 1, struct.unpack_from("<I", data, offset)[0] + 1):
            variants.append((f"{what} -> tensor {value}", with_word(data, offset, value, "<I")))
    outcomes = probe_all([v for _, v in variants])
    bad = [(what, o) for (what, _), o in zip(variants, outcomes) if o not in CLEAN]
    REPORT.append(f"missing names / moved signature tensors, {kind}: {len(variants)} variants: {summary(outcomes)}")
    assert not bad, bad[:10]
    assert "ModelFormatError" in outcomes


def test_name_not_utf8_is_model_format_error(model_kind_bytes):
    data = model_kind_bytes["mlp_fixed"]
    names = [n for n in ModelFields(data).names() if n.size > 0]
    variants = []
    for name in names:
        damaged = bytearray(data)
        damaged[name.offset] = 0xFF  # never valid in UTF-8
        variants.append(bytes(damaged))
    outcomes = probe_all(variants)
    assert set(outcomes) == {"ModelFormatError"}, [
        (n.what, o) for n, o in zip(names, outcomes) if o != "ModelFormatError"
    ]


def test_name_not_utf8_message(model_kind_bytes):
    import litetrain
    from litetrain import errors

    data = model_kind_bytes["mlp_fixed"]
    key = next(n for n in ModelFields(data).names() if n.what.endswith("key"))
    damaged = bytearray(data)
    damaged[key.offset] = 0xC3  # a UTF-8 lead byte without its continuation
    # In process: the checker refuses names before LiteRT sees the file.
    with pytest.raises(errors.ModelFormatError, match="not UTF-8"):
        litetrain.Model(bytes(damaged))


# MEAN, SUM, REDUCE_PROD, REDUCE_MAX, REDUCE_MIN, REDUCE_ANY, REDUCE_ALL (cpp/src/operator_inputs.cc).
REDUCTIONS = {40, 74, 81, 82, 89, 91, 140}


def test_reduction_axes_from_a_computed_tensor(model_kind_bytes):
    import litetrain
    from litetrain import errors

    # fuzz_model: a SUM whose axes index was moved onto an ARG_MAX result
    # changed its output shape at run time, and LiteRT overflowed the heap
    # ("free(): invalid next size", SIGABRT). Here the axes become the
    # reduction's own (computed) operand; in process: the checker refuses it
    # before LiteRT sees the file.
    tried = 0
    for kind, data in model_kind_bytes.items():
        inputs = ModelFields(data).operator_inputs()
        operand = {(i.subgraph, i.op): i for i in inputs if i.position == 0}
        for axes in (i for i in inputs if i.builtin_code in REDUCTIONS and i.position == 1):
            computed = struct.unpack_from("<i", data, operand[axes.subgraph, axes.op].offset)[0]
            with pytest.raises(
                errors.ModelFormatError, match=rf"takes input 1 from tensor {computed}, which is not a constant"
            ):
                litetrain.Model(with_word(data, axes.offset, computed))
            tried += 1
    assert tried > 0


def test_reduction_axes_of_zero_elements(model_kind_bytes):
    import litetrain
    from litetrain import errors

    # test_damaged_variants: SUM's constant axes [3] declared [0] kept its 12
    # bytes, reduced nothing, and LiteRT broke the heap ("free(): invalid
    # pointer", SIGABRT). The shape must account for the data.
    tried = 0
    for data in model_kind_bytes.values():
        fields = ModelFields(data)
        for s, _, code, ins, _ in fields.operators():
            if code not in REDUCTIONS or len(ins) < 2:
                continue
            for dim in fields.tensor_dims(s, ins[1]):
                with pytest.raises(errors.ModelFormatError, match=r"needs 0 bytes of data but its buffer \d+ holds"):
                    litetrain.Model(with_word(data, dim, 0))
                tried += 1
    assert tried > 0


TRANSPOSE = 39


def test_transpose_input_of_another_shape(model_kind_bytes):
    # test_damaged_variants: `restore`'s input [216, 4] grown to [432, 4]
    # went through TRANSPOSE, still declared [4, 216], into a variable, and
    # `save` then broke the heap ("free(): invalid pointer", SIGABRT). Every
    # dimension of every TRANSPOSE input of the fixed-shape kinds, doubled.
    variants = []
    for kind in ("mlp_fixed", "cnn", "depthwise"):
        data = model_kind_bytes[kind]
        fields = ModelFields(data)
        for op_input in (i for i in fields.operator_inputs() if i.builtin_code == TRANSPOSE and i.position == 0):
            tensor = struct.unpack_from("<i", data, op_input.offset)[0]
            for dim in fields.tensor_dims(op_input.subgraph, tensor):
                old = struct.unpack_from("<i", data, dim)[0]
                if old > 0:
                    variants.append(
                        (f"{kind} subgraph {op_input.subgraph} tensor {tensor}", with_word(data, dim, 2 * old))
                    )
    outcomes = probe_all([v for _, v in variants])
    REPORT.append(f"TRANSPOSE inputs of another shape: {len(variants)} variants: {summary(outcomes)}")
    assert variants
    assert set(outcomes) == {"ModelFormatError"}, [
        (w, o) for (w, _), o in zip(variants, outcomes) if o != "ModelFormatError"
    ][:10]


READ_VARIABLE, SUB = 143, 41


def test_one_variable_read_at_two_inputs(model_kind_bytes):
    # fuzz_model: SUB(w, w) of one READ_VARIABLE result (a variable update
    # with its second operand moved onto the first) crashed LiteRT at run
    # time, reading address 0; MUL(w, w) too. Each SUB of a variable read
    # gets that read at both inputs; in process: the checker refuses it first.
    import litetrain
    from litetrain import errors

    tried = 0
    for data in model_kind_bytes.values():
        fields = ModelFields(data)
        reads = {(s, out) for s, _, code, _, outs in fields.operators() if code == READ_VARIABLE for out in outs}
        for s, o, code, ins, _ in fields.operators():
            if code != SUB or (s, ins[0]) not in reads:
                continue
            second = next(i for i in fields.operator_inputs() if (i.subgraph, i.op, i.position) == (s, o, 1))
            with pytest.raises(
                errors.ModelFormatError, match=rf"reads tensor {ins[0]}, a READ_VARIABLE result, at inputs 0 and 1"
            ):
                litetrain.Model(with_word(data, second.offset, ins[0]))
            tried += 1
    assert tried > 0


SUM = 74


def test_variable_update_of_another_shape(model_kind_bytes):
    # fuzz_model: SUB(b, grad), the update of a bias, with its gradient (a SUM
    # over [2, 6, 6, 3]) moved onto the SUM's own [2, 6, 6, 3] operand stayed
    # declared [3]; the larger result stored in b crashed `train`. Each SUB
    # fed by a SUM gets the SUM's operand instead.
    variants = []
    for kind in ("mlp_fixed", "cnn", "depthwise"):
        data = model_kind_bytes[kind]
        fields = ModelFields(data)
        operators = fields.operators()
        summed = {(s, outs[0]): ins[0] for s, _, code, ins, outs in operators if code == SUM and outs}
        offsets = {(i.subgraph, i.op, i.position): i.offset for i in fields.operator_inputs()}
        for s, o, code, ins, _ in operators:
            if code == SUB and len(ins) == 2 and (s, ins[1]) in summed:
                variants.append(
                    (f"{kind} subgraph {s} operator {o}", with_word(data, offsets[s, o, 1], summed[s, ins[1]]))
                )
    outcomes = probe_all([v for _, v in variants])
    REPORT.append(f"SUB updates of another shape: {len(variants)} variants: {summary(outcomes)}")
    assert variants
    assert set(outcomes) == {"ModelFormatError"}, [
        (w, o) for (w, _), o in zip(variants, outcomes) if o != "ModelFormatError"
    ][:10]


SHAPE_COMPUTED = {"FULLY_CONNECTED": 9, "RESHAPE": 22, "PAD": 34, "TRANSPOSE": 39, "PADV2": 60, "MIRROR_PAD": 100}


def test_declared_output_shapes_that_the_operator_does_not_compute(model_kind_bytes):
    # fuzz_model: a PAD whose constant paddings grew to 16777472 still
    # declared its output small; the size limit on computed tensors read the
    # declared shape and LiteRT asked for 3.2 GB. LiteRT computes these
    # operators' outputs from their inputs and ignores the declared shape, so
    # a declared shape that disagrees must be refused: every dimension of the
    # output of every such operator of the fixed-shape kinds, doubled. (The
    # int8 export has a dynamic batch: its declared shapes are only the
    # current ones, LiteRT resizes them, and the rule leaves them alone.)
    import litetrain
    from litetrain import errors

    variants = []
    for kind in ("mlp_fixed", "cnn", "depthwise", "batch_norm", "baked", "inference_only"):
        data = model_kind_bytes[kind]
        fields = ModelFields(data)
        for s, o, code, _, outs in fields.operators():
            if code not in SHAPE_COMPUTED.values() or not outs:
                continue
            for dim in fields.tensor_dims(s, outs[0]):
                old = struct.unpack_from("<i", data, dim)[0]
                if old > 0:
                    variants.append((f"{kind} subgraph {s} operator {o} (code {code})", with_word(data, dim, 2 * old)))
    codes_hit = {int(w.rsplit("code ", 1)[1].rstrip(")")) for w, _ in variants}
    assert {SHAPE_COMPUTED[n] for n in ("FULLY_CONNECTED", "RESHAPE", "PAD", "TRANSPOSE")} <= codes_hit
    outcomes = probe_all([v for _, v in variants])
    REPORT.append(f"declared output shapes unlike the computed ones: {len(variants)} variants: {summary(outcomes)}")
    assert set(outcomes) == {"ModelFormatError"}, [
        (w, o) for (w, _), o in zip(variants, outcomes) if o != "ModelFormatError"
    ][:10]
    # Refused by the output-shape rule itself, naming the operator (the first
    # operator to see the damage may be its consumer).
    named = set()
    for _, variant in variants:
        with pytest.raises(
            errors.ModelFormatError, match=r"\(([A-Z_0-9]+) \(\d+\)\) declares output tensor"
        ) as refused:
            litetrain.Model(variant)
        named.add(refused.value.args[0].split(" declares output tensor")[0].rsplit("(", 2)[1].strip())
    assert {"FULLY_CONNECTED", "RESHAPE", "PAD", "TRANSPOSE"} <= named, named
