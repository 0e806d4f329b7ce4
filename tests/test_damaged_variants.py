"""Thousands of damaged variants of every model kind: no process dies.

Half the variants are blind damage (bit flips, truncations, a word
overwritten with 0, -1, 0x7FFFFFFF or noise), half rewrite one flatbuffer
field (an index, a dimension, a type, an operator code, an omitted -1 input)
so that most still parse and reach the checker's semantic rules and LiteRT.
Each is loaded and run in batched child processes (variant_runs.py). The
outcome must be a clean run, ModelFormatError or RuntimeFailure.

LITETRAIN_DAMAGED_VARIANTS sets the count (default 1000, a few minutes).
"""

from __future__ import annotations

import collections
import os
import struct
import time

import numpy as np
import pytest

from conftest import REPORT
from tflite_fields import ModelFields, Slot
from variant_runs import probe_all

COUNT = int(os.environ.get("LITETRAIN_DAMAGED_VARIANTS", "1000"))
CLEAN = {"ok", "ModelFormatError", "RuntimeFailure"}
WORDS = (0, 0xFFFFFFFF, 0x7FFFFFFF, 0x80000000)


def blind(data: bytes, rng: np.random.Generator) -> tuple[str, bytes]:
    damaged = bytearray(data)
    how = int(rng.integers(3))
    if how == 0:
        for _ in range(int(rng.integers(1, 4))):
            at = int(rng.integers(len(data)))
            damaged[at] ^= 1 << int(rng.integers(8))
        return "bit flips", bytes(damaged)
    if how == 1:
        return "truncation", data[: int(rng.integers(len(data)))]
    at = 4 * int(rng.integers(len(data) // 4))
    word = int(rng.choice(WORDS)) if rng.random() < 0.8 else int(rng.integers(1 << 32))
    struct.pack_into("<I", damaged, at, word)
    return "word overwrite", bytes(damaged)


def new_value(slot: Slot, old: int, rng: np.random.Generator) -> int:
    if slot.kind.endswith("_index"):
        choices = [-1, slot.range, old + 1, old - 1, 0, int(rng.integers(max(slot.range, 64)))]
    elif slot.kind == "dim":
        choices = [0, 1, -1, old * 2, old + 1, 0x7FFFFFFF, 65536, int(rng.integers(16))]
    elif slot.kind == "type":
        choices = [int(rng.integers(20))]
    elif slot.kind == "code":
        choices = [int(rng.integers(210)), int(rng.integers(256))]
    else:
        choices = [int(rng.integers(2))]
    return choices[int(rng.integers(len(choices)))]


def structured(data: bytes, fields: ModelFields, slots: list[Slot], rng: np.random.Generator) -> tuple[str, bytes]:
    damaged = bytearray(data)
    if rng.random() < 0.25:
        inputs = fields.operator_inputs()
        struct.pack_into("<i", damaged, inputs[int(rng.integers(len(inputs)))].offset, -1)
        return "-1 input", bytes(damaged)
    slot = slots[int(rng.integers(len(slots)))]
    if slot.width == 1:
        damaged[slot.offset] = new_value(slot, damaged[slot.offset], rng) & 0xFF
    else:
        old = struct.unpack_from("<i", damaged, slot.offset)[0]
        value = new_value(slot, old, rng)
        struct.pack_into("<I", damaged, slot.offset, value & 0xFFFFFFFF)
    return f"{slot.kind} field", bytes(damaged)


def damaged_variants(kinds: dict[str, bytes], count: int, seed: int = 2026) -> list[tuple[str, str, bytes]]:
    """`count` (kind, damage, bytes) variants, spread over the kinds."""
    rng = np.random.default_rng(seed)
    names = sorted(kinds)
    fields = {k: ModelFields(kinds[k]) for k in names}
    slots = {k: fields[k].slots() for k in names}
    out = []
    for i in range(count):
        kind = names[i % len(names)]
        make = (
            blind(kinds[kind], rng) if rng.random() < 0.5 else structured(kinds[kind], fields[kind], slots[kind], rng)
        )
        out.append((kind, *make))
    return out


@pytest.mark.slow
def test_damaged_variants_never_kill_the_process(model_kind_bytes, tmp_path):
    variants = damaged_variants(model_kind_bytes, COUNT)
    start = time.monotonic()
    outcomes = probe_all([v for _, _, v in variants])
    seconds = time.monotonic() - start
    deaths = [(k, d, o) for (k, d, _), o in zip(variants, outcomes) if o.startswith("death")]
    unclean = [(k, d, o) for (k, d, _), o in zip(variants, outcomes) if o not in CLEAN]
    counts = collections.Counter(o if not o.startswith("other") else o.split(":")[1] for o in outcomes)
    REPORT.append(
        f"damaged variants: {len(variants)} of {len(model_kind_bytes)} kinds in {seconds:.0f} s: "
        f"{len(deaths)} deaths; outcomes {dict(counts.most_common())}"
    )
    for i, ((kind, damage, data), o) in enumerate(zip(variants, outcomes)):
        if o not in CLEAN:
            (tmp_path / f"{i}-{kind}.tflite").write_bytes(data)  # to replay and minimise
    assert not deaths, (str(tmp_path), deaths[:10])
    assert not unclean, (str(tmp_path), unclean[:10])
