"""What makes a run pass: ratios measured in the same run, so that they hold on
any machine, plus the cases where another system beats litetrain.

- Every timed row trained (its loss fell from the first timed round to the
  last) and no litetrain or limit row failed.
- litetrain's ``Trainer.fit`` step over the limit's, on the gated case (the
  mid MLP at batch 32, every thread count run): at most ``1 + limit_tolerance``.
- Other front ends of the same runtime (``litert`` family: same kernels, so
  only overhead differs) must not beat ``Trainer.fit`` by more than
  ``alternative_tolerance`` in any case.
- The ratios compare medians over rounds, or in a quick run on a busy
  machine the fastest rounds.
- Every case where any system (TensorFlow included) is faster than
  ``Trainer.fit`` is listed with the ratio; TensorFlow's are not failures:
  its kernels are other kernels.
- Against a baseline run (``compare``): no same-run ratio (Trainer.fit over
  another system) more than 10 % above the baseline's, in the run and in a
  second timing of the flagged cases right after it.
"""

from __future__ import annotations

from dataclasses import dataclass

GATED_CASE = ("mlp-mid", 32)


@dataclass(frozen=True)
class Tolerances:
    limit: float  # Trainer.fit may be this fraction slower than the limit
    alternative: float  # a same-runtime alternative may be this fraction faster than Trainer.fit
    # Which per-system number the gates compare: the median round, or on a
    # busy machine the fastest round (load only ever adds time, so the
    # fastest round is the one least disturbed).
    statistic: str = "median_us"


FULL = Tolerances(limit=0.05, alternative=0.05)
# A shared, busy machine (CI): rounds are short and neighbours steal cores.
QUICK = Tolerances(limit=0.5, alternative=0.5, statistic="min_us")


@dataclass
class Verdict:
    passed: bool
    failures: list[str]
    checks: list[str]  # every gate evaluated, with its value
    beaten: list[dict]  # {"model", "batch", "threads", "system", "ratio"}: fit_us / their_us > 1


def _key(row: dict) -> tuple:
    return row["model"], row["batch"], row["threads"]


def evaluate(rows: list[dict], tolerances: Tolerances) -> Verdict:
    """Applies the gates to the rows of one run."""
    stat = tolerances.statistic
    failures: list[str] = []
    checks: list[str] = []
    beaten: list[dict] = []
    fit = {_key(r): r for r in rows if r["system"] == "litetrain_fit" and "error" not in r}
    for r in rows:
        where = f"{r['model']} batch {r['batch']} threads {r['threads']}: {r['system']}"
        if "error" in r:
            if r.get("family") in ("litetrain", "limit") or r["system"] in ("litetrain_fit", "cpp_fit", "limit"):
                failures.append(f"{where} failed: {r['error']}")
            continue
        if not r["trained"]:
            failures.append(
                f"{where} did not train (loss {r['loss_first_round']:.4g} -> {r['loss_last_round']:.4g}): "
                "its timing is worthless"
            )
    for key, f in sorted(fit.items()):
        model, batch, threads = key
        limit = next((r for r in rows if _key(r) == key and r["system"] == "limit" and "error" not in r), None)
        if (model, batch) == GATED_CASE and limit is not None:
            ratio = f[stat] / limit[stat]
            ok = ratio <= 1 + tolerances.limit
            checks.append(
                f"{'PASS' if ok else 'FAIL'} Trainer.fit / limit, {model} batch {batch} threads {threads}: "
                f"{ratio:.3f} (at most {1 + tolerances.limit:.2f}; {stat[:-3]} rounds)"
            )
            if not ok:
                failures.append(checks[-1])
        for r in rows:
            if _key(r) != key or "error" in r or r["system"] in ("litetrain_fit", "cpp_fit", "limit"):
                continue
            ratio = f[stat] / r[stat]
            if ratio > 1:
                beaten.append(
                    {"model": model, "batch": batch, "threads": threads, "system": r["system"], "ratio": ratio}
                )
            if r.get("family") == "litert" and ratio > 1 + tolerances.alternative:
                failures.append(
                    f"FAIL {r['system']} beats Trainer.fit by {ratio:.3f}x on {model} batch {batch} threads {threads} "
                    f"(same runtime: at most {1 + tolerances.alternative:.2f}x allowed)"
                )
    if not any((m, b) == GATED_CASE for m, b, _ in fit):
        checks.append(f"(the gated case {GATED_CASE[0]} batch {GATED_CASE[1]} was not run)")
    return Verdict(not failures, failures, checks, beaten)


REGRESSION_TOLERANCE = 0.10


def _ratios(rows: list[dict], stat: str) -> dict[tuple, float]:
    """{(model, batch, threads, system): Trainer.fit's time over that system's}, one run's rows."""
    fit = {_key(r): r[stat] for r in rows if r["system"] == "litetrain_fit" and "error" not in r}
    return {
        (*_key(r), r["system"]): fit[_key(r)] / r[stat]
        for r in rows
        if r["system"] != "litetrain_fit" and "error" not in r and _key(r) in fit and r[stat] > 0
    }


def _changes(rows: list[dict], baseline: list[dict], stat: str) -> dict[tuple, tuple[float, float]]:
    """{(model, batch, threads, system): (ratio now, ratio in the baseline)} for what both runs have."""
    now, then = _ratios(rows, stat), _ratios(baseline, stat)
    return {key: (now[key], then[key]) for key in sorted(now.keys() & then.keys())}


def _rose(now: float, then: float, tolerance: float) -> bool:
    return now / then - 1 > tolerance


def flagged(
    rows: list[dict], baseline: list[dict], stat: str = "median_us", tolerance: float = REGRESSION_TOLERANCE
) -> dict[tuple, list[str]]:
    """{(model, batch, threads): [system, ...]} whose ratio rose more than `tolerance`: the cases to time again."""
    cases: dict[tuple, list[str]] = {}
    for (model, batch, threads, system), (now, then) in _changes(rows, baseline, stat).items():
        if _rose(now, then, tolerance):
            cases.setdefault((model, batch, threads), []).append(system)
    return cases


def compare(
    rows: list[dict],
    baseline: list[dict],
    stat: str = "median_us",
    tolerance: float = REGRESSION_TOLERANCE,
    remeasured: list[dict] | None = None,
) -> tuple[list[str], list[str]]:
    """(checks, failures) of this run's same-run ratios against a baseline run's.

    Each ratio is Trainer.fit's step time over another system's in the same
    run (the limit included), so it holds across machines and loads better
    than a time. A ratio more than `tolerance` above the baseline's is
    flagged; cases or systems only one run has are skipped. A flag fails
    unless `remeasured` (the flagged cases timed once more: see `flagged`)
    has a second timing of it, both rows trained, within `tolerance`. Load
    only adds time, so that clears a flag raised by a disturbed Trainer.fit
    in this run; one raised by an outlier in the baseline (its other system
    slowed) is confirmed every time: the remedy is a new baseline.
    """
    trained = [r for r in remeasured or [] if r.get("trained")]
    second = _ratios(trained, stat)
    checks, failures = [], []
    for key, (now, then) in _changes(rows, baseline, stat).items():
        model, batch, threads, system = key
        line = (
            f"Trainer.fit / {system}, {model} batch {batch} threads {threads}: {now:.3f} "
            f"(baseline {then:.3f}, {now / then - 1:+.1%}; at most +{tolerance:.0%})"
        )
        failed = _rose(now, then, tolerance)
        if failed and key not in second:
            line += "; no second timing that trained"
        elif failed:
            failed = _rose(second[key], then, tolerance)
            line += f"; timed again: {second[key]:.3f} ({second[key] / then - 1:+.1%}), "
            line += "confirmed" if failed else "not confirmed"
        checks.append(f"{'FAIL' if failed else 'PASS'} {line}")
        if failed:
            failures.append(checks[-1])
    if not checks:
        checks.append("(no case and system in common with the baseline)")
    return checks, failures
