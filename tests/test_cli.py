"""The command line, run as a user would (a separate process)."""

from __future__ import annotations

import json
import subprocess
import sys


def litetrain(*args):
    return subprocess.run([sys.executable, "-m", "litetrain", *args], capture_output=True, text=True, timeout=120)


def test_inspect_prints_signatures_op_counts_and_variables(mlp_fixed_path, mlp_weights):
    result = litetrain("inspect", str(mlp_fixed_path))
    assert result.returncode == 0, result.stderr
    assert f"{mlp_fixed_path.stat().st_size:,} bytes" in result.stdout
    assert "signature 'train':" in result.stdout and " ops" in result.stdout
    total = sum(v.nbytes for v in mlp_weights.values())
    assert f"variables (from 'save'): {len(mlp_weights)}" in result.stdout
    assert f"{total:,} bytes" in result.stdout


def test_inspect_json_matches_the_model(mlp_dynamic_path, mlp_weights):
    import litetrain as lt

    result = litetrain("inspect", str(mlp_dynamic_path), "--json")
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    model = lt.Model(mlp_dynamic_path)
    assert {k: v["ops"] for k, v in info["signatures"].items()} == {k: s.num_ops for k, s in model.signatures.items()}
    assert info["signatures"]["infer"]["inputs"]["x"] == {"dtype": "float32", "shape": [-1, 32]}
    assert {n: v["shape"] for n, v in info["variables"].items()} == {n: list(w.shape) for n, w in mlp_weights.items()}


def test_errors_name_the_file_without_a_traceback(tmp_path):
    missing = tmp_path / "missing.tflite"
    result = litetrain("inspect", str(missing))
    assert result.returncode == 1
    assert result.stderr.startswith("litetrain inspect: error:") and str(missing) in result.stderr
    assert "Traceback" not in result.stderr
    broken = tmp_path / "broken.tflite"
    broken.write_bytes(b"TFL3" * 10)
    result = litetrain("inspect", str(broken))
    assert result.returncode == 1 and "not a valid TFLite model" in result.stderr
    debug = litetrain("--debug", "inspect", str(broken))
    assert debug.returncode == 1 and "Traceback" in debug.stderr


def test_the_command_line_imports_neither_the_bench_suite_nor_tensorflow_at_start():
    probe = (
        "import sys, litetrain.cli; litetrain.cli._parser(); "
        "print(sorted(m for m in sys.modules if m.startswith(('litetrain.bench', 'tensorflow', 'keras'))))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
    assert litetrain("bench", "--help").returncode == 0
