"""Runs the suite: builds the models once, times every case in one worker
process per thread count (and, with a baseline, times once more the cases
whose ratios regressed), measures peak memory in one process per system,
applies the gates and writes the results folder."""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from litetrain.bench import arithmetic, gates, report
from litetrain.bench.models import MODELS, model_file
from litetrain.bench.systems import FILE_PEERS, NEEDS_TENSORFLOW, SYSTEMS


@dataclass
class Plan:
    """What a run measures and how strictly it judges."""

    mode: str  # "full" or "quick"
    cases: list[tuple[str, int]]  # (model, batch)
    threads: list[int]
    systems: list[str]
    protocol: dict  # rounds, round_seconds, warmup_seconds, settle_seconds (see cpp/bench/step_timing.h)
    tolerances: gates.Tolerances
    memory_systems: list[str]
    memory_steps: int = 1000
    memory_case: tuple[str, int] = ("mlp-mid", 32)
    command: str = "litetrain bench"
    extra: dict = field(default_factory=dict)


def full_plan(models: list[str] | None = None) -> Plan:
    names = models or list(MODELS)
    return Plan(
        mode="full",
        cases=[(m, b) for m in names for b in MODELS[m].batches],
        threads=[1, 2],
        systems=list(SYSTEMS),
        protocol={"rounds": 7, "round_seconds": 0.25, "warmup_seconds": 0.25, "settle_seconds": 0.02},
        tolerances=gates.FULL,
        memory_systems=["litetrain_fit", "litert_interpreter", "keras_fit"],
    )


def quick_plan(models: list[str] | None = None) -> Plan:
    # The smallest model (overhead-bound), the gated case and the CNN, one
    # thread: under two minutes on a busy two-core machine, models built included.
    cases = [("mlp-tiny", 8), gates.GATED_CASE, ("cnn", 8)]
    if models:
        cases = [c for c in cases if c[0] in models]
        cases += [(m, 32 if 32 in MODELS[m].batches else MODELS[m].batches[0]) for m in models if m not in dict(cases)]
    return Plan(
        mode="quick",
        cases=cases,
        threads=[1],
        systems=list(SYSTEMS),
        protocol={"rounds": 7, "round_seconds": 0.1, "warmup_seconds": 0.2, "settle_seconds": 0.02},
        tolerances=gates.QUICK,
        memory_systems=["litetrain_fit", "keras_fit"],
        memory_steps=300,
    )


def _say(text: str) -> None:
    print(text, flush=True)


def _run_worker(
    plan: Plan,
    threads: int,
    cases: list[tuple[str, int, list[str]]],
    files: dict,
    portable_files: dict,
    work: Path,
    logs: Path,
    name: str = "",
) -> list[dict]:
    """Times `cases` ((model, batch, systems)) in a worker process at `threads` threads."""
    tag = f"{name}threads{threads}"
    rows_path = work / f"rows-{tag}.jsonl"
    plan_path = work / f"plan-{tag}.json"
    plan_path.write_text(
        json.dumps(
            {
                "threads": threads,
                "protocol": plan.protocol,
                "tensorflow_systems": sorted(NEEDS_TENSORFLOW),
                "out": str(rows_path),
                "statistic": plan.tolerances.statistic,
                "cases": [
                    {
                        "model": m,
                        "batch": b,
                        "file": str(files[m, b]),
                        "portable_file": str(portable_files[m, b]) if (m, b) in portable_files else None,
                        "systems": systems,
                    }
                    for m, b, systems in cases
                ],
            }
        )
    )
    log = logs / f"worker-{tag}.log"
    with open(log, "wb") as err:
        code = subprocess.run(
            [sys.executable, "-m", "litetrain.bench.worker", str(plan_path)], stderr=err, check=False
        ).returncode
    if code != 0:
        tail = log.read_text(errors="replace").strip().splitlines()[-5:]
        raise RuntimeError(f"the {tag} worker exited with {code}; see {log}:\n" + "\n".join(tail))
    return [json.loads(line) for line in rows_path.read_text().splitlines()] if rows_path.exists() else []


def _remeasure_flagged(
    plan: Plan, rows: list[dict], baseline: list[dict], files: dict, portable_files: dict, work: Path, logs: Path
) -> list[dict]:
    """Times once more, after every thread count's worker, each case whose
    same-run ratio rose against `baseline` (gates.flagged): Trainer.fit and
    the flagged systems only, in the plan's order (see gates.compare)."""
    tolerance = gates.REGRESSION_TOLERANCE
    flagged = gates.flagged(rows, baseline, plan.tolerances.statistic, tolerance)
    if not flagged:
        return []
    count = sum(len(systems) for systems in flagged.values())
    _say(f"  {count} ratio(s) rose more than {tolerance:.0%} against the baseline: timing them again")
    remeasured = []
    for threads in plan.threads:
        cases = [
            (m, b, [s for s in plan.systems if s == "litetrain_fit" or s in systems])
            for (m, b, t), systems in flagged.items()
            if t == threads
        ]
        if not cases:
            continue
        try:
            remeasured += _run_worker(plan, threads, cases, files, portable_files, work, logs, name="remeasure-")
        except Exception as e:  # noqa: BLE001 - the run's own rows stay; its flags then fail untimed
            _say(f"  timing again failed: {type(e).__name__}: {e}")
    return remeasured


def _measure_memory(plan: Plan, files: dict, logs: Path) -> list[dict]:
    from litetrain.bench.memory import SYSTEMS as MEMORY_SYSTEMS

    model, batch = plan.memory_case
    results = []
    for system in plan.memory_systems:
        cmd = [
            sys.executable,
            "-m",
            "litetrain.bench.memory",
            system,
            model,
            str(batch),
            str(files[model, batch]),
            str(plan.memory_steps),
        ]
        log = logs / f"memory-{system}.log"
        with open(log, "wb") as err:
            done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=err, text=True, check=False)
        lines = done.stdout.strip().splitlines()
        if done.returncode != 0 or not lines:
            results.append(
                {"system": system, "label": MEMORY_SYSTEMS[system], "error": f"exit {done.returncode}, see {log}"}
            )
            continue
        results.append(json.loads(lines[-1]))
        m = results[-1]
        _say(f"  peak RSS, {m['label']}: {m['peak_rss_mb']:.0f} MB")
    return results


def _memory_failures(memory: list[dict]) -> list[str]:
    failures = []
    for m in memory:
        if "error" in m:
            if m["system"] == "litetrain_fit":
                failures.append(f"memory: {m['label']} failed: {m['error']}")
            continue
        if m["system"] == "litetrain_fit" and m["tensorflow_imported"]:
            failures.append("memory: the litetrain process imported TensorFlow")
        if not m["trained"]:
            failures.append(f"memory: {m['label']} did not train")
    return failures


def run(
    plan: Plan,
    out: Path,
    model_cache: Path | None = None,
    readme: Path | None = None,
    memory: bool = True,
    baseline: Path | None = None,
) -> gates.Verdict:
    """Runs `plan`, writes `out`/bench.json, bench.md and the plots (and the
    README section when `readme` is given); returns the verdict."""
    started = time.monotonic()
    out.mkdir(parents=True, exist_ok=True)
    logs = out / "logs"
    logs.mkdir(exist_ok=True)
    cache = model_cache or out / "models"
    info = {
        "mode": plan.mode,
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": plan.command,
        "threads": plan.threads,
        "protocol": plan.protocol,
        "tolerances": dataclasses.asdict(plan.tolerances),
        "machine": report.machine(),
        "load_average": {"start": list(os.getloadavg())},
    }
    _say(f"litetrain bench ({plan.mode}): {len(plan.cases)} cases x threads {plan.threads}, results in {out}")
    files = {}
    needed = set(plan.cases) | ({plan.memory_case} if memory and plan.memory_systems else set())
    _say(f"  models: {len(needed)} (built with litetrain.build unless {cache} has them)")
    for m, b in sorted(needed):
        files[m, b] = model_file(MODELS[m], b, cache)
    # The front ends that time both files (systems.FILE_PEERS) need the portable one.
    portable_files = {}
    if set(FILE_PEERS) & set(plan.systems):
        _say(f"  portable files (build(portable=True)) for {', '.join(s for s in FILE_PEERS if s in plan.systems)}")
        for m, b in plan.cases:
            try:
                portable_files[m, b] = model_file(MODELS[m], b, cache, portable=True)
            except Exception as e:  # noqa: BLE001 - those front ends then run the file as built only
                _say(f"  no portable file for {m} batch {b} ({type(e).__name__}: {e}): the file as built only")
    info["sgemm"] = [arithmetic.sgemm_gflops()]
    rows: list[dict] = []
    remeasured: list[dict] | None = None
    with tempfile.TemporaryDirectory(prefix=".work-", dir=out) as work:
        for threads in plan.threads:
            cases = [(m, b, plan.systems) for m, b in plan.cases]
            rows += _run_worker(plan, threads, cases, files, portable_files, Path(work), logs)
        if baseline is not None:
            baseline_rows = _baseline_rows(baseline)
            remeasured = _remeasure_flagged(plan, rows, baseline_rows, files, portable_files, Path(work), logs)
    info["sgemm"].append(arithmetic.sgemm_gflops())  # before and after: the machine may have changed
    _say(
        f"  numpy sgemm, one thread: {info['sgemm'][0]['gflops']:.1f} / {info['sgemm'][1]['gflops']:.1f} GFLOP/s "
        "(start / end)"
    )
    mem = _measure_memory(plan, files, logs) if memory and plan.memory_systems else []
    info["load_average"]["end"] = list(os.getloadavg())
    info["seconds"] = round(time.monotonic() - started, 1)
    results = {"info": info, "rows": rows, "memory": mem}
    if remeasured is not None:
        info["compared_with"] = str(baseline)
        results["remeasured"] = remeasured
    return write_results(results, out, readme, baseline)


def _baseline_rows(path: Path) -> list[dict]:
    if not path.is_file():
        raise FileNotFoundError(f"baseline {path} does not exist (a bench.json of an earlier run)")
    return json.loads(path.read_text())["rows"]


def write_results(results: dict, out: Path, readme: Path | None = None, baseline: Path | None = None) -> gates.Verdict:
    """Judges `results` by the tolerances they record (and against `baseline`'s
    same-run ratios) and writes every output file (again, for ``--report-only``);
    returns the verdict."""
    info, rows = results["info"], results["rows"]
    tolerances = gates.Tolerances(**info["tolerances"])
    verdict = gates.evaluate(rows, tolerances)
    extra = _memory_failures(results.get("memory", []))
    checks = verdict.checks
    if baseline is not None:
        compared, regressions = gates.compare(
            rows, _baseline_rows(baseline), tolerances.statistic, remeasured=results.get("remeasured")
        )
        checks = checks + compared
        extra = extra + regressions
    if extra or checks is not verdict.checks:
        verdict = gates.Verdict(verdict.passed and not extra, verdict.failures + extra, checks, verdict.beaten)
    report.write_json(results, verdict, out / "bench.json")
    report.write_atomically(out / "bench.md", report.markdown(results, verdict))
    pngs = report.plots(rows, info["threads"], out)
    if not pngs:
        _say("  no plots: matplotlib is not installed (pip install 'litetrain[bench]')")
    if readme is not None:
        plot = os.path.relpath(pngs[0], readme.parent) if pngs else None
        report.update_readme(readme, report.readme_section(results, verdict, plot))
        _say(f"  updated {readme}")
    for check in verdict.checks:
        _say(f"  {check}")
    for b in verdict.beaten:
        _say(
            f"  faster than Trainer.fit: {b['system']} on {b['model']} batch {b['batch']} threads {b['threads']} "
            f"({b['ratio']:.3f}x)"
        )
    for failure in verdict.failures:
        if failure not in verdict.checks:
            _say(f"  {failure}")
    _say(f"{'PASS' if verdict.passed else 'FAIL'} ({info['mode']} run of {info['seconds']:.0f} s): {out / 'bench.md'}")
    return verdict


def rewrite(out: Path, readme: Path | None = None, baseline: Path | None = None) -> gates.Verdict:
    """Re-makes the report, plots and README section from `out`/bench.json."""
    path = out / "bench.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: run the suite first")
    results = json.loads(path.read_text())
    results.pop("verdict", None)
    return write_results(results, out, readme, baseline)
