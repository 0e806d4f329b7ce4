"""Checkpoint files between the C++ core and independent readers and writers.

litetrain reads and writes checkpoints in C++ (Python calls it). These tests
hold it to the format with code that shares nothing with it: numpy's .npy
writer and reader, Python's zipfile and hashlib, and numpy's own ``savez``.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

import numpy as np
import pytest

import litetrain


def assorted() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "w0": rng.standard_normal((4, 3)).astype(np.float32),
        "b0": np.arange(3, dtype=np.float32),
        "step": np.array(7, dtype=np.int64),
        "mask": np.array([True, False, True]),
        "half": rng.standard_normal((2, 2)).astype(np.float16),
        "double": rng.standard_normal((1, 2, 1)),
        "bytes": np.arange(5, dtype=np.uint8),
        "small": np.array([-1, 2], dtype=np.int8),
        "wide": np.array([2**40], dtype=np.uint64),
        "empty": np.zeros((0, 7), np.int16),
        "file": np.ones(2, np.uint32),  # np.savez would take it as its own keyword
        "dense/kernel:0 é😀": np.full((2,), 0.5, np.float32),
    }


def reference_digest(variables: dict[str, np.ndarray]) -> str:
    """The checksum as the format defines it, computed with hashlib."""
    h = hashlib.sha256()
    for name in sorted(variables):
        value = np.ascontiguousarray(variables[name])
        h.update(name.encode())
        h.update(str(value.dtype).encode())
        h.update(repr(tuple(value.shape)).encode())
        h.update(value.tobytes())
    return h.hexdigest()


def reference_metadata(variables: dict[str, np.ndarray]) -> np.ndarray:
    metadata = {
        "format": "litetrain-checkpoint",
        "version": 1,
        "variables": {n: {"dtype": str(v.dtype), "shape": list(v.shape)} for n, v in variables.items()},
        "sha256": reference_digest(variables),
    }
    return np.frombuffer(json.dumps(metadata).encode(), np.uint8)


def write_with_zipfile(file, variables: dict[str, np.ndarray], force_zip64: bool) -> None:
    """How litetrain's first (pure Python) implementation wrote checkpoints."""
    arrays = dict(variables, __litetrain__=reference_metadata(variables))
    with zipfile.ZipFile(file, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, value in arrays.items():
            with archive.open(f"{name}.npy", "w", force_zip64=force_zip64) as member:
                np.lib.format.write_array(member, np.asanyarray(value), allow_pickle=False)


class Unseekable:
    """A write-only stream: zipfile then puts CRC and sizes after each member
    (data descriptors), as when a checkpoint is streamed."""

    def __init__(self) -> None:
        self.buffer = io.BytesIO()

    def write(self, data: bytes) -> int:
        return self.buffer.write(data)

    def flush(self) -> None:
        pass


def assert_same(loaded: dict[str, np.ndarray], variables: dict[str, np.ndarray]) -> None:
    assert list(loaded) == list(variables)
    for name, value in variables.items():
        assert loaded[name].dtype == value.dtype, name
        assert loaded[name].shape == value.shape, name
        np.testing.assert_array_equal(loaded[name], value)


def test_core_files_are_read_by_numpy_zipfile_and_hashlib(tmp_path):
    variables = assorted()
    path = tmp_path / "core.npz"
    litetrain.write_checkpoint(path, variables)
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None  # every member's CRC-32, checked by zipfile
        assert {info.compress_type for info in archive.infolist()} == {zipfile.ZIP_STORED}
    with np.load(path) as npz:
        assert_same({k: npz[k] for k in npz.files if k != "__litetrain__"}, variables)
        metadata = json.loads(npz["__litetrain__"].tobytes().decode())
    assert metadata["format"] == "litetrain-checkpoint" and metadata["version"] == 1
    assert metadata["variables"] == {n: {"dtype": str(v.dtype), "shape": list(v.shape)} for n, v in variables.items()}
    assert metadata["sha256"] == reference_digest(variables)


@pytest.mark.parametrize("writer", ["zipfile", "zipfile zip64", "zipfile streamed", "numpy.savez"])
def test_files_written_without_the_core_are_read_by_it(tmp_path, writer):
    variables = assorted()
    path = tmp_path / "other.npz"
    if writer == "numpy.savez":
        del variables["file"]  # np.savez's own keyword
        np.savez(path, **variables, __litetrain__=reference_metadata(variables))
    elif writer == "zipfile streamed":
        stream = Unseekable()
        write_with_zipfile(stream, variables, force_zip64=False)
        data = stream.buffer.getvalue()
        assert zipfile.ZipFile(io.BytesIO(data)).infolist()[0].flag_bits & 0x08  # descriptors used
        path.write_bytes(data)
    else:
        write_with_zipfile(path, variables, force_zip64=writer.endswith("zip64"))
    assert_same(litetrain.load_checkpoint(path), variables)


def test_python_api_round_trip_and_the_old_name(tmp_path):
    from litetrain.checkpoint import load_checkpoint

    variables = assorted()
    path = tmp_path / "ckpt.npz"
    litetrain.write_checkpoint(str(path), variables)
    assert_same(load_checkpoint(path), variables)
    big_endian = {"w": np.arange(4, dtype=">f4")}
    litetrain.write_checkpoint(path, big_endian)  # stored in native order
    assert litetrain.load_checkpoint(path)["w"].dtype == np.dtype("float32")
    np.testing.assert_array_equal(litetrain.load_checkpoint(path)["w"], big_endian["w"])


def test_refusals_name_the_problem(tmp_path):
    variables = {"w": np.ones(3, np.float32)}
    compressed = tmp_path / "compressed.npz"
    np.savez_compressed(compressed, **variables, __litetrain__=reference_metadata(variables))
    with pytest.raises(litetrain.CheckpointError, match="compressed.*numpy.savez_compressed"):
        litetrain.load_checkpoint(compressed)
    with pytest.raises(ValueError, match="complex128, which litetrain does not support"):
        litetrain.write_checkpoint(tmp_path / "c.npz", {"c": np.zeros(2, complex)})
    with pytest.raises(ValueError, match="may not be called '__litetrain__'"):
        litetrain.write_checkpoint(tmp_path / "m.npz", {"__litetrain__": np.zeros(2, np.uint8)})
    with pytest.raises(FileNotFoundError, match="folder .* does not exist"):
        litetrain.write_checkpoint(tmp_path / "no" / "x.npz", variables)
    with pytest.raises(IsADirectoryError):
        litetrain.load_checkpoint(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["compressed.npz"]  # nothing half-written


@pytest.mark.slow
def test_zip64_end_records_both_ways(tmp_path):
    """65,536 members (65,535 variables and the metadata) overflow the 16-bit
    member count, so zip64 end records are needed: the core writes them for
    zipfile, and reads zipfile's."""
    variables = {f"v{i}": np.array([i], np.int32) for i in range(65_535)}
    ours = tmp_path / "ours.npz"
    litetrain.write_checkpoint(ours, variables)
    assert b"PK\x06\x06" in ours.read_bytes()[-200:]  # the zip64 end record
    with zipfile.ZipFile(ours) as archive:
        assert len(archive.infolist()) == 65_536
        assert np.lib.format.read_array(archive.open("v65534.npy"))[0] == 65_534
    theirs = tmp_path / "theirs.npz"
    write_with_zipfile(theirs, variables, force_zip64=False)
    assert b"PK\x06\x06" in theirs.read_bytes()[-200:]
    loaded = litetrain.load_checkpoint(theirs)
    assert len(loaded) == 65_535 and loaded["v65534"][0] == 65_534
