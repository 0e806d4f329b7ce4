"""Bad input raises an exception that names the problem; never a crash."""

from __future__ import annotations

import numpy as np
import pytest

import litetrain


@pytest.fixture(scope="module")
def model(mlp_fixed_path):
    return litetrain.Model(mlp_fixed_path)


def good_inputs():
    return {"x": np.zeros((8, 32), np.float32), "y": np.zeros((8, 4), np.float32)}


def test_unknown_signature_lists_the_known_ones(model):
    with pytest.raises(ValueError, match=r"no signature 'fit'.*'train'"):
        model.runner("fit")


def test_unknown_input_name(model):
    with pytest.raises(ValueError, match=r"signature 'train' has no input 'z'; its inputs are: .*'x'"):
        model.runner("train")(**good_inputs(), z=np.zeros(1, np.float32))


def test_missing_input(model):
    with pytest.raises(ValueError, match=r"signature 'train' is missing input 'y'"):
        model.runner("train")(x=good_inputs()["x"])


def test_wrong_dtype_names_the_fix(model):
    with pytest.raises(ValueError, match=r"input 'x' must be float32, got float64 \(convert with \.astype"):
        model.runner("train")(x=np.zeros((8, 32)), y=good_inputs()["y"])


def test_wrong_rank(model):
    with pytest.raises(ValueError, match=r"input 'x' of signature 'train' must have rank 2"):
        model.runner("train")(x=np.zeros(256, np.float32), y=good_inputs()["y"])


def test_wrong_static_dimension(model):
    with pytest.raises(ValueError, match=r"input 'y' of signature 'train' must have shape \[8, 4\], got \[8, 5\]"):
        model.runner("train")(x=good_inputs()["x"], y=np.zeros((8, 5), np.float32))


def test_python_lists_are_not_silently_cast(model):
    with pytest.raises(ValueError, match="must be float32"):
        model.runner("infer")(x=[[0.0] * 32] * 8)


def test_object_arrays_are_refused(model):
    with pytest.raises(ValueError, match="must be float32, got object"):
        model.runner("infer")(x=np.empty((8, 32), dtype=object))


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        litetrain.Model(tmp_path / "nope.tflite")


def test_directory_is_not_a_model(tmp_path):
    with pytest.raises(ValueError, match="is a directory"):
        litetrain.Model(tmp_path)


def test_empty_and_garbage_files(tmp_path):
    empty = tmp_path / "empty.tflite"
    empty.write_bytes(b"")
    with pytest.raises(litetrain.ModelFormatError, match="too short"):
        litetrain.Model(empty)
    with pytest.raises(litetrain.ModelFormatError, match="TFL3"):
        litetrain.Model(b"\x00" * 4096)


def test_truncated_model(mlp_fixed_path):
    data = mlp_fixed_path.read_bytes()
    with pytest.raises(litetrain.ModelFormatError, match="not a valid TFLite model"):
        litetrain.Model(data[: len(data) // 2])


def test_model_format_error_is_a_value_error_and_a_litetrain_error():
    assert issubclass(litetrain.ModelFormatError, ValueError)
    assert issubclass(litetrain.ModelFormatError, litetrain.Error)


def test_wrong_argument_types(mlp_fixed_path):
    with pytest.raises(TypeError, match="path or bytes"):
        litetrain.Model(42)
    for threads in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="threads"):
            litetrain.Model(mlp_fixed_path, threads=threads)


def test_missing_runtime_library(mlp_fixed_path, tmp_path):
    with pytest.raises(litetrain.LibraryError, match=r"nope/libLiteRt.so.*pip install"):
        litetrain.Model(mlp_fixed_path, library=tmp_path / "nope" / "libLiteRt.so")


def test_library_that_is_not_litert(mlp_fixed_path):
    with pytest.raises(litetrain.LibraryError, match="lacks LiteRtCreateEnvironment"):
        litetrain.Model(mlp_fixed_path, library="libm.so.6")


def test_bad_log_level():
    with pytest.raises(ValueError, match="unknown log level 'loud'"):
        litetrain.set_log_level("loud")
