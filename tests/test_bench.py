"""The benchmark suite: its native pieces (the limit loop, the timing
protocol), its judgement (gates), its reports, and a real quick run."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import litetrain
import numpy as np
import pytest
from conftest import REPORT, training_batches
from litetrain import _core
from litetrain.bench import arithmetic, gates, report
from litetrain.bench.systems import FILE_PEERS, SYSTEMS


def test_bare_step_loop_trains_on_its_batches_and_times_natively(mlp_fixed_path):
    model = litetrain.Model(mlp_fixed_path)
    x, y = (np.concatenate(parts) for parts in zip(*training_batches(3, 8, distinct=3)))
    loop = _core.BareStepLoop(model._native, "train", {"x": x, "y": y}, 8)
    assert loop.num_batches == 3
    loop.run(3)
    first = float(loop.output("loss"))
    seconds = loop.run(300)  # ends on the same batch as the first call
    assert seconds > 0
    assert float(loop.output("loss")) < 0.5 * first
    # The loop trains the model's own variables: `save` sees the change.
    assert not np.allclose(model.runner("save")()["w0"], litetrain.Model(mlp_fixed_path).runner("save")()["w0"])


def test_bare_step_loop_refuses_bad_data_by_name(mlp_fixed_path):
    model = litetrain.Model(mlp_fixed_path)
    x, y = training_batches(1, 8)[0]
    with pytest.raises(ValueError, match="no input 'z'.*'x'"):
        _core.BareStepLoop(model._native, "train", {"z": x, "y": y}, 8)
    with pytest.raises(ValueError, match="no data for input 'y'"):
        _core.BareStepLoop(model._native, "train", {"x": x}, 8)
    with pytest.raises(ValueError, match=r"input 'y'.*takes float32\[8, 4\], got batches of float32\[4, 4\]"):
        _core.BareStepLoop(model._native, "train", {"x": x, "y": y}, 4)
    with pytest.raises(ValueError, match="positive multiple of batch_size=8 samples, got 4"):
        _core.BareStepLoop(model._native, "train", {"x": x[:4], "y": y[:4]}, 8)
    loop = _core.BareStepLoop(model._native, "train", {"x": x, "y": y}, 8)
    with pytest.raises(ValueError, match="no output 'nope'"):
        loop.output("nope")


def test_timing_protocol_calibrates_interleaves_and_takes_the_median():
    calls = {"fast": [], "slow": []}

    def runner(name, per_step):
        def run(steps):
            calls[name].append(steps)
            return steps * per_step

        return run

    fast, slow = _core.time_interleaved(
        [runner("fast", 4e-6), runner("slow", 2e-3)], rounds=5, round_seconds=0.05, warmup_seconds=0
    )
    assert fast.steps_per_round == 12500 and slow.steps_per_round == 25
    assert fast.median_us == pytest.approx(4.0) and slow.median_us == pytest.approx(2000.0)
    assert len(fast.round_us) == 5 and calls["fast"][0] == 1  # one untimed first step
    assert _core.median([5.0, 1.0, 3.0, 2.0]) == 2.5
    with pytest.raises(ValueError, match="rounds must be >= 1"):
        _core.time_interleaved([runner("fast", 1e-6)], rounds=0)


def _row(system, us, model="mlp-mid", batch=32, threads=1, trained=True):
    return {
        "model": model,
        "model_label": model,
        "batch": batch,
        "threads": threads,
        "system": system,
        "label": SYSTEMS[system][0],
        "family": SYSTEMS[system][1],
        "median_us": us,
        "min_us": us,
        "max_us": us,
        "round_us": [us],
        "steps_per_round": 10,
        "loss_first_round": 2.0,
        "loss_last_round": 1.0 if trained else 2.5,
        "trained": trained,
    }


def test_gates_fail_on_fit_over_the_limit_and_list_faster_alternatives():
    rows = [_row("limit", 100), _row("litetrain_fit", 104), _row("litert_interpreter", 110), _row("tf_function", 90)]
    verdict = gates.evaluate(rows, gates.FULL)
    assert verdict.passed, verdict.failures
    assert [(b["system"], round(b["ratio"], 3)) for b in verdict.beaten] == [("tf_function", 1.156)]
    assert "PASS Trainer.fit / limit" in verdict.checks[0] and "1.040" in verdict.checks[0]

    slow_fit = [_row("limit", 100), _row("litetrain_fit", 106)]
    assert not gates.evaluate(slow_fit, gates.FULL).passed
    assert gates.evaluate(slow_fit, gates.QUICK).passed

    # A front end of the same runtime beating fit is a failure; TensorFlow's is only listed.
    beaten = [_row("limit", 100), _row("litetrain_fit", 100), _row("litert_compiled_model", 90)]
    verdict = gates.evaluate(beaten, gates.FULL)
    assert not verdict.passed and "litert_compiled_model beats Trainer.fit by 1.111x" in verdict.failures[0]


def test_gates_fail_on_a_row_that_did_not_train_or_a_failed_litetrain_system():
    rows = [_row("limit", 100), _row("litetrain_fit", 101), _row("keras_train_on_batch", 900, trained=False)]
    verdict = gates.evaluate(rows, gates.FULL)
    assert not verdict.passed and "keras_train_on_batch did not train" in verdict.failures[0]
    failed = [_row("limit", 100), {**_row("cpp_fit", 1), "error": "RuntimeFailure: boom"}, _row("litetrain_fit", 101)]
    assert "cpp_fit failed: RuntimeFailure: boom" in gates.evaluate(failed, gates.FULL).failures[0]


def test_compare_fails_on_a_same_run_ratio_that_regressed_by_more_than_ten_percent():
    baseline = [_row("limit", 100), _row("litetrain_fit", 110), _row("ort_training", 100)]
    same_ratios_slower_machine = [_row("limit", 200), _row("litetrain_fit", 220), _row("ort_training", 200)]
    checks, failures = gates.compare(same_ratios_slower_machine, baseline)
    assert failures == [] and len(checks) == 2 and all(c.startswith("PASS") for c in checks)
    regressed = [_row("limit", 100), _row("litetrain_fit", 125), _row("ort_training", 100)]
    checks, failures = gates.compare(regressed, baseline)
    assert len(failures) == 2
    assert "FAIL Trainer.fit / limit, mlp-mid batch 32 threads 1: 1.250 (baseline 1.100, +13.6%" in failures[0]
    checks, failures = gates.compare([_row("litetrain_fit", 1, model="cnn")], baseline)
    assert failures == [] and checks == ["(no case and system in common with the baseline)"]


def test_a_flagged_ratio_fails_only_if_timing_it_again_confirms_it():
    keras = "keras_train_on_batch"
    baseline = [_row("limit", 100), _row("litetrain_fit", 100), _row("ort_training", 100), _row(keras, 1000)]
    run = [_row("limit", 100), _row("litetrain_fit", 120), _row("ort_training", 100), _row(keras, 1500)]
    # Trainer.fit / keras_train_on_batch fell: only the limit and ORT ratios rose, by 20 %.
    assert gates.flagged(run, baseline) == {("mlp-mid", 32, 1): ["limit", "ort_training"]}
    # Timed again: the limit ratio still +20 % (a regression), ORT's back to +5 % (noise).
    again = [_row("litetrain_fit", 105), _row("limit", 87.5), _row("ort_training", 100)]
    checks, failures = gates.compare(run, baseline, remeasured=again)
    assert len(checks) == 3 and len(failures) == 1
    assert failures[0].startswith("FAIL Trainer.fit / limit")
    assert "timed again: 1.200 (+20.0%), confirmed" in failures[0]
    ort = next(c for c in checks if "ort_training" in c)
    assert ort.startswith("PASS") and "1.200 (baseline 1.000, +20.0%" in ort
    assert "timed again: 1.050 (+5.0%), not confirmed" in ort
    # A flag fails when its second timing is missing, failed or did not train.
    for unusable in ([], [{**again[2], "error": "x"}], [{**again[2], "trained": False}]):
        checks, failures = gates.compare(run, baseline, remeasured=again[:2] + unusable)
        assert len(failures) == 2 and failures[1].endswith("; no second timing that trained")
    checks, failures = gates.compare(run, baseline)
    assert len(failures) == 2
    assert gates.flagged(baseline, baseline) == {}


def test_report_tables_and_readme_section(tmp_path):
    rows = [
        _row("limit", 250),
        _row("litetrain_fit", 255),
        _row("litert_interpreter", 270),
        _row("limit", 5.5, model="mlp-tiny", batch=8),
        _row("litetrain_fit", 6.0, model="mlp-tiny", batch=8),
    ]
    rows[1]["flops"] = 12_750_000  # 50 GFLOP/s at 255 us
    table = report.latency_table(rows, threads=1, sgemm=100.0)
    assert table.startswith("| model | batch | limit | **Trainer.fit** | LiteRT Interpreter | MFLOP / step |")
    assert "| mlp-mid | 32 | 250 | 255 (1.02x limit) | 270 (1.06x) | 12.75 | 50.0 (50%) |" in table
    assert "| mlp-tiny | 8 | 5.5 | 6.0 (1.09x limit) |" in table
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{report.README_START}\nold table\n{report.README_END}\nrest\n")
    report.update_readme(readme, "new table")
    assert readme.read_text() == f"intro\n{report.README_START}\nnew table\n{report.README_END}\nrest\n"
    readme.write_text("no markers")
    with pytest.raises(ValueError, match="markers"):
        report.update_readme(readme, "x")


def test_a_front_end_timed_on_both_files_counts_its_faster_file_that_trained():
    from litetrain.bench.worker import _faster_file_per_system

    def timed(system, us, model_file, trained=True):
        return {**_row(system, us, trained=trained), "model_file": model_file}

    rows = [
        timed("litetrain_fit", 150, "as built"),
        timed("tflite_interpreter", 214, "as built"),
        timed("tflite_interpreter", 185, "portable"),
        timed("litert_interpreter", 300, "as built"),
        timed("litert_interpreter", 100, "portable", trained=False),
        timed("litert_compiled_model", 440, "as built"),
        {**_row("litert_compiled_model", 0), "model_file": "portable", "error": "setup failed: x"},
    ]
    picked = {r["system"]: r for r in _faster_file_per_system(rows)}
    assert len(picked) == 4 and "other_files" not in picked["litetrain_fit"]
    assert picked["tflite_interpreter"]["model_file"] == "portable"
    assert picked["tflite_interpreter"]["other_files"] == [{"model_file": "as built", "median_us": 214, "error": None}]
    # A faster file whose steps did not train, or one that failed, does not count.
    assert picked["litert_interpreter"]["model_file"] == "as built"
    assert picked["litert_compiled_model"]["median_us"] == 440
    table = report.latency_table(list(picked.values()), threads=1)
    assert "| 185 (1.23x) † |" in table and "| 300 (2.00x) |" in table
    results = {"info": _info(), "rows": list(picked.values()), "memory": []}
    verdict = gates.evaluate(results["rows"], gates.FULL)
    assert "†: on the file built with `portable=True`" in report.markdown(results, verdict)
    # Ranked by the statistic the gates compare (a quick run's fastest rounds).
    slow_median = [
        {**timed("tflite_interpreter", 200, "as built"), "min_us": 150},
        timed("tflite_interpreter", 190, "portable"),
    ]
    assert _faster_file_per_system(slow_median, "min_us")[0]["model_file"] == "as built"
    assert _faster_file_per_system(slow_median)[0]["model_file"] == "portable"
    only_as_built = [r for r in picked.values() if r["system"] != "tflite_interpreter"]
    assert "†" not in report.markdown({**results, "rows": only_as_built}, verdict)


def _info():
    return {
        "mode": "full",
        "date": "2026-12-06 10:00 UTC",
        "command": "litetrain bench",
        "threads": [1],
        "machine": {
            "cpu": "x",
            "cores": 2,
            "arch": "x86_64",
            "os": "Debian",
            "python": "3.11",
            "litetrain": "0",
            "ai-edge-litert": "2.3.0",
            "tensorflow": None,
        },
        "load_average": {"start": [0.0], "end": [0.0]},
        "sgemm": [{"gflops": 100.0}],
    }


@pytest.mark.needs_tensorflow
def test_flops_count_each_product_of_a_step():
    import keras

    from litetrain.tf.flops import flops_per_step

    mlp = keras.Sequential([keras.Input((784,)), keras.layers.Dense(128, activation="relu"), keras.layers.Dense(10)])
    # the first layer: forward and weight gradient; the second also its input gradient
    assert flops_per_step(mlp, 32) == 2 * 32 * 784 * 128 * 2 + 2 * 32 * 128 * 10 * 3
    cnn = keras.Sequential(
        [keras.Input((28, 28, 1)), keras.layers.Conv2D(8, 3), keras.layers.Flatten(), keras.layers.Dense(10)]
    )
    conv = 2 * 4 * 26 * 26 * 9 * 1 * 8
    assert flops_per_step(cnn, 4) == conv * 2 + 2 * 4 * (26 * 26 * 8) * 10 * 3


def test_sgemm_rate_is_measured_on_one_thread():
    measured = arithmetic.sgemm_gflops(256)
    assert measured["n"] == 256 and 0.1 < measured["gflops"] < 1000


def bench(*args, timeout=60):
    return subprocess.run(
        [sys.executable, "-m", "litetrain", "bench", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_command_line_errors_name_the_problem(tmp_path):
    result = bench("--models", "nope", "--out", str(tmp_path))
    assert result.returncode == 1
    assert "unknown model 'nope'; models: mlp-tiny, mlp-mid, mlp-large, cnn" in result.stderr
    assert "Traceback" not in result.stderr
    result = subprocess.run(
        [sys.executable, "-m", "litetrain.bench", "--rounds", "0"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 1 and "--rounds must be >= 1" in result.stderr
    result = bench("--report-only", "--out", str(tmp_path / "none"))
    assert result.returncode == 1 and "bench.json does not exist: run the suite first" in result.stderr


@pytest.mark.slow
def test_a_run_times_its_flagged_cases_again_and_fails_on_a_confirmed_regression(tmp_path):
    # A baseline in which Trainer.fit took half the limit's time: this run's
    # Trainer.fit / limit (about 1) is a regression any second timing
    # confirms; its Trainer.fit / C++ Fit (5 in the baseline) fell.
    baseline = tmp_path / "baseline.json"
    rows = [_row(system, us, model="mlp-tiny", batch=8) for system, us in [("limit", 10), ("litetrain_fit", 5)]]
    baseline.write_text(json.dumps({"rows": rows + [_row("cpp_fit", 1.0, model="mlp-tiny", batch=8)]}))
    out = tmp_path / "out"
    args = ["--quick", "--models", "mlp-tiny", "--systems", "cpp_fit", "--no-memory", "--out", str(out)]
    result = bench(*args, "--compare", str(baseline), timeout=300)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 ratio(s) rose more than 10% against the baseline: timing them again" in result.stdout
    data = json.loads((out / "bench.json").read_text())
    assert data["info"]["compared_with"] == str(baseline)
    # Only Trainer.fit and the flagged system, timed anew by a worker of their own.
    assert [r["system"] for r in data["remeasured"]] == ["limit", "litetrain_fit"]
    assert (out / "logs" / "worker-remeasure-threads1.log").is_file()
    first = {r["system"]: r["round_us"] for r in data["rows"]}
    assert all(r["trained"] and r["round_us"] != first[r["system"]] for r in data["remeasured"])
    failures = data["verdict"]["failures"]
    assert len(failures) == 1 and failures[0].startswith("FAIL Trainer.fit / limit, mlp-tiny batch 8 threads 1")
    assert failures[0].endswith(", confirmed")
    # The report re-made from the JSON judges the same, from the recorded second timing.
    again = bench("--report-only", "--out", str(out), "--compare", str(baseline))
    assert again.returncode == 1 and failures[0] in again.stdout, again.stdout + again.stderr


@pytest.mark.slow
def test_quick_run_trains_every_system_and_passes_its_gates(tmp_path):
    started = time.monotonic()
    result = bench("--quick", "--out", str(tmp_path), timeout=300)
    seconds = time.monotonic() - started
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads((tmp_path / "bench.json").read_text())
    cases = {(r["model"], r["batch"]) for r in data["rows"]}
    assert cases == {("mlp-tiny", 8), ("mlp-mid", 32), ("cnn", 8)}
    for case in cases:
        systems = {r["system"]: r for r in data["rows"] if (r["model"], r["batch"]) == case}
        assert set(systems) == set(SYSTEMS)
        for row in systems.values():
            assert "error" not in row, row
            assert row["trained"], row
            assert row["min_us"] <= row["median_us"] <= row["max_us"]
        # The other front ends of a .tflite were timed on the portable file too.
        for system in FILE_PEERS:
            files = [systems[system]["model_file"], *(o["model_file"] for o in systems[system]["other_files"])]
            assert sorted(files) == ["as built", "portable"], systems[system]
            for other in systems[system]["other_files"]:
                assert other["error"] is None and other["median_us"] > 0, systems[system]
    memory = {m["system"]: m for m in data["memory"]}
    assert memory["litetrain_fit"]["tensorflow_imported"] is False and memory["keras_fit"]["tensorflow_imported"]
    assert memory["litetrain_fit"]["peak_rss_mb"] < memory["keras_fit"]["peak_rss_mb"]
    assert (tmp_path / "latency-threads1.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| MLP 784-128-10 | 32 |" in (tmp_path / "bench.md").read_text()
    # The README section is re-made from the JSON alone.
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n{report.README_START}\nold\n{report.README_END}\n")
    again = bench("--report-only", "--out", str(tmp_path), "--update-readme", str(readme))
    assert again.returncode == 0, again.stderr
    assert "| MLP 784-128-10 | 32 |" in readme.read_text() and "(latency-threads1.png)" in readme.read_text()
    fit = {r["model"]: r for r in data["rows"] if r["system"] == "litetrain_fit"}
    limit = {r["model"]: r for r in data["rows"] if r["system"] == "limit"}
    REPORT.append(
        f"litetrain bench --quick: {seconds:.0f} s; Trainer.fit / limit (fastest rounds): "
        + ", ".join(f"{m} {fit[m]['min_us'] / limit[m]['min_us']:.3f}" for m in sorted(fit))
    )
