"""The suite's outputs: JSON (everything), a Markdown report, PNG plots, and
the README's benchmark section. Every file is written atomically."""

from __future__ import annotations

import json
import os
import platform
import sys
from importlib import metadata
from pathlib import Path

from litetrain._files import write_atomically, write_atomically_with
from litetrain.bench.gates import Verdict
from litetrain.bench.systems import NOT_INSTALLED, SYSTEMS

# Short column titles, in table order.
COLUMNS = {
    "limit": "limit",
    "litetrain_fit": "**Trainer.fit**",
    "cpp_fit": "C++ `Fit`",
    "litert_interpreter": "LiteRT Interpreter",
    "litert_compiled_model": "LiteRT CompiledModel",
    "tflite_interpreter": "`tf.lite` Interpreter",
    "tf_function": "`tf.function`",
    "keras_train_on_batch": "Keras `train_on_batch`",
    "ort_training": "ONNX Runtime training",
}
# After a front end's time when its faster file was the portable one.
PORTABLE_MARK = " †"
README_START = "<!-- litetrain bench: start -->"
README_END = "<!-- litetrain bench: end -->"


def machine() -> dict:
    """What the numbers were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith(("model name", "hardware", "cpu model")):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    system = platform.platform()
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                system = line.split("=", 1)[1].strip('"')
    except OSError:
        pass

    def version(package: str) -> str | None:
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            return None

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "arch": platform.machine(),
        "os": system,
        "python": platform.python_version(),
        "litetrain": version("litetrain"),
        "ai-edge-litert": version("ai-edge-litert"),
        "tensorflow": version("tensorflow-cpu") or version("tensorflow"),
    }


def _us(value: float) -> str:
    return f"{value:.1f}" if value < 100 else f"{value:,.0f}"


def _cell(row: dict | None, fit: dict | None, limit: dict | None) -> str:
    if row is None:
        return ""
    if "error" in row:
        return "n/a" if row.get("not_installed") or row["error"] == NOT_INSTALLED else "failed"
    text = _us(row["median_us"])
    if row["system"] == "litetrain_fit" and limit is not None:
        text += f" ({row['median_us'] / limit['median_us']:.2f}x limit)"
    elif row["system"] not in ("litetrain_fit", "limit", "cpp_fit") and fit is not None:
        text += f" ({row['median_us'] / fit['median_us']:.2f}x)"
    if row.get("model_file") == "portable":
        text += PORTABLE_MARK
    if not row["trained"]:
        text += " **did not train**"
    return text


def _portable_legend(rows: list[dict]) -> list[str]:
    """The footnote for the † cells, when a table has any."""
    if not any(r.get("model_file") == "portable" for r in rows):
        return []
    return [
        "",
        (
            "†: on the file built with `portable=True`. The LiteRT Interpreter, LiteRT CompiledModel and "
            "`tf.lite` Interpreter are timed on it and on the file as built, in the same rounds, and the faster "
            "of the two that trained counts (the lower of two medians, which favours them a little); "
            "litetrain runs the file as built."
        ),
    ]


def sgemm_rate(info: dict) -> float | None:
    """The best single-core sgemm rate (GFLOP/s) measured in the run."""
    rates = [m["gflops"] for m in info.get("sgemm", [])]
    return max(rates) if rates else None


def _arithmetic(fit: dict | None, sgemm: float | None) -> list[str]:
    flops = (fit or {}).get("flops")
    if not flops:
        return ["", ""]
    rate = flops / fit["median_us"] / 1e3
    share = f" ({100 * rate / sgemm:.0f}%)" if sgemm else ""
    return [f"{flops / 1e6:.2f}", f"{rate:.1f}{share}"]


def latency_table(rows: list[dict], threads: int, sgemm: float | None = None) -> str:
    """A Markdown table: one line per (model, batch), one column per system,
    median microseconds per step; in brackets, the alternatives' time over
    Trainer.fit's (above 1: litetrain is faster) and fit's over the limit;
    then the step's MFLOP and Trainer.fit's GFLOP/s (share of `sgemm`)."""
    rows = [r for r in rows if r["threads"] == threads]
    systems = [s for s in COLUMNS if any(r["system"] == s for r in rows)]
    lines = [
        "| model | batch | " + " | ".join(COLUMNS[s] for s in systems) + " | MFLOP / step | fit GFLOP/s (of sgemm) |",
        "|---|---:|" + "---:|" * len(systems) + "---:|---:|",
    ]
    order = []
    for r in rows:
        if (r["model"], r["batch"]) not in order:
            order.append((r["model"], r["batch"]))
    for model, batch in order:
        by_system = {r["system"]: r for r in rows if (r["model"], r["batch"]) == (model, batch)}
        fit = by_system.get("litetrain_fit")
        fit = fit if fit and "error" not in fit else None
        limit = by_system.get("limit")
        limit = limit if limit and "error" not in limit else None
        label = next(r.get("model_label", model) for r in by_system.values())
        cells = [_cell(by_system.get(s), fit, limit) for s in systems] + _arithmetic(fit, sgemm)
        lines.append(f"| {label} | {batch} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def memory_table(memory: list[dict]) -> str:
    lines = ["| process | peak RSS | TensorFlow imported | trained |", "|---|---:|---|---|"]
    for m in memory:
        if "error" in m:
            lines.append(f"| {m['label']} | failed: {m['error']} | | |")
            continue
        lines.append(
            f"| {m['label']} | {m['peak_rss_mb']:.0f} MB | {'yes' if m['tensorflow_imported'] else 'no'} | "
            f"{'yes' if m['trained'] else '**no**'} |"
        )
    return "\n".join(lines)


def _beaten_lines(verdict: Verdict, most: int | None = None) -> list[str]:
    if not verdict.beaten:
        return ["None: Trainer.fit was the fastest way to train in every case (the limit aside)."]
    ranked = sorted(verdict.beaten, key=lambda b: -b["ratio"])
    lines = [
        f"- {b['model']} batch {b['batch']} threads {b['threads']}: {SYSTEMS[b['system']][0]} "
        f"is {b['ratio']:.3f}x faster than Trainer.fit"
        for b in ranked[:most]
    ]
    if most is not None and len(ranked) > most:
        lines.append(f"- ... and {len(ranked) - most} more cases (all in bench.md)")
    return lines


def _sgemm_text(info: dict) -> str:
    rates = info.get("sgemm", [])
    return " / ".join(f"{m['gflops']:.1f}" for m in rates) + " GFLOP/s (start / end)" if rates else "not measured"


def hardware_line(info: dict) -> str:
    m = info["machine"]
    load = info["load_average"]
    return (
        f"{m['cpu']}, {m['cores']} cores ({m['arch']}), {m['os']}, Python {m['python']}, "
        f"ai-edge-litert {m['ai-edge-litert']}, TensorFlow {m['tensorflow']}, litetrain {m['litetrain']}; "
        f"load average {load['start'][0]:.2f} at the start, {load['end'][0]:.2f} at the end"
    )


def markdown(results: dict, verdict: Verdict) -> str:
    """The whole report."""
    info = results["info"]
    out = [
        f"# litetrain bench ({info['mode']} run, {info['date']})",
        "",
        f"Command: `{info['command']}`",
        "",
        f"Machine: {hardware_line(info)}.",
        "",
        (
            "Median microseconds per training step (SGD, fixed batch) over interleaved rounds; "
            "in brackets: Trainer.fit over the limit, and each alternative over Trainer.fit "
            "(above 1: litetrain is faster). Every number comes from steps whose loss fell. "
            "MFLOP / step counts the matrix products of the step; fit GFLOP/s is Trainer.fit's rate, "
            f"against numpy's single-core sgemm in the same run ({_sgemm_text(info)})."
        ),
    ]
    for threads in info["threads"]:
        out += ["", f"## Threads: {threads}", "", latency_table(results["rows"], threads, sgemm_rate(info))]
    out += _portable_legend(results["rows"])
    out += ["", "## Gates", ""]
    out += [f"- {c}" for c in verdict.checks] or ["- (none evaluated)"]
    out += [f"- {f}" for f in verdict.failures if f not in verdict.checks]
    out += ["", f"Result: {'PASS' if verdict.passed else 'FAIL'}", "", "## Where another system beats Trainer.fit", ""]
    out += _beaten_lines(verdict)
    if results.get("memory"):
        out += ["", "## Peak resident memory, training the mid MLP", "", memory_table(results["memory"])]
    return "\n".join(out) + "\n"


def readme_section(results: dict, verdict: Verdict, plot: str | None) -> str:
    """What goes between the README's markers: the threads-1 table, the plot,
    the hardware and the command."""
    info = results["info"]
    out = [
        f"Measured {info['date']} on: {hardware_line(info)}.",
        "",
        (
            f"Threads: {info['threads'][0]}. Median microseconds per training step; in brackets: "
            "Trainer.fit over the limit, and each alternative over Trainer.fit (above 1: litetrain is faster)."
        ),
        "",
        latency_table(results["rows"], info["threads"][0], sgemm_rate(info)),
        *_portable_legend([r for r in results["rows"] if r["threads"] == info["threads"][0]]),
        "",
        f"numpy sgemm on one core in the same run: {_sgemm_text(info)}.",
    ]
    if plot:
        out += ["", f"![step latency vs batch size]({plot})"]
    if results.get("memory"):
        out += ["", memory_table(results["memory"])]
    out += ["", "Where another system beats Trainer.fit (largest ratios):", ""] + _beaten_lines(verdict, most=8)
    out += ["", f"Made by `{info['command']}` (all thread counts, gates and JSON in the results folder)."]
    return "\n".join(out)


def update_readme(readme: Path, section: str) -> None:
    """Replaces the text between the README's bench markers."""
    text = readme.read_text()
    start, end = text.find(README_START), text.find(README_END)
    if start < 0 or end < start:
        raise ValueError(f"{readme} has no '{README_START}' ... '{README_END}' markers to fill")
    write_atomically(readme, text[: start + len(README_START)] + "\n" + section + "\n" + text[end:])


def plots(rows: list[dict], threads_list: list[int], folder: Path) -> list[Path]:
    """One PNG per thread count: step latency vs batch size, one panel per
    model, one line per system, log-log. Needs matplotlib (``litetrain[bench]``);
    without it, returns [] and the caller says so."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import matplotlib.ticker
    except ImportError:
        return []
    written = []
    for threads in threads_list:
        subset = [r for r in rows if r["threads"] == threads and "error" not in r]
        models = list(dict.fromkeys(r["model"] for r in subset))
        if not models:
            continue
        columns = min(2, len(models))
        grid_rows = -(-len(models) // columns)
        fig, axes = plt.subplots(grid_rows, columns, figsize=(5.2 * columns, 3.6 * grid_rows + 0.9), squeeze=False)
        for ax in axes.flat[len(models) :]:
            ax.set_visible(False)
        for ax, model in zip(axes.flat, models):
            here = [r for r in subset if r["model"] == model]
            for system in COLUMNS:
                points = sorted((r["batch"], r["median_us"]) for r in here if r["system"] == system)
                if not points:
                    continue
                style = {"linewidth": 2.5, "color": "black"} if system == "litetrain_fit" else {}
                if system == "limit":
                    style = {"linestyle": "--", "color": "grey"}
                ax.plot(*zip(*points), marker="o", markersize=3, label=SYSTEMS[system][0], **style)
            ax.set_xscale("log", base=2)
            batches = sorted({r["batch"] for r in here})
            ax.set_xticks(batches, [str(b) for b in batches])
            ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
            ax.set_yscale("log")
            ax.set_xlabel("batch size")
            ax.set_title(here[0].get("model_label", model))
            ax.grid(True, which="both", alpha=0.3)
        for row in axes:
            row[0].set_ylabel("us per step (median)")
        handles, labels = axes[0][0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=8, frameon=False)
        fig.suptitle(f"Training step latency, {threads} thread{'s' if threads > 1 else ''} (log-log)")
        fig.tight_layout(rect=(0, 0.9 / (3.6 * grid_rows + 0.9), 1, 1))
        path = folder / f"latency-threads{threads}.png"
        try:
            write_atomically_with(path, lambda f: fig.savefig(f, format="png", dpi=110))
        finally:
            plt.close(fig)
        written.append(path)
    return written


def write_json(results: dict, verdict: Verdict, path: Path) -> None:
    data = {
        **results,
        "verdict": {
            "passed": verdict.passed,
            "failures": verdict.failures,
            "checks": verdict.checks,
            "beaten": verdict.beaten,
        },
    }
    write_atomically(path, json.dumps(data, indent=1) + "\n")


def command_line() -> str:
    argv = sys.argv[1:]
    return "litetrain bench" + ("" if not argv else " " + " ".join(a for a in argv if a != "bench"))
