"""Shared fixtures: each test model is built once per session, with TensorFlow,
or read from a folder of prebuilt ones.

``LITETRAIN_TEST_MODELS=DIR`` takes the models from DIR (written by
``tools/make_test_models.py`` on a machine with TensorFlow): a run on a target
without TensorFlow (tools/test-aarch64, under emulation) needs nothing else.
Tests that need TensorFlow or matplotlib in the test process carry the marker
``needs_tensorflow`` or ``needs_matplotlib`` (pyproject.toml); test modules that
import TensorFlow or need the build host itself (C++ build tools) call
:func:`skip_module_on_prebuilt_target` first. Either way they are skipped, with
the reason, only in such a run and only when the module is missing there, never
in the normal one, where a missing TensorFlow or matplotlib fails them.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from litetrain._reference_models import TEST_MODELS, mlp_initial_weights

PREBUILT_MODELS = os.environ.get("LITETRAIN_TEST_MODELS")

# Lines the tests want a reader of the run to see (counts, timings).
REPORT: list[str] = []

MLP_SIZES = TEST_MODELS["mlp_fixed"]["layer_sizes"]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if REPORT:
        terminalreporter.section("litetrain report")
        for line in REPORT:
            terminalreporter.write_line(line)


# {marker: (module, its name)}: what a test with the marker imports in the test
# process (directly or through litetrain), which a target machine may lack.
NEEDS_MARKERS = {
    "needs_tensorflow": ("tensorflow", "TensorFlow"),
    "needs_matplotlib": ("matplotlib", "matplotlib"),
}


def missing_on_prebuilt_target(module: str) -> bool:
    """Whether this is a run on prebuilt models (a target machine) without `module`."""
    return PREBUILT_MODELS is not None and importlib.util.find_spec(module) is None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skips the tests marked ``needs_<module>`` in a run on prebuilt models
    without that module; elsewhere the marker changes nothing."""
    for marker, (module, name) in NEEDS_MARKERS.items():
        if not missing_on_prebuilt_target(module):
            continue
        skip = pytest.mark.skip(
            reason=f"needs {name} in the test process ({marker}); this run has no {name} and takes "
            f"prebuilt models from LITETRAIN_TEST_MODELS={PREBUILT_MODELS}"
        )
        for item in items:
            if item.get_closest_marker(marker) is not None:
                item.add_marker(skip)


def skip_module_on_prebuilt_target(needs: str) -> None:
    """Skips the calling test module in a run on prebuilt models without
    TensorFlow (a target machine), which lacks what the module `needs`."""
    if missing_on_prebuilt_target("tensorflow"):
        pytest.skip(
            f"needs {needs}; this run has no TensorFlow and takes prebuilt models from "
            f"LITETRAIN_TEST_MODELS={PREBUILT_MODELS}",
            allow_module_level=True,
        )


def build_host_import(module: str, needs: str):
    """Imports `module` (TensorFlow or Keras) for a test module that `needs` it,
    skipping that module in a run on prebuilt models without TensorFlow;
    elsewhere a failed import fails the module."""
    skip_module_on_prebuilt_target(needs)
    return importlib.import_module(module)


def prebuilt_or_new_model(name: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The file of ``TEST_MODELS[name]``: prebuilt, or built now with TensorFlow."""
    if PREBUILT_MODELS is not None:
        path = Path(PREBUILT_MODELS) / f"{name}.tflite"
        if not path.is_file():
            raise FileNotFoundError(
                f"LITETRAIN_TEST_MODELS has no {path.name}: run tools/make_test_models.py {PREBUILT_MODELS}"
            )
        return path
    path = tmp_path_factory.mktemp("models") / f"{name}.tflite"
    from litetrain.tf.reference_models import mlp_training_model

    path.write_bytes(mlp_training_model(**TEST_MODELS[name]))
    return path


@pytest.fixture(scope="session")
def mlp_fixed_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 32-16-4 training MLP with a fixed batch of 8."""
    return prebuilt_or_new_model("mlp_fixed", tmp_path_factory)


@pytest.fixture(scope="session")
def mlp_dynamic_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same MLP with a dynamic batch dimension."""
    return prebuilt_or_new_model("mlp_dynamic", tmp_path_factory)


@pytest.fixture(scope="session")
def digits_model(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A 64-32-10 training MLP for sklearn's digits, dynamic batch, SGD at 0.1."""
    return prebuilt_or_new_model("mlp_digits", tmp_path_factory).read_bytes()


@pytest.fixture(scope="session")
def mlp_settable_lr_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The dynamic-batch MLP with set_learning_rate / get_learning_rate signatures."""
    return prebuilt_or_new_model("mlp_settable_lr", tmp_path_factory)


@pytest.fixture(scope="session")
def tflite_runtime_python() -> str:
    """The python of a venv with tflite-runtime 2.14 (numpy < 2, Python <= 3.11).

    tools/run-tests makes it (.venv-tflite-runtime), passes its path in
    LITETRAIN_TFLITE_RUNTIME_PYTHON and sets LITETRAIN_REQUIRE_TFLITE_RUNTIME=1:
    there, a missing runtime fails the tests instead of skipping them.
    """
    repo = Path(__file__).resolve().parent.parent
    path = os.environ.get("LITETRAIN_TFLITE_RUNTIME_PYTHON") or str(repo / ".venv-tflite-runtime" / "bin" / "python")
    problem = None
    if not os.path.exists(path):
        problem = f"no tflite-runtime venv at {path} (tools/run-tests makes it)"
    else:
        probe = subprocess.run(
            [path, "-c", "import tflite_runtime; print(tflite_runtime.__version__)"],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        if probe.returncode != 0 or not probe.stdout.startswith("2.14"):
            problem = f"{path} has no tflite-runtime 2.14: {probe.stdout.strip()}{probe.stderr.strip()[-300:]}"
    if problem is None:
        return path
    if os.environ.get("LITETRAIN_REQUIRE_TFLITE_RUNTIME") == "1":
        pytest.fail(problem)
    pytest.skip(problem)


@pytest.fixture(scope="session")
def model_kind_bytes() -> dict[str, bytes]:
    """{kind: .tflite bytes} for every kind of tests/model_kinds.py.

    ``LITETRAIN_MODEL_KINDS=DIR`` reads DIR/<kind>.tflite (tools/make_fuzz_seeds.py
    writes them under OUT/model); otherwise they are built now with TensorFlow.
    """
    from model_kinds import KINDS, model_kinds

    folder = os.environ.get("LITETRAIN_MODEL_KINDS")
    if folder:
        return {kind: (Path(folder) / f"{kind}.tflite").read_bytes() for kind in KINDS}
    skip_module_on_prebuilt_target("TensorFlow to build the model kinds")
    return model_kinds()


@pytest.fixture(scope="session")
def mlp_weights() -> dict[str, np.ndarray]:
    """The initial weights both 32-16-4 MLP models embed."""
    return mlp_initial_weights(MLP_SIZES)


def training_batches(steps: int, batch: int, seed: int = 0, distinct: int = 4) -> list[tuple[np.ndarray, np.ndarray]]:
    """`steps` batches (x, one-hot y) for the 32-16-4 MLP, cycling through
    `distinct` random ones so that the loss can fall."""
    rng = np.random.default_rng(seed)
    pool = []
    for _ in range(distinct):
        x = rng.standard_normal((batch, MLP_SIZES[0]), dtype=np.float32)
        y = np.eye(MLP_SIZES[-1], dtype=np.float32)[rng.integers(0, MLP_SIZES[-1], batch)]
        pool.append((x, y))
    return [pool[i % distinct] for i in range(steps)]
