"""Times the cases of one thread count, in a process of its own.

TensorFlow fixes its thread pools once per process, so the suite runs one
worker per thread count: ``python -m litetrain.bench.worker PLAN.json``.
The plan names the thread count, the timing protocol and the cases (model
file, batch, systems); the worker appends one JSON object per measured system
to the plan's ``out`` file as soon as its case is done, and prints a line per
case to stdout. LiteRT's and TensorFlow's own logging goes to stderr, which
the suite sends to a log file.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import traceback
from pathlib import Path


def _configure_tensorflow(threads: int) -> bool:
    """Imports TensorFlow with `threads` threads per op, one op at a time (as
    LiteRT runs a graph). Returns False when it is not installed."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        import tensorflow as tf
    except ImportError:
        return False
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    return True


class _Guarded:
    """A runner that turns its first exception into a recorded error, so that
    one failing system does not stop the others' rounds."""

    def __init__(self, runner) -> None:
        self.runner = runner
        self.error: str | None = None

    def __call__(self, steps: int) -> float:
        if self.error is None:
            try:
                return self.runner(steps)
            except Exception as e:  # noqa: BLE001 - reported in the row
                self.error = f"{type(e).__name__}: {e}"
        return 1e-9 * steps


def _flops(spec, batch: int) -> int:
    from litetrain.tf.flops import flops_per_step

    return flops_per_step(spec.keras(), batch)


def run_case(
    case_plan: dict, threads: int, protocol: dict, have_tensorflow: bool, statistic: str = "median_us"
) -> list[dict]:
    """Times every system of one case; returns one row per system (of a
    system timed on two files, the file faster by `statistic`, the number the
    gates compare)."""
    from litetrain import _core
    from litetrain.bench import onnx_peer
    from litetrain.bench.models import MODELS, training_data
    from litetrain.bench.systems import (
        FILE_PEERS,
        NEEDS_ONNXRUNTIME,
        NEEDS_TENSORFLOW,
        NOT_INSTALLED,
        SYSTEMS,
        Case,
        make_runner,
    )

    spec = MODELS[case_plan["model"]]
    batch = case_plan["batch"]
    x, y = training_data(spec, batch)
    case = Case(Path(case_plan["file"]).read_bytes(), batch, threads, x, y, keras=spec.keras)
    files = {"as built": case}
    if case_plan.get("portable_file"):
        files["portable"] = dataclasses.replace(case, model_bytes=Path(case_plan["portable_file"]).read_bytes())
    base = {
        "model": spec.name,
        "model_label": spec.label,
        "batch": batch,
        "threads": threads,
        "flops": _flops(spec, batch) if have_tensorflow else None,
    }
    # One entry per (system, file) timed: [row, runner or None].
    entries: list[list] = []
    for system in case_plan["systems"]:
        row = {**base, "system": system, "label": SYSTEMS[system][0], "family": SYSTEMS[system][1]}
        if system in NEEDS_TENSORFLOW and not have_tensorflow:
            entries.append([{**row, "error": NOT_INSTALLED, "not_installed": True}, None])
            continue
        if system in NEEDS_ONNXRUNTIME and not onnx_peer.available():
            entries.append([{**row, "error": onnx_peer.NOT_INSTALLED, "not_installed": True}, None])
            continue
        for kind, variant in files.items() if system in FILE_PEERS else [("as built", case)]:
            file_row = {**row, "model_file": kind}
            try:
                entries.append([file_row, _Guarded(make_runner(system, variant))])
            except Exception as e:  # noqa: BLE001 - reported in the row
                entries.append([{**file_row, "error": f"setup failed: {type(e).__name__}: {e}"}, None])
    timed = [entry for entry in entries if entry[1] is not None]
    timings = _core.time_interleaved([runner for _, runner in timed], **protocol) if timed else []
    for entry, timing in zip(timed, timings):
        row, runner = entry
        entry[0] = (
            {**row, "error": runner.error} if runner.error is not None else _measured(row, runner, timing, protocol)
        )
    return _faster_file_per_system([row for row, _ in entries], statistic)


def _measured(row: dict, runner: _Guarded, timing, protocol: dict) -> dict:
    import numpy as np

    losses = runner.runner.losses
    first, last = losses[-protocol["rounds"]], losses[-1]  # the first and last timed rounds
    return {
        **row,
        "median_us": timing.median_us,
        "min_us": timing.min_us,
        "max_us": timing.max_us,
        "steps_per_round": timing.steps_per_round,
        "round_us": list(timing.round_us),
        "loss_first_round": first,
        "loss_last_round": last,
        "trained": bool(np.isfinite(last) and last < first),
    }


def _faster_file_per_system(rows: list[dict], statistic: str = "median_us") -> list[dict]:
    """One row per system: of a system timed on several files, the file that
    trained fastest by `statistic` (a file that failed or did not train only
    when every one did), with the others' medians under ``other_files``.
    The lower of two medians from the same rounds favours that system a
    little: the report says so."""
    by_system: dict[str, list[dict]] = {}
    for row in rows:
        by_system.setdefault(row["system"], []).append(row)

    def rank(row: dict) -> tuple:
        measured = "error" not in row
        return (not (measured and row["trained"]), not measured, row.get(statistic, 0.0))

    picked = []
    for candidates in by_system.values():
        best, *others = sorted(candidates, key=rank)
        if others:
            best = {
                **best,
                "other_files": [
                    {"model_file": o["model_file"], "median_us": o.get("median_us"), "error": o.get("error")}
                    for o in others
                ],
            }
        picked.append(best)
    return picked


def _summary(rows: list[dict]) -> str:
    fit = next((r.get("median_us") for r in rows if r["system"] == "litetrain_fit"), None)
    parts = []
    for r in rows:
        if "error" in r:
            parts.append(f"{r['system']} failed")
            continue
        ratio = f" ({r['median_us'] / fit:.2f}x)" if fit else ""
        mark = "" if r["trained"] else " DID NOT TRAIN"
        parts.append(f"{r['system']} {r['median_us']:.1f}us{ratio}{mark}")
    return ", ".join(parts)


def main(plan_path: str) -> int:
    plan = json.loads(Path(plan_path).read_text())
    threads = plan["threads"]
    needs_tf = any(s in plan["tensorflow_systems"] for c in plan["cases"] for s in c["systems"])
    have_tensorflow = _configure_tensorflow(threads) if needs_tf else False
    out = Path(plan["out"])
    for case_plan in plan["cases"]:
        try:
            rows = run_case(case_plan, threads, plan["protocol"], have_tensorflow, plan.get("statistic", "median_us"))
        except Exception as e:  # noqa: BLE001 - the case is reported as failed, the rest go on
            traceback.print_exc()
            rows = [
                {
                    "model": case_plan["model"],
                    "batch": case_plan["batch"],
                    "threads": threads,
                    "system": s,
                    "error": f"case failed: {type(e).__name__}: {e}",
                }
                for s in case_plan["systems"]
            ]
        with out.open("a") as f:
            for row in rows:
                f.write(json.dumps(row) + "\n")
        print(f"  {case_plan['model']} batch {case_plan['batch']} threads {threads}: {_summary(rows)}", flush=True)
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
