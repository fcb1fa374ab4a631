"""Scenario discovery: the outcome parser, PRIM and CART on a planted box, `aisim discover` on a real
sweep, and a sweep spec's design as a SALib problem."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim import ParameterError
from sim.cli import main
from sim.discover import discover, parse_outcome, read_sweep, report, write_figure
from sim.sensitivity import salib_problem

MEASURES = ["llm_spend_share", "final_hhi", "first_breakthrough_step"]

# --- the outcome parser ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("llm_spend_share", "expected one of > >= < <= ==, found the end"),
        ("llm_spend_share >", "expected a number, found the end"),
        ("llm_spend_share >> 0.9", "expected a number, found '>' at position 18"),
        ("llm_spend_share != 0.9", "unexpected '!' at position 17"),
        ("llm_spend_share > high", "expected a number, found 'high' at position 19"),
        ("happiness > 1", "unknown measure 'happiness'; this sweep's measures: llm_spend_share, final_hhi"),
        ("0.9 < llm_spend_share", "expected a measure name, found '0.9' at position 1"),
        ("llm_spend_share > 0.9 and", "expected a measure name, found the end"),
        ("llm_spend_share > 0.9 and or final_hhi < 1", "expected a measure name, found 'or'"),
        ("(llm_spend_share > 0.9", "expected ')', found the end"),
        ("llm_spend_share > 0.9)", "unexpected ')' after a complete condition"),
        ("llm_spend_share > 0.9 final_hhi < 1", "unexpected 'final_hhi' after a complete condition"),
        ("__import__('os').system('rm -rf /')", 'unexpected "\'" at position 12'),
        ("llm_spend_share > 0.9; final_hhi < 1", "unexpected ';' at position 22"),
    ],
)
def test_bad_outcomes_are_refused_naming_the_expression_and_the_grammar(text, problem):
    with pytest.raises(ParameterError) as error:
        parse_outcome(text, MEASURES)
    message = str(error.value)
    assert message.startswith(f"--outcome {text!r}: ")
    assert problem in message
    assert "write MEASURE OP NUMBER with OP one of > >= < <= ==, joined with 'and' / 'or'" in message


def test_outcomes_evaluate_with_and_before_or_and_nan_as_false():
    table = pd.DataFrame(
        {
            "llm_spend_share": [0.95, 0.95, 0.5, 0.5, np.nan],
            "final_hhi": [1000, 3000, 1000, 3000, 1000],
            "first_breakthrough_step": [np.nan, 10, 10, np.nan, 10],
        }
    )
    holds = parse_outcome(
        "llm_spend_share >= 0.95 and final_hhi < 2000 or first_breakthrough_step <= 10 and final_hhi == 3000",
        MEASURES,
    ).holds(table)
    assert list(holds) == [True, True, False, False, False]
    grouped = parse_outcome("llm_spend_share > 0.9 and (final_hhi < 2e3 or first_breakthrough_step < 11)", MEASURES)
    assert list(grouped.holds(table)) == [True, True, False, False, False]
    assert str(grouped) == "llm_spend_share > 0.9 and (final_hhi < 2000 or first_breakthrough_step < 11)"
    never = parse_outcome("first_breakthrough_step > -1", MEASURES).holds(table)
    assert list(never) == [False, True, True, False, True]  # "never" (NaN) is not > -1


# --- PRIM and CART find a planted box -----------------------------------------------------------

PLANTED = {"firms.Meta-like.rivalry": (2.0, 5.0), "environment.llm_ceiling": (3.0, 4.5)}


def planted_sweep(folder, runs=2000, noise=0.03, failed=40):
    """A results folder laid out as `aisim sweep` writes it (manifest, a runs chunk) for a random design
    over three parameters: the measure is high inside the planted box (a few runs flipped), and the
    first ``failed`` runs failed."""
    rng = np.random.default_rng(7)
    rivalry = rng.uniform(0, 10, runs)
    ceiling = rng.uniform(1.3, 6.0, runs)
    sunk = rng.uniform(0, 3, runs)
    inside = (rivalry >= 2) & (rivalry <= 5) & (ceiling >= 3) & (ceiling <= 4.5)
    inside ^= rng.random(runs) < noise
    status = np.where(np.arange(runs) < failed, "failed", "ok")
    table = pd.DataFrame(
        {
            "run_id": np.arange(runs),
            "set_id": np.arange(runs),
            "seed": np.zeros(runs, dtype=int),
            "firms__Meta_like__rivalry": rivalry,
            "environment__llm_ceiling": ceiling,
            "drivers__sunk_cost": sunk,
            "status": status,
            "error": np.where(status == "ok", None, "sweep run: invalid"),
            "llm_spend_share": np.where(status == "ok", np.where(inside, 0.97, 0.8), np.nan),
            "Meta_like__pivot_step": np.where(inside, 12.0, np.nan),
        }
    )
    (folder / "runs").mkdir(parents=True)
    table.to_parquet(folder / "runs" / "chunk-000000.parquet")
    spec = {"parameters": {name: {} for name in ["firms.Meta-like.rivalry", "environment.llm_ceiling"]}}
    spec["parameters"]["drivers.sunk_cost"] = {}
    (folder / "manifest.json").write_text(json.dumps({"spec": spec, "status": "complete", "runs": runs}))
    return folder


def test_prim_and_cart_find_a_planted_box(tmp_path):
    cases = read_sweep(planted_sweep(tmp_path / "sweep"))
    assert list(cases.inputs) == ["firms.Meta-like.rivalry", "environment.llm_ceiling", "drivers.sunk_cost"]
    assert cases.notes == ["40 of 2,000 runs failed (status 'failed') and are left out"]
    assert len(cases.table) == 1960 and "Meta_like__pivot_step" in cases.measures
    hits = parse_outcome("llm_spend_share > 0.9", cases.measures).holds(cases.table)
    found = discover(cases.inputs, hits, "llm_spend_share > 0.9")
    box = found.boxes[0]
    limits = {limit.parameter: (limit.low, limit.high) for limit in box.limits}
    assert set(limits) == set(PLANTED)  # the irrelevant parameter is left free
    for name, (low, high) in PLANTED.items():
        span = found.ranges[name][1] - found.ranges[name][0]
        assert limits[name][0] == pytest.approx(low, abs=0.05 * span), name
        assert limits[name][1] == pytest.approx(high, abs=0.05 * span), name
    assert box.density >= 0.85 and box.coverage >= 0.8
    for limit in box.limits:  # every restricted end is significant
        assert all(qp is not None and qp < 1e-3 for qp in (limit.qp_low, limit.qp_high)), limit
    best = found.rules[0]
    assert best.density >= 0.85 and best.coverage >= 0.8
    assert not any("drivers.sunk_cost" in condition for condition in best.conditions)
    text = report(found)
    assert "PRIM box 1: coverage" in text and "firms.Meta-like.rivalry" in text and "CART rules" in text


def test_no_box_when_the_outcome_is_everywhere_or_nowhere(tmp_path):
    cases = read_sweep(planted_sweep(tmp_path / "sweep", failed=0))
    for condition in ("llm_spend_share > 0", "llm_spend_share > 1"):
        found = discover(cases.inputs, parse_outcome(condition, cases.measures).holds(cases.table), condition)
        assert not found.boxes and not found.rules and "no box or rule to find" in report(found)
    with pytest.raises(ParameterError, match="PRIM found no box"):
        write_figure(found, tmp_path / "figure.png")


def test_a_density_no_box_reaches_is_reported(tmp_path):
    cases = read_sweep(planted_sweep(tmp_path / "sweep", noise=0.2))
    hits = parse_outcome("llm_spend_share > 0.9", cases.measures).holds(cases.table)
    found = discover(cases.inputs, hits, "noisy", min_density=0.99)
    assert not found.boxes and "PRIM: no box reaches density 0.99" in found.notes[0]
    with pytest.raises(ParameterError, match="--mass-min must be between 0 and 1"):
        discover(cases.inputs, hits, mass_min=0)


def test_a_folder_that_is_not_a_sweep_is_refused(tmp_path):
    with pytest.raises(ParameterError, match="no such folder"):
        read_sweep(tmp_path / "missing")
    with pytest.raises(ParameterError, match=r"no manifest\.json; not a sweep's results folder"):
        read_sweep(tmp_path)
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(ParameterError, match=r"manifest\.json: not a readable sweep manifest"):
        read_sweep(tmp_path)
    sweep = planted_sweep(tmp_path / "sweep")
    (sweep / "manifest.json").write_text(json.dumps({"spec": {"parameters": {"drivers.scaling_optimism": {}}}}))
    with pytest.raises(ParameterError, match=r"lacks the columns of parameters drivers__scaling_optimism \(drivers"):
        read_sweep(sweep)


# --- the command on a real sweep ----------------------------------------------------------------


def test_discover_prints_boxes_and_rules_of_a_real_sweep(tmp_path, capsys):
    out = tmp_path / "quick"
    assert main(["sweep", "quick", "--out", str(out), "--workers", "1", "--quiet"]) == 0
    capsys.readouterr()
    figure = tmp_path / "discovery.png"
    assert main(["discover", str(out), "--outcome", "llm_spend_share > 0.9", "--figure", str(figure)]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("outcome: llm_spend_share > 0.9: holds in ")
    assert "PRIM box 1: coverage" in printed and "drivers.sunk_cost" in printed and "qp low end" in printed
    assert "CART rules" in printed and f"wrote {figure}" in printed
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    documented = (Path(__file__).resolve().parent.parent / "docs" / "SWEEPS.md").read_text()
    assert printed.split("\nwrote ")[0] in documented  # docs/SWEEPS.md shows this very output
    assert main(["discover", str(out), "--outcome", "llm_spend_share => 0.9"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("aisim: error: --outcome 'llm_spend_share => 0.9': unexpected '=' at position 17")
    assert main(["discover", str(out), "--outcome", "llm_spend_share > 0.9", "--figure", str(tmp_path / "f.pdf")]) == 2
    assert "f.pdf: output must end in .png" in capsys.readouterr().err


def test_the_sim_core_does_not_import_plotting_or_the_workbench():
    code = (
        "import sys, sim, sim.cli, sim.discover, sim.sweeps, sim.sensitivity\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('matplotlib', 'ema_workbench', 'sklearn'))\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --- a sweep spec's design for SALib ------------------------------------------------------------


def test_salib_problem_of_a_sweep_spec():
    assert salib_problem("quick") == {
        "num_vars": 2,
        "names": ["environment.llm_ceiling", "drivers.sunk_cost"],
        "bounds": [[1.3, 5.0], [0.0, 3.0]],
        "dists": ["unif", "unif"],
    }
    spec = {
        "design": "lhs",
        "samples": 8,
        "parameters": {
            "environment.wm_difficulty": {"distribution": "loguniform", "low": 60, "high": 400},
            "firms.*.entry_step": {"distribution": "integer", "low": 0, "high": 4},
        },
    }
    problem = salib_problem(spec)
    assert problem["bounds"] == [[60.0, 400.0], [0.0, 5.0]] and problem["dists"] == ["logunif", "unif"]
    from SALib.sample import sobol

    points = sobol.sample(problem, 16, calc_second_order=False, seed=0)
    assert points[:, 0].min() >= 60 and points[:, 0].max() <= 400
    assert set(np.floor(points[:, 1]).astype(int)) <= {0, 1, 2, 3, 4}


def test_salib_problem_refuses_a_single_value():
    with pytest.raises(ParameterError, match=r"parameters.drivers.sunk_cost: values \[1.0\] are not a numeric range"):
        salib_problem({"parameters": {"drivers.sunk_cost": {"values": [1.0]}}})
