"""Where the fields of a .tflite file sit, for tests that damage one of them.

A minimal reader of the FlatBuffers layout (no generated code, no TensorFlow):
it walks Model -> subgraphs -> tensors / operators and the signature defs and
returns the byte offsets of the fields the damage tests rewrite. Field ids are
those of cpp/schema/tflite.fbs.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass


@dataclass(frozen=True)
class Slot:
    """One rewritable scalar: `width` bytes (1 or 4, little-endian) at `offset`.

    kind: "tensor_index", "buffer_index", "opcode_index", "subgraph_index",
    "dim", "type", "code" or "flag"; `range` is how many things an index may
    name (0 if unknown).
    """

    offset: int
    width: int
    kind: str
    range: int = 0


@dataclass(frozen=True)
class OperatorInput:
    """Input `position` of operator `op` in subgraph `subgraph`, at `offset`."""

    subgraph: int
    op: int
    position: int
    offset: int
    builtin_code: int


@dataclass(frozen=True)
class Name:
    """A string field: its bytes at `offset` (length `size`); `entry` is the
    offset of the vtable entry that points at it (zeroed: the name is absent)."""

    what: str
    offset: int
    size: int
    entry: int


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def u32(self, at: int) -> int:
        return struct.unpack_from("<I", self.data, at)[0]

    def i32(self, at: int) -> int:
        return struct.unpack_from("<i", self.data, at)[0]

    def entry(self, table: int, field: int) -> tuple[int, int]:
        """(offset of the vtable entry or -1, address of the field or -1)."""
        vtable = table - self.i32(table)
        vt_size = struct.unpack_from("<H", self.data, vtable)[0]
        at = vtable + 4 + 2 * field
        if 4 + 2 * field >= vt_size:
            return -1, -1
        rel = struct.unpack_from("<H", self.data, at)[0]
        return at, (table + rel if rel else -1)

    def field(self, table: int, field: int) -> int:
        return self.entry(table, field)[1]

    def ref(self, table: int, field: int) -> int:
        """Where an offset field (table, vector, string) points, or -1."""
        at = self.field(table, field)
        return -1 if at < 0 else at + self.u32(at)

    def vector(self, table: int, field: int) -> tuple[int, int]:
        """(address of element 0, length) of a vector field; (-1, 0) if absent."""
        at = self.ref(table, field)
        return (-1, 0) if at < 0 else (at + 4, self.u32(at))

    def tables(self, table: int, field: int) -> list[int]:
        start, n = self.vector(table, field)
        return [start + 4 * i + self.u32(start + 4 * i) for i in range(n)]


class ModelFields:
    """The fields of one model file (which must be a well-formed flatbuffer)."""

    def __init__(self, data: bytes) -> None:
        self.r = _Reader(data)
        self.root = self.r.u32(0)

    def _int_vector(self, table: int, field: int) -> list[int]:
        start, n = self.r.vector(table, field)
        return [start + 4 * i for i in range(n)]

    def _opcodes(self) -> list[int]:
        codes = []
        for code in self.r.tables(self.root, 1):
            at = self.r.field(code, 3)
            builtin = self.r.i32(at) if at >= 0 else 0
            at = self.r.field(code, 0)
            deprecated = struct.unpack_from("<b", self.r.data, at)[0] if at >= 0 else 0
            codes.append(max(builtin, deprecated))
        return codes

    def operator_inputs(self) -> list[OperatorInput]:
        """Every operator input of every subgraph."""
        codes = self._opcodes()
        out = []
        for s, subgraph in enumerate(self.r.tables(self.root, 2)):
            for o, op in enumerate(self.r.tables(subgraph, 3)):
                at = self.r.field(op, 0)
                index = self.r.u32(at) if at >= 0 else 0
                code = codes[index] if index < len(codes) else -1
                for i, offset in enumerate(self._int_vector(op, 1)):
                    out.append(OperatorInput(s, o, i, offset, code))
        return out

    def operators(self) -> list[tuple[int, int, int, list[int], list[int]]]:
        """(subgraph, operator, builtin code, input tensors, output tensors) of every operator."""
        codes = self._opcodes()
        out = []
        for s, subgraph in enumerate(self.r.tables(self.root, 2)):
            for o, op in enumerate(self.r.tables(subgraph, 3)):
                at = self.r.field(op, 0)
                index = self.r.u32(at) if at >= 0 else 0
                code = codes[index] if index < len(codes) else -1
                tensors = [[self.r.i32(t) for t in self._int_vector(op, field)] for field in (1, 2)]
                out.append((s, o, code, *tensors))
        return out

    def tensor_dims(self, subgraph: int, tensor: int) -> list[int]:
        """The offsets of the dimensions of one tensor's shape (empty if it has none)."""
        table = self.r.tables(self.r.tables(self.root, 2)[subgraph], 0)[tensor]
        return self._int_vector(table, 0)

    def names(self) -> list[Name]:
        """Tensor names, signature keys and the names of signature inputs/outputs."""
        out = []

        def add(what: str, table: int, field: int) -> None:
            entry, at = self.r.entry(table, field)
            if at >= 0:
                string = at + self.r.u32(at)
                out.append(Name(what, string + 4, self.r.u32(string), entry))

        for s, subgraph in enumerate(self.r.tables(self.root, 2)):
            for t, tensor in enumerate(self.r.tables(subgraph, 0)):
                add(f"subgraph {s} tensor {t}", tensor, 3)
        for g, signature in enumerate(self.r.tables(self.root, 7)):
            add(f"signature {g} key", signature, 2)
            for side, field in (("input", 0), ("output", 1)):
                for m, tensor_map in enumerate(self.r.tables(signature, field)):
                    add(f"signature {g} {side} {m}", tensor_map, 0)
        return out

    def signature_tensor_indices(self) -> list[tuple[str, int]]:
        """(description, offset) of each stored TensorMap.tensor_index."""
        out = []
        for g, signature in enumerate(self.r.tables(self.root, 7)):
            for side, field in (("input", 0), ("output", 1)):
                for m, tensor_map in enumerate(self.r.tables(signature, field)):
                    at = self.r.field(tensor_map, 1)
                    if at >= 0:
                        out.append((f"signature {g} {side} {m}", at))
        return out

    def slots(self) -> list[Slot]:
        """The scalar fields worth rewriting (indices, dims, types, codes, flags)."""
        out: list[Slot] = []
        r = self.r

        def scalar(table: int, field: int, width: int, kind: str, range_: int = 0) -> None:
            at = r.field(table, field)
            if at >= 0:
                out.append(Slot(at, width, kind, range_))

        def ints(table: int, field: int, kind: str, range_: int = 0) -> None:
            out.extend(Slot(at, 4, kind, range_) for at in self._int_vector(table, field))

        num_buffers = r.vector(self.root, 4)[1]
        num_codes = r.vector(self.root, 1)[1]
        subgraphs = r.tables(self.root, 2)
        for code in r.tables(self.root, 1):
            scalar(code, 0, 1, "code")
            scalar(code, 2, 4, "dim")
            scalar(code, 3, 4, "code")
        for subgraph in subgraphs:
            tensors = r.tables(subgraph, 0)
            ints(subgraph, 1, "tensor_index", len(tensors))
            ints(subgraph, 2, "tensor_index", len(tensors))
            for tensor in tensors:
                ints(tensor, 0, "dim")
                ints(tensor, 7, "dim")
                scalar(tensor, 1, 1, "type")
                scalar(tensor, 2, 4, "buffer_index", num_buffers)
                scalar(tensor, 5, 1, "flag")
            for op in r.tables(subgraph, 3):
                scalar(op, 0, 4, "opcode_index", num_codes)
                ints(op, 1, "tensor_index", len(tensors))
                ints(op, 2, "tensor_index", len(tensors))
        for signature in r.tables(self.root, 7):
            scalar(signature, 4, 4, "subgraph_index", len(subgraphs))
            for field in (0, 1):
                for tensor_map in r.tables(signature, field):
                    scalar(tensor_map, 1, 4, "tensor_index")
        return out
