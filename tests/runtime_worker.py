"""Runs .tflite models in another TFLite runtime, for the interop tests.

Stand-alone on purpose: it runs under the Python of whichever runtime is
tested (tflite-runtime 2.14 lives in its own venv with Python <= 3.11 and
numpy < 2, where litetrain is not installed), needing only numpy and that
runtime. The tests import it in-process for ai_edge_litert and TensorFlow.

Commands (python runtime_worker.py ...):
    run RUNTIME MODEL CALLS.npz OUT.npz
        Runs the calls in CALLS.npz in order on one interpreter and writes
        every output. CALLS.npz holds "__calls__" (JSON as uint8: a list of
        [signature, [input names]]) and the inputs as "<call>/<name>"; OUT.npz
        gets the outputs as "<call>/<name>".
    max-versions PROBES_DIR
        For each "<code>_<version>.tflite" there (a model declaring one
        operator code), finds the highest version this runtime loads; prints
        {code: max_version} as JSON (0: not built in).
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np

RUNTIMES = ("tflite_runtime", "ai_edge_litert", "tensorflow")


def interpreter_class(runtime: str):
    if runtime == "tflite_runtime":
        from tflite_runtime.interpreter import Interpreter
    elif runtime == "ai_edge_litert":
        from ai_edge_litert.interpreter import Interpreter
    elif runtime == "tensorflow":
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        import tensorflow as tf

        Interpreter = tf.lite.Interpreter
    else:
        raise ValueError(f"unknown runtime {runtime!r}; known: {RUNTIMES}")
    return Interpreter


def run_calls(
    runtime: str, model_path: str, calls: list[tuple[str, dict[str, np.ndarray]]]
) -> list[dict[str, np.ndarray]]:
    """Runs `calls` (signature, inputs) in order on one interpreter of `runtime`."""
    interpreter = interpreter_class(runtime)(model_path=model_path)
    runners: dict = {}
    results = []
    for signature, inputs in calls:
        if signature not in runners:
            runners[signature] = interpreter.get_signature_runner(signature)
        outputs = runners[signature](**inputs)
        results.append({name: np.array(value) for name, value in outputs.items()})
    return results


def write_calls(path: str, calls: list[tuple[str, dict[str, np.ndarray]]]) -> None:
    arrays = {f"{i}/{name}": value for i, (_, inputs) in enumerate(calls) for name, value in inputs.items()}
    index = [[signature, list(inputs)] for signature, inputs in calls]
    arrays["__calls__"] = np.frombuffer(json.dumps(index).encode(), np.uint8)
    np.savez(path, **arrays)


def read_calls(path: str) -> list[tuple[str, dict[str, np.ndarray]]]:
    with np.load(path) as archive:
        index = json.loads(archive["__calls__"].tobytes().decode())
        return [
            (signature, {name: archive[f"{i}/{name}"] for name in names}) for i, (signature, names) in enumerate(index)
        ]


def write_results(path: str, results: list[dict[str, np.ndarray]]) -> None:
    np.savez(
        path,
        **{f"{i}/{name}": value for i, outputs in enumerate(results) for name, value in outputs.items()},
    )


def read_results(path: str, count: int) -> list[dict[str, np.ndarray]]:
    results: list[dict[str, np.ndarray]] = [{} for _ in range(count)]
    with np.load(path) as archive:
        for key in archive.files:
            call, name = key.split("/", 1)
            results[int(call)][name] = archive[key]
    return results


def max_versions(probes_dir: str) -> dict[int, int]:
    Interpreter = interpreter_class("tflite_runtime")
    versions: dict[int, list[int]] = {}
    for entry in os.listdir(probes_dir):
        code, version = entry.removesuffix(".tflite").split("_")
        versions.setdefault(int(code), []).append(int(version))
    found = {}
    for code, candidates in sorted(versions.items()):
        best = 0
        for version in sorted(candidates):  # versions of a builtin are registered as a range 1..max
            try:
                Interpreter(model_path=os.path.join(probes_dir, f"{code}_{version}.tflite"))
            except ValueError:
                break
            best = version
        found[code] = best
    return found


def main(argv: list[str]) -> int:
    if argv[:1] == ["run"] and len(argv) == 5:
        _, runtime, model, calls_path, out_path = argv
        calls = read_calls(calls_path)
        write_results(out_path, run_calls(runtime, model, calls))
        return 0
    if argv[:1] == ["max-versions"] and len(argv) == 2:
        print(json.dumps(max_versions(argv[1])))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
