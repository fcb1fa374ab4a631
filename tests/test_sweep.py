"""Batch sweeps: spec validation, equal results however a sweep runs, failures, resuming."""

import json
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from sim import AIRaceModel, ParameterError, load_scenario, scenario_names
from sim.arrays import ArrayBag
from sim.cli import main
from sim.outputs import run_summary, stack_history
from sim.sweep_spec import load_spec, plan_runs, spec_from_data
from sim.sweeps import load_results, run_sweep, sweep

QUICK = "scenarios/sweeps/quick.toml"


def small_spec(**changes):
    spec = {
        "scenario": "baseline",
        "steps": 12,
        "parameters": {"environment.llm_ceiling": {"values": [1.5, 3.0]}, "drivers.sunk_cost": {"values": [0, 2]}},
        "replicates": {"count": 5, "base_seed": 10},
        "outputs": {"chunk_size": 7, "series": ["x", "hhi"]},
    }
    spec.update(changes)
    return spec


# --- the plan --------------------------------------------------------------------------


def test_grid_plan_covers_every_combination_and_seed():
    spec, _ = spec_from_data(small_spec())
    plan = plan_runs(spec)
    assert len(plan) == 2 * 2 * 5
    assert plan.groupby(["environment.llm_ceiling", "drivers.sunk_cost"]).seed.apply(list).map(tuple).nunique() == 1
    assert list(plan.run_id) == list(range(20))


def test_range_is_inclusive():
    spec, _ = spec_from_data(
        small_spec(parameters={"drivers.sunk_cost": {"range": {"start": 0, "stop": 3, "step": 1}}})
    )
    assert sorted(plan_runs(spec)["drivers.sunk_cost"].unique()) == [0, 1, 2, 3]


@pytest.mark.parametrize("design", ["lhs", "sobol"])
def test_samplers_stay_in_bounds_and_are_reproducible(design):
    data = small_spec(
        design=design,
        samples=16,
        parameters={
            "environment.llm_ceiling": {"distribution": "loguniform", "low": 1.2, "high": 6},
            "drivers.sunk_cost": {"distribution": "uniform", "low": 0, "high": 3},
        },
    )
    first, second = plan_runs(spec_from_data(data)[0]), plan_runs(spec_from_data(data)[0])
    pd.testing.assert_frame_equal(first, second)
    assert first["environment.llm_ceiling"].between(1.2, 6).all() and first["drivers.sunk_cost"].between(0, 3).all()
    assert first.set_id.nunique() == 16


def test_example_specs_are_valid():
    for path in ("scenarios/sweeps/quick.toml", "scenarios/sweeps/drivers_lhs.toml"):
        spec, _ = load_spec(path)
        assert len(plan_runs(spec)) > 0


# --- malformed specs -------------------------------------------------------------------

BAD_SPECS = {
    "unknown parameter": (
        {"parameters": {"environment.llm_celing": {"values": [1.5]}}},
        "unknown key 'llm_celing'; valid keys: start_year",
    ),
    "value out of range": (
        {"parameters": {"drivers.sunk_cost": {"values": [1, 20]}}},
        r"parameters.drivers.sunk_cost = 20: drivers.sunk_cost: 20 is out of range; allowed 0 to 10",
    ),
    "empty range": (
        {"parameters": {"drivers.sunk_cost": {"range": {"start": 3, "stop": 1, "step": 1}}}},
        r"parameters\.drivers\.sunk_cost: empty range: start 3 is above stop 1",
    ),
    "zero step": (
        {"parameters": {"drivers.sunk_cost": {"range": {"start": 0, "stop": 1, "step": 0}}}},
        r"parameters\.drivers\.sunk_cost\.range\.step",
    ),
    "sampler without bounds": (
        {"design": "lhs", "samples": 8, "parameters": {"drivers.sunk_cost": {"distribution": "uniform", "low": 0}}},
        "needs both low and high bounds",
    ),
    "grid value in a sampled design": (
        {"design": "sobol", "samples": 8, "parameters": {"drivers.sunk_cost": {"values": [0, 1]}}},
        "design 'sobol' samples every parameter: give a distribution with low and high for: drivers.sunk_cost",
    ),
    "sobol not a power of two": (
        {
            "design": "sobol",
            "samples": 10,
            "parameters": {"drivers.sunk_cost": {"distribution": "uniform", "low": 0, "high": 1}},
        },
        "power of 2",
    ),
    "zero replicates": ({"replicates": {"count": 0}}, r"replicates\.count: 0 is out of range; allowed 1 to"),
    "unknown measure": ({"outputs": {"measures": ["happiness"]}}, "measures: unknown happiness; valid:"),
    "unknown top-level key": ({"desgin": "grid"}, "unknown key 'desgin'; valid keys: name, description"),
    "missing scenario": ({"scenario": "atlantis"}, "unknown scenario 'atlantis'"),
}


@pytest.mark.parametrize("case", BAD_SPECS)
def test_malformed_spec_gets_a_clear_message(case):
    changes, pattern = BAD_SPECS[case]
    with pytest.raises(ParameterError, match=pattern):
        spec_from_data(small_spec(**changes), "spec.toml")


def test_malformed_spec_file_on_the_command_line(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[replicates]\ncount = 0\n")
    result = subprocess.run(
        [sys.executable, "-m", "sim", "sweep", str(path), "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "bad.toml: replicates.count: 0 is out of range" in result.stderr
    assert not (tmp_path / "out").exists()


# --- results: the same whichever way a sweep runs, and equal to the Mesa model ----------


@pytest.fixture(scope="module")
def in_process():
    return sweep(small_spec())


def test_results_have_parameters_seeds_and_measures(in_process):
    assert len(in_process) == 20 and (in_process.status == "ok").all()
    assert {"run_id", "set_id", "seed", "environment__llm_ceiling", "big_muddy_spend", "Meta_like__final_share"} <= set(
        in_process.columns
    )


def test_local_workers_and_folder_give_identical_results(in_process, tmp_path):
    parallel = sweep(small_spec(), out=tmp_path / "out", workers=2)
    pd.testing.assert_frame_equal(parallel, in_process, check_exact=True)
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["runs"] == 20 and manifest["failed_runs"] == 0
    assert manifest["spec_hash"] and manifest["aisim_version"]
    series = load_results(tmp_path / "out", "series")
    assert len(series) == 20 * 12 * 5 and {"x", "hhi"} <= set(series.columns)
    # three processes: this one runs every third chunk, two helpers the rest
    pd.testing.assert_frame_equal(sweep(small_spec(), workers=3), in_process, check_exact=True)


def test_each_run_equals_the_mesa_model(in_process):
    for row in in_process.sample(4, random_state=0).itertuples(index=False):
        overrides = {"environment.llm_ceiling": row[3], "drivers.sunk_cost": row[4]}
        model = AIRaceModel("baseline", rng=row.seed, steps=12, parameters=overrides).run()
        expected = run_summary(stack_history(model.history))
        for name in ("big_muddy_spend", "llm_spend_share", "final_hhi", "total_energy"):
            assert getattr(row, name) == expected[name], name


@pytest.mark.parametrize("name", ["baseline", "lecun_is_right", "startup_high_ceiling"])
def test_each_measure_needs_only_its_declared_inputs(name):
    """A sweep records only the variables its measures read (`measure_inputs`); a measure
    computed from those alone must equal the measure computed from the whole history."""
    from sim.ensemble import run_seeds
    from sim.outputs import FIRM_MEASURE_INPUTS, RUN_MEASURE_INPUTS, FirmMeasures, RunMeasures
    from sim.variables import FIRM_MEASURES, RUN_MEASURES

    assert set(FIRM_MEASURE_INPUTS) == set(FIRM_MEASURES) and set(RUN_MEASURE_INPUTS) == set(RUN_MEASURES)
    history = run_seeds(load_scenario(name), list(range(20)))
    full_firms, full_runs = FirmMeasures(history), RunMeasures(history)

    def only(names):
        return ArrayBag({variable: history[variable] for variable in names})

    for measure, inputs in FIRM_MEASURE_INPUTS.items():
        got = getattr(FirmMeasures(only(inputs)), measure)
        np.testing.assert_array_equal(got, getattr(full_firms, measure), err_msg=measure)
    for measure, inputs in RUN_MEASURE_INPUTS.items():
        got = getattr(RunMeasures(only(inputs)), measure)
        np.testing.assert_array_equal(got, getattr(full_runs, measure), err_msg=measure)


@pytest.mark.parametrize("name", scenario_names())
def test_lockstep_engine_equals_mesa_model_for_every_scenario(name):
    from sim.ensemble import run_seeds

    seeds = [0, 7, 123456]
    scenario = load_scenario(name)
    batch = run_seeds(scenario, seeds)
    for r, seed in enumerate(seeds):
        single = stack_history(AIRaceModel(scenario, rng=seed).run().history)
        for variable, values in single.items():
            np.testing.assert_array_equal(values, batch[variable][:, r], err_msg=f"{name} seed {seed}: {variable}")


def test_failed_run_is_recorded_and_the_sweep_goes_on():
    # Each value is valid alone; anchor 1.9 with ceiling 1.5 is not: those runs fail, the rest run.
    spec = small_spec(
        parameters={
            "environment.llm_anchor_quality": {"values": [1.0, 1.9]},
            "environment.llm_ceiling": {"values": [1.5, 2.0]},
        }
    )
    results = sweep(spec)
    failed = results[results.status == "failed"]
    assert len(failed) == 5  # one parameter set x 5 seeds
    assert (failed.environment__llm_anchor_quality == 1.9).all() and (failed.environment__llm_ceiling == 1.5).all()
    assert failed.error.str.contains("llm_anchor_quality").all()
    assert (results[results.status == "ok"].big_muddy_spend.notna()).all()
    assert results[results.status == "ok"].error.isna().all()  # no error is null, not ""


def test_api_accepts_a_spec_file():
    results = sweep(QUICK)
    assert len(results) == 240


# --- the results folder: refusing to mix, resuming after a kill -------------------------


def test_refuses_a_folder_of_another_spec_and_a_finished_folder_without_resume(tmp_path):
    out = tmp_path / "out"
    run_sweep(small_spec(), out)
    with pytest.raises(ParameterError, match="different sweep spec"):
        run_sweep(small_spec(replicates={"count": 6}), out, resume=True)
    with pytest.raises(ParameterError, match=r"already holds this sweep \(complete\); add --resume"):
        run_sweep(small_spec(), out)
    report = run_sweep(small_spec(), out, resume=True)
    assert report.chunks_run == 0 and report.chunks_skipped == 3


def test_resume_refuses_a_changed_base_scenario_or_other_versions(tmp_path):
    """Resuming after the base scenario was edited, or with other code, would mix two models."""
    scenario = tmp_path / "mine.toml"
    scenario.write_text('extends = "baseline"\n[environment]\nllm_ceiling = 1.8\n')
    out = tmp_path / "out"
    spec = small_spec(scenario=str(scenario), parameters={"drivers.sunk_cost": {"values": [0, 2]}})
    run_sweep(spec, out)
    scenario.write_text('extends = "baseline"\n[environment]\nllm_ceiling = 2.2\n')
    named = re.escape(str(scenario))
    with pytest.raises(ParameterError, match=rf"base scenario '{named}' .*has changed.*would mix results of two"):
        run_sweep(spec, out, resume=True)
    scenario.write_text('extends = "baseline"\n[environment]\nllm_ceiling = 1.8\n')
    manifest = json.loads((out / "manifest.json").read_text())
    (out / "manifest.json").write_text(json.dumps({**manifest, "numpy_version": "1.0.0"}))
    with pytest.raises(ParameterError, match=r"made with numpy 1\.0\.0, this sweep has"):
        run_sweep(spec, out, resume=True)
    (out / "manifest.json").write_text(json.dumps(manifest))
    assert run_sweep(spec, out, resume=True).chunks_run == 0


def test_refuses_a_non_empty_folder_without_manifest(tmp_path):
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(ParameterError, match="not empty and holds no sweep manifest"):
        run_sweep(small_spec(), tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["precious.txt"]  # not even a lock file
    assert (tmp_path / "precious.txt").read_text() == "keep me"


def test_killed_sweep_resumes_to_the_uninterrupted_result(tmp_path):
    spec = tmp_path / "kill.toml"
    spec.write_text(
        'scenario = "baseline"\nsteps = 40\n[parameters."drivers.sunk_cost"]\n'
        "range = { start = 0, stop = 3, step = 0.5 }\n"
        '[replicates]\ncount = 400\n[outputs]\nchunk_size = 40\nseries = ["x"]\n'
    )
    out = tmp_path / "killed"
    command = [sys.executable, "-m", "sim", "sweep", str(spec), "--out", str(out), "--workers", "1", "--quiet"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while finished_chunks(out) < 3 and time.monotonic() < deadline:
        time.sleep(0.005)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL
    done_before = finished_chunks(out)
    assert 3 <= done_before < 70, "the sweep finished before it could be killed: make it longer"
    assert json.loads((out / "manifest.json").read_text())["status"] == "running"

    resumed = subprocess.run([*command[:-1], "--resume", "--quiet"], capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{done_before} chunks already done" in resumed.stdout
    reference = tmp_path / "reference"
    subprocess.run([*command[:-4], str(reference), "--workers", "2", "--quiet"], check=True, capture_output=True)
    for table in ("runs", "series"):
        got, want = load_results(out, table), load_results(reference, table)
        assert not got.duplicated(["run_id", "step", "firm"] if table == "series" else ["run_id"]).any()
        pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert not list(out.rglob(".*.tmp"))


def finished_chunks(out) -> int:
    """Chunks the ledger lists as finished (whole lines only)."""
    ledger = out / "chunks.jsonl"
    return ledger.read_text().count("\n") if ledger.exists() else 0


def test_a_run_with_nan_in_its_state_is_failed_not_ok(monkeypatch):
    """Non-finite values in the model state make a run 'failed' with the quarter named, never 'ok'."""
    import sim.ensemble

    real_advance = sim.ensemble.advance

    def poisoned(state, params, noise, t, decide=None):
        new = real_advance(state, params, noise, t, decide)
        if t == 3:
            new["cash"] = new["cash"].copy()
            new["cash"][0, 1] = np.nan  # firm 0 of the second run
        return new

    monkeypatch.setattr(sim.ensemble, "advance", poisoned)
    spec = {"scenario": "baseline", "steps": 6, "parameters": {}, "replicates": {"count": 3}}
    table = sweep(spec, workers=1)
    assert table.status.tolist() == ["ok", "failed", "ok"]
    assert "quarter 3" in table.error.iloc[1]


def test_aisim_run_refuses_a_run_with_nan(monkeypatch, tmp_path, capsys):
    import sim.model

    real_advance = sim.model.advance

    def poisoned(state, params, noise, t, decide=None):
        new = real_advance(state, params, noise, t, decide)
        if t == 2:
            new["cash"] = new["cash"] * np.nan
        return new

    monkeypatch.setattr(sim.model, "advance", poisoned)
    out = tmp_path / "run.csv"
    assert main(["run", "baseline", "--seed", "1", "--steps", "5", "--out", str(out)]) == 2
    assert "non-finite values (NaN or infinity) in quarter 2" in capsys.readouterr().err
    assert not out.exists()


def test_a_plan_over_the_limits_needs_yes_and_is_printed_first(tmp_path, capsys, monkeypatch):
    spec = tmp_path / "spec.toml"
    spec.write_text("steps = 4\n[replicates]\ncount = 12\n")
    out = tmp_path / "out"
    assert main(["sweep", str(spec), "--out", str(out), "--max-runs", "10", "--workers", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("plan: 12 runs (1 parameter sets x 12 seeds) in 1 chunks on 1 process(es); about ")
    assert "12 runs is over --max-runs 10; add --yes to run it anyway" in err and not out.exists()
    monkeypatch.setattr("sim.cli._available_memory", lambda: 1000.0)
    assert main(["sweep", str(spec), "--out", str(out), "--quiet"]) == 2
    assert "the estimated memory is over the 0.0 GB available" in capsys.readouterr().err and not out.exists()
    assert main(["sweep", str(spec), "--out", str(out), "--max-runs", "10", "--yes", "--quiet"]) == 0
    assert len(load_results(out)) == 12


def test_workers_are_capped_at_the_chunks_to_run(monkeypatch):
    """One chunk: no helper process is started, whatever --workers says."""

    def no_pool(workers):
        raise AssertionError(f"a pool of {workers} helpers was started for one chunk")

    monkeypatch.setattr("sim.sweeps._local_pool", no_pool)
    assert len(sweep(small_spec(outputs={"chunk_size": 100}), workers=8)) == 20
    with pytest.raises(ParameterError, match="workers: 300 is not allowed; a whole number from 1 to 256"):
        sweep(small_spec(), workers=300)
