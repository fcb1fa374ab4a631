"""The `aisim` command line: run scenarios and look up parameters."""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import signal
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pandas as pd

from sim import __version__
from sim.files import write_atomically
from sim.params import Claim, Drivers, Environment, FirmTraits, ParameterError, Scenario, describe_field, field_bounds
from sim.scenarios import load_scenario, resolve, scenario_names

EPILOG = """examples:
  aisim scenarios
  aisim show sunk_cost_trap
  aisim run baseline
  aisim run baseline --seed 7 --set environment.llm_ceiling=1.3 --set drivers.sunk_cost=0
  aisim run scenarios/baseline.toml --steps 20 --out runs/baseline.parquet
  aisim check-claims lecun_is_right
  aisim calibrate
  aisim validate --out docs/VALIDATION.md
  aisim sweep scenarios/sweeps/quick.toml --out runs/quick
  aisim explain baseline --seeds 50
  aisim sensitivity scenarios/sweeps/sensitivity.toml --method morris
  aisim discover runs/quick --outcome "llm_spend_share > 0.9" --figure discovery.png
  aisim params
"""


class CommandError(Exception):
    """A user error the command line reports in one line, without a traceback."""


DEFAULT_MAX_RUNS = 1_000_000  # aisim sweep refuses bigger plans unless --yes
MAX_SEED_COUNT = 100_000  # --seeds of check-claims, explain and calibrate, as a claim's seeds


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for `aisim` and its subcommands."""
    parser = argparse.ArgumentParser(
        prog="aisim",
        description=(
            "Agent-based simulation of Big Tech AI investment: each quarter, every firm splits its "
            "AI budget between scaling LLMs and world-model research."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"aisim {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser(
        "run",
        help="run one scenario and print a summary",
        description="Run one scenario for one seed, print per-firm and per-run summaries, and "
        "optionally write the per-firm, per-quarter table.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Names for --set: environment.FIELD, drivers.FIELD, a bare environment or driver "
        "field, or firms.NAME.TRAIT / firms.INDEX.TRAIT / firms.*.TRAIT.\n"
        "`aisim params` lists every field with its unit, range and meaning.",
    )
    run.add_argument("scenario", metavar="SCENARIO", help="a scenario name (see `aisim scenarios`) or a .toml file")
    run.add_argument(
        "--seed", type=_seed, default=None, help="random seed, 0 to 2^63-1 (default: a fresh one, printed)"
    )
    run.add_argument(
        "--steps", type=_quarters, default=None, help="quarters to run, 1 to 200 (default: the scenario's)"
    )
    run.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a parameter (repeatable), e.g. drivers.sunk_cost=0",
    )
    run.add_argument("--out", type=Path, default=None, help="write the per-firm, per-quarter table (.csv or .parquet)")
    run.add_argument(
        "--market-out", type=Path, default=None, help="write the per-quarter market table (.csv or .parquet)"
    )
    run.add_argument(
        "--yearly-out",
        type=Path,
        default=None,
        help="write the yearly frontier training run table: compute, cost, energy, power (.csv or .parquet)",
    )
    _add_code_policy_option(run)

    sub.add_parser("scenarios", help="list the scenario library", description="List scenario names and titles.")
    sub.add_parser(
        "policies",
        help="list the firm policies a scenario may name",
        description="List the decision policies (policy = NAME for a firm; docs/STRATEGIES.md), the "
        "bundled tournaments, and the measures tournaments and sweeps report.",
    )

    show = sub.add_parser(
        "show",
        help="show a scenario's story, question, claims and what differs from the baseline",
        description="Print a scenario's story, question, what to watch, its claims and the parameters "
        "that differ from the baseline.",
    )
    show.add_argument("scenario", metavar="SCENARIO", help="a scenario name or a .toml file")

    claims = sub.add_parser(
        "check-claims",
        help="check scenario claims over many seeds",
        description="Run each claim of the named scenarios (default: all) over its seeds and print the "
        "share of seeds on which it held. Exit code 1 if any claim fails.",
    )
    claims.add_argument("scenarios", metavar="SCENARIO", nargs="*", help="scenario names or files (default: all)")
    claims.add_argument(
        "--seeds", type=_seed_count, default=None, help="override every claim's number of seeds (1 to 100,000)"
    )

    calibrate = sub.add_parser(
        "calibrate",
        help="compare the baseline with published figures: inputs, calibration and validation targets",
        description="Median over 100 seeds of the baseline against each published figure, with its range. "
        "Calibration targets set parameters; validation targets did not and are checked afterwards.",
    )
    calibrate.add_argument("--markdown", action="store_true", help="print the Markdown table (docs/MODEL.md)")
    calibrate.add_argument("--seeds", type=_seed_count, default=100, help="number of seeds, 1 to 100,000 (default 100)")
    calibrate.add_argument(
        "--fit",
        metavar="SPEC",
        type=Path,
        default=None,
        help="fit free parameters to calibration targets (a fit spec, e.g. scenarios/calibration/baseline_fit.toml)",
    )
    calibrate.add_argument(
        "--write", action="store_true", help="with --fit: write the fitted values into the spec's scenario file"
    )

    validate = sub.add_parser(
        "validate",
        help="one report: targets, claims against their placebos, stylised facts (docs/VALIDATION.md)",
        description="Measure the baseline against its inputs, calibration and validation targets, check "
        "every claim with its placebo and every stylised fact, and write a Markdown report. Exit 1 when a "
        "claim fails or a stylised fact is violated; unmet targets are reported, not failures.",
    )
    validate.add_argument(
        "scenarios", metavar="SCENARIO", nargs="*", help="scenarios for claims and facts (default: all)"
    )
    validate.add_argument("--out", type=Path, default=None, help="write the report here (.md) instead of printing it")

    sweep = sub.add_parser(
        "sweep",
        help="run a batch sweep from a spec file (parallel, resumable, Parquet results)",
        description="Run every parameter set and seed of a sweep spec in lockstep chunks, write the "
        "results to OUT as Parquet as chunks finish, and print a summary. See docs/SWEEPS.md.",
    )
    sweep.add_argument(
        "spec", metavar="SPEC", help="a sweep spec file (TOML), or the name of a bundled one: quick, drivers_lhs, ..."
    )
    sweep.add_argument("--out", type=Path, required=True, help="results folder (new, or to resume)")
    _add_run_options(sweep)
    _add_code_policy_option(sweep)
    sweep.add_argument("--scheduler", metavar="ADDRESS", help="run on a Dask cluster, e.g. tcp://10.0.0.5:8786")
    sweep.add_argument("--resume", action="store_true", help="finish an interrupted sweep in OUT")
    sweep.add_argument(
        "--max-runs",
        type=_positive_int,
        default=DEFAULT_MAX_RUNS,
        help=f"refuse plans of more runs than this unless --yes (default {DEFAULT_MAX_RUNS:,})",
    )
    sweep.add_argument(
        "--yes", action="store_true", help="run a plan over --max-runs or over the memory available anyway"
    )

    explain = sub.add_parser(
        "explain",
        help="attribute a scenario's outcome to the drivers",
        description="Which driver holds each firm on the LLM path, and by how much? Prints each firm's "
        "mean decision terms, then the change in key outcomes when each driver (and all of them) is "
        "switched off, paired over the same seeds. See docs/EXPLAIN.md.",
    )
    explain.add_argument("scenario", metavar="SCENARIO", help="a scenario name or a .toml file")
    explain.add_argument(
        "--seeds", type=_seed_count, default=100, help="number of seeds, 0..N-1, N up to 100,000 (default 100)"
    )
    explain.add_argument("--out", type=Path, help="write the counterfactual table (.csv)")
    explain.add_argument("--terms-out", type=Path, help="write the per-firm decision-term table (.csv)")

    sensitivity = sub.add_parser(
        "sensitivity",
        help="global sensitivity analysis (Sobol or Morris) over a sweep spec's ranges",
        description="Sample the parameter ranges a sweep spec declares (each needs a distribution with "
        "low and high), run every point over the spec's seeds, and print Sobol first-order and total "
        "indices or Morris mu*/sigma, with confidence intervals, for each outcome measure.",
    )
    sensitivity.add_argument("spec", metavar="SPEC", help="a sweep spec, e.g. scenarios/sweeps/sensitivity.toml")
    sensitivity.add_argument("--method", choices=["sobol", "morris"], default="sobol", help="default: sobol")
    sensitivity.add_argument(
        "--samples", type=_positive_int, help="base samples (Sobol) or trajectories (Morris); default: the spec's"
    )
    sensitivity.add_argument("--out", type=Path, help="write the indices (.csv)")
    _add_run_options(sensitivity)

    discover = sub.add_parser(
        "discover",
        help="scenario discovery on a finished sweep: the parameter ranges where an outcome holds (PRIM, CART)",
        description="Read a sweep's results folder, mark the runs where --outcome holds, and print the "
        "parameter boxes PRIM finds (ranges, coverage, density, quasi-p values) and CART's rules. Each run "
        "is a case; failed runs are left out. Needs the EMA Workbench: pip install 'ai-race-sim[ema]'. "
        "See docs/SWEEPS.md.",
    )
    discover.add_argument("folder", metavar="SWEEP_DIR", type=Path, help="the --out folder of `aisim sweep`")
    discover.add_argument(
        "--outcome",
        required=True,
        metavar="EXPR",
        help="MEASURE OP NUMBER (OP: > >= < <= ==), joined with and / or, e.g. 'llm_spend_share > 0.9'",
    )
    discover.add_argument("--figure", type=Path, metavar="FILE.png", help="draw the first box and its trajectory")
    discover.add_argument(
        "--boxes", type=_positive_int, default=3, help="most PRIM boxes to find, one after another (default 3)"
    )
    discover.add_argument(
        "--min-density", type=float, default=0.8, help="density a PRIM box must reach, above 0, at most 1 (default 0.8)"
    )
    discover.add_argument(
        "--mass-min", type=float, default=0.05, help="smallest share of runs in a box or leaf (default 0.05)"
    )

    tournament = sub.add_parser(
        "tournament",
        help="rank firm policies: each takes a firm's seat in turn, across scenarios and seeds",
        description="Run every assignment of a tournament spec's policies to its firm slots, in every "
        "scenario with every seed (through the batch engine; the same seeds for every policy), and rank "
        "the policies by the slot firm's final market share, AI profit, survival and spend in the big "
        "muddy, each with a 95 percent interval and its paired difference to the first policy listed, "
        "then each policy's final share in each scenario. See docs/STRATEGIES.md.",
    )
    tournament.add_argument(
        "spec", metavar="SPEC", help="a tournament spec (TOML), or the name of a bundled one: strategies"
    )
    tournament.add_argument("--out", type=Path, help="write every run's outcomes (.csv or .parquet)")
    _add_run_options(tournament)
    _add_code_policy_option(tournament)

    ui = sub.add_parser(
        "ui",
        help="serve the browser UI (http://127.0.0.1:8765 by default)",
        description="Serve the browser UI. It binds to this machine only unless --host says otherwise; on "
        "another address every browser needs the access token it prints.",
    )
    _add_server_options(ui)

    classroom = sub.add_parser(
        "class",
        help="serve class mode: every student runs a firm from their own browser",
        description="Start (or resume) a class session and serve it with the browser UI. Students open the "
        "join link it prints and type the class code; the teacher's link holds the controls. It listens on "
        "this machine only unless you say --host 0.0.0.0 (your school network). Sessions are saved after "
        "every change: started again after a crash, it resumes the unfinished one.",
    )
    classroom.add_argument("scenario", nargs="?", default="baseline", help="scenario name or file (default baseline)")
    classroom.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    classroom.add_argument("--quarters", type=int, help="quarters the class plays (default: to the scenario's end)")
    classroom.add_argument("--quarter-seconds", type=float, default=90.0, help="time for each quarter (default 90)")
    classroom.add_argument(
        "--start-quarter",
        type=int,
        default=0,
        help="let the model's own firms play this many quarters first, so the class takes over later in the story "
        "(default 0; e.g. 12 starts in 2028)",
    )
    classroom.add_argument("--folder", help="where sessions are saved (default ./aisim-classes)")
    classroom.add_argument("--new", action="store_true", help="start a new session even if one is unfinished")
    _add_server_options(classroom)

    params = sub.add_parser(
        "params",
        help="list every parameter with its unit, range and meaning",
        description="List every environment field, driver strength and firm trait.",
    )
    params.add_argument("--markdown", action="store_true", help="print Markdown tables (docs/PARAMETERS.md)")
    return parser


def _add_server_options(parser: argparse.ArgumentParser) -> None:
    """The browser server's options (`aisim ui`, `aisim class`)."""
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    parser.add_argument("--token", help="access token (default $AISIM_UI_TOKEN, or a new one off this machine)")
    parser.add_argument("--allow-host", action="append", default=[], metavar="NAME", help="another name clients use")
    parser.add_argument(
        "--assets",
        metavar="DIR",
        help="the folder of the browser's front-end files (default $AISIM_UI_ASSETS, or one in this environment); "
        "what is missing is downloaded into it at start",
    )
    parser.add_argument("--max-sessions", help="most browser sessions at once (default 200)")
    parser.add_argument("--idle-minutes", help="close a session idle this long (default 60)")


def _add_code_policy_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--allow-code-policies",
        action="store_true",
        help='let the scenario name firm policies in code (policy = "module:Class"), which imports that module; '
        "off by default, so that a scenario file never runs code by itself",
    )


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    """--workers and --quiet, for commands that run many simulations."""
    parser.add_argument(
        "--workers",
        type=_worker_count,
        default=os.cpu_count() or 1,
        help="processes to run on: this one and N-1 forked helpers (default: cores)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def _quarters(text: str) -> int:
    """A run length: a whole number of quarters within the bounds scenario files have."""
    value = _positive_int(text)
    _, most = field_bounds(Environment, "steps")
    if value > most:
        raise argparse.ArgumentTypeError(f"at most {most:g} quarters (50 years), as in scenario files; got {value}")
    return value


def _positive_int(text: str) -> int:
    """A whole number >= 1, in ASCII digits (int() would also take other scripts' digits)."""
    digits = text.strip().replace("_", "")
    if not (digits.isascii() and digits.lstrip("+-").isdigit()):
        raise argparse.ArgumentTypeError(f"expected a whole number, got '{text}'")
    value = int(digits)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _seed(text: str) -> int:
    """A seed in ASCII digits, within the one rule for seeds (`sim.noise.check_seed`)."""
    from sim.noise import check_seed
    from sim.params import MAX_SEED

    digits = text.strip()
    try:
        return check_seed(int(digits) if digits.isascii() and digits.isdigit() else None)
    except ParameterError:
        raise argparse.ArgumentTypeError(
            f"expected a whole number from 0 to {MAX_SEED} (2^63 - 1), got '{text}'"
        ) from None


def _seed_count(text: str) -> int:
    """How many seeds a command runs: 1 to MAX_SEED_COUNT (as a claim's ``seeds``)."""
    value = _positive_int(text)
    if value > MAX_SEED_COUNT:
        raise argparse.ArgumentTypeError(f"at most {MAX_SEED_COUNT:,} seeds; got {value:,}")
    return value


def _worker_count(text: str) -> int:
    from sim.sweeps import MAX_WORKERS

    value = _positive_int(text)
    if value > MAX_WORKERS:
        raise argparse.ArgumentTypeError(f"at most {MAX_WORKERS} processes; got {value}")
    return value


def _refuse_nonfinite(history: list) -> None:
    """A run whose state holds NaN or infinity is refused before anything is printed or written."""
    from sim.ensemble import nonfinite_runs

    bad = next((t for t, state in enumerate(history) if nonfinite_runs(state)), None)
    if bad is not None:
        raise CommandError(
            f"the run produced non-finite values (NaN or infinity) in quarter {bad}: these parameters are beyond "
            "what the model can compute; nothing was written"
        )


def command_run(args: argparse.Namespace) -> None:
    """`aisim run`: run a scenario, print summaries, write tables."""
    from sim.model import AIRaceModel
    from sim.outputs import frontier_training_table

    for path in (args.out, args.market_out, args.yearly_out):
        if path is not None:
            _check_output_path(path)
    scenario = load_scenario(args.scenario, args.overrides)
    model = AIRaceModel(scenario, rng=args.seed, steps=args.steps).run()
    _refuse_nonfinite(model.history)
    table = model.firm_dataframe()
    first, last = table.quarter.iloc[[0, -1]]
    print(f"{scenario.title or scenario.name}: seed {model.seed}, {model.quarter} quarters ({first} to {last})\n")
    summary = model.firm_summary()
    columns = [
        "firm",
        "mean_x",
        "pivot_step",
        "breakthrough_step",
        "big_muddy_spend",
        "final_share",
        "final_cash",
        "alive",
    ]
    policies = [firm.policy for firm in model.config.firms]
    if any(policy != "biased" for policy in policies):  # say which firms decided by another policy
        summary = summary.assign(policy=policies)
        columns.insert(1, "policy")
    print(summary[columns].to_string(index=False, float_format=lambda v: f"{v:,.2f}"))
    print()
    for name, value in model.summary().items():
        print(f"  {name:<26} {value:,.3f}")
    yearly = frontier_training_table(table, scenario.environment)  # from the table already built
    print("\nFrontier training run per year (the firm whose final runs used most compute):")
    print(
        yearly.to_string(
            index=False,
            formatters={
                "training_compute_flop": "{:.2e}".format,
                "training_cost": "${:,.2f}B".format,
                "training_energy_gwh": "{:,.0f}".format,
                "training_power_mw": "{:,.0f}".format,
            },
        )
    )
    if args.out is not None:
        _write_table(table, args.out)
        print(f"\nwrote {len(table)} rows to {args.out}")
    if args.market_out is not None:
        _write_table(model.market_dataframe(), args.market_out)
        print(f"wrote {model.quarter} rows to {args.market_out}")
    if args.yearly_out is not None:
        _write_table(yearly, args.yearly_out)
        print(f"wrote {len(yearly)} rows to {args.yearly_out}")


def command_scenarios(_: argparse.Namespace) -> None:
    """`aisim scenarios`: names and titles of the scenario library."""
    names = scenario_names()
    width = max(len(n) for n in names)
    for name in names:
        print(f"{name:<{width}}  {load_scenario(name).title}")


def command_policies(_: argparse.Namespace) -> None:
    """`aisim policies`: the policies a firm may follow, the bundled tournaments and the measures."""
    from sim.policies import POLICIES
    from sim.tournament import tournament_names
    from sim.variables import FIRM_MEASURES, RUN_MEASURES

    width = max(len(name) for name in POLICIES)
    print(
        "Policies (policy = NAME for a firm, or --set firms.NAME.policy=NAME; module:Class with --allow-code-policies):"
    )
    for name, (_, line) in POLICIES.items():
        print(f"  {name:<{width}}  {line}")
    print(f"\nBundled tournaments (aisim tournament NAME): {', '.join(tournament_names())}")
    for title, measures in (("Firm measures", FIRM_MEASURES), ("Run measures", RUN_MEASURES)):
        print(f"\n{title} (sweep outputs):")
        for name, (unit, description) in measures.items():
            print(f"  {name} [{unit}]: {description}")


def command_show(args: argparse.Namespace) -> None:
    """`aisim show`: a scenario's story, question, watch, claims, try-next steps and differences from the baseline."""
    scenario = load_scenario(args.scenario)
    print(f"{scenario.name}: {scenario.title}\n")
    for label, text in (("Story", scenario.story), ("Question", scenario.question), ("Watch", scenario.watch)):
        if text.strip():
            print(f"{label}:\n  " + "\n  ".join(textwrap.wrap(" ".join(text.split()), 88)) + "\n")
    print("Claims:" if scenario.claims else "Claims: none")
    for claim in scenario.claims:
        print(f"  - {claim.text}\n    {describe_claim(claim)}")
    print("\nTry next:" if scenario.try_next else "\nTry next: none")
    for step in scenario.try_next:
        settings = " ".join(f"--set {shlex.quote(f'{k}={v}')}" for k, v in step.set.items())
        print(f"  - {step.text}\n    aisim run {shlex.quote(args.scenario)} {settings}")
    print("\nDifferences from the baseline:")
    differences = scenario_differences(load_scenario("baseline"), scenario)
    print("  " + "\n  ".join(differences) if differences else "  none")


def describe_claim(claim: Claim) -> str:
    """A claim's test in one line: metric, comparison, reference, seeds, required share and placebo."""
    if claim.value is not None:
        against = f"{claim.value:g}"
    elif claim.counterfactual is not None:
        against = "the same with " + _assignments(claim.counterfactual)
    else:
        against = f"scenario {claim.reference}"
    margin = f" by at least {claim.margin:g}" if claim.margin else ""
    return (
        f"{claim.metric} {claim.compare} than {against}{margin}, on >= {claim.required_share:.0%} of "
        f"{claim.seeds} seeds (from seed {claim.first_seed}); placebo: {_assignments(claim.placebo)}"
    )


def _assignments(overrides: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in overrides.items())


def scenario_differences(base: Scenario, other: Scenario) -> list[str]:
    """Lines naming every parameter of ``other`` that differs from ``base``."""
    lines = []
    for group in ("environment", "drivers"):
        ours, theirs = getattr(base, group).model_dump(), getattr(other, group).model_dump()
        lines += [f"{group}.{k} = {theirs[k]} (baseline {ours[k]})" for k in ours if ours[k] != theirs[k]]
    base_firms = {f.name: f.model_dump() for f in base.firms}
    for firm in other.firms:
        traits = firm.model_dump()
        if firm.name not in base_firms:
            lines.append(f"firm {firm.name} added")
            continue
        reference = base_firms[firm.name]
        lines += [
            f"firms.{firm.name}.{k} = {traits[k]} (baseline {reference[k]})"
            for k in traits
            if traits[k] != reference[k]
        ]
    other_names = {f.name for f in other.firms}
    lines += [f"firm {name} removed" for name in base_firms if name not in other_names]
    return lines


def command_check_claims(args: argparse.Namespace) -> int:
    """`aisim check-claims`: every claim over its seeds and under its placebo, as a table; exit 1 when one fails."""
    from sim.claims import PLACEBO_MAX_SHARE, ClaimError, check_claim

    names = args.scenarios or scenario_names()
    rows = []
    for name in names:
        scenario = load_scenario(name, check_claims=True)
        for claim in scenario.claims:
            if args.seeds is not None:
                claim = Claim.model_validate({**claim.model_dump(), "seeds": args.seeds})
            try:
                result = check_claim(scenario, claim)
            except ClaimError as err:
                raise CommandError(str(err)) from None
            low, high = result.interval
            rows.append(
                {
                    "scenario": scenario.name,
                    "claim": textwrap.shorten(claim.text, 60),
                    "held": f"{result.share:.0%}",
                    "95% CI": f"{low:.0%}-{high:.0%}",
                    "required": f">={claim.required_share:.0%}",
                    "placebo": result.placebo_note,
                    "seeds": claim.seeds,
                    "verdict": "PASS" if result.passed else "FAIL",
                }
            )
    if not rows:
        raise CommandError(f"no claims in {', '.join(names)}")
    table = pd.DataFrame(rows)
    print(table.to_string(index=False, formatters={"claim": lambda text: text.ljust(60)}))
    failed = int((table.verdict == "FAIL").sum())
    print(
        f"\n{len(table) - failed} passed, {failed} failed (a claim passes when it holds on at least its required "
        f"share of seeds and, with its mechanism switched off (placebo), on under {PLACEBO_MAX_SHARE:.0%}; "
        "'undefined': the placebo left the metric without a value, e.g. no world-model product to measure from; "
        "'tied': both sides came out equal, the placebo cut the only channel; the 95% interval is for information)"
    )
    return 1 if failed else 0


def command_calibrate(args: argparse.Namespace) -> None:
    """`aisim calibrate`: the baseline against published figures."""
    from sim.calibration import calibration_markdown, calibration_table

    if args.fit is not None:
        _fit(args.fit, args.write)
        return
    if args.write:
        raise CommandError("--write needs --fit SPEC")
    table = calibration_table("baseline", range(args.seeds))
    if args.markdown:
        print(calibration_markdown(table))
        return
    shown = table[["kind", "figure", "model", "range", "met"]].copy()
    shown["model"] = shown.model.map(lambda v: f"{v:.3g}")
    shown["met"] = shown.met.map(lambda met: "input" if met is None else ("yes" if met else "NO"))
    print(shown.to_string(index=False))
    for kind in ("calibration", "validation"):
        rows = table[table.kind == kind]
        print(f"{kind}: {int(rows.met.sum())} of {len(rows)} met", end="; " if kind == "calibration" else "\n")
    print("inputs hold by construction and are not counted; docs/VALIDATION.md says why each range and what misses")


def _fit(spec_path: Path, write: bool) -> None:
    """`aisim calibrate --fit`: fit, report parameters and residuals, and write only on request."""
    from sim.calibration import TARGETS
    from sim.fitting import fit, load_fit_spec, write_fitted

    spec, base, targets = load_fit_spec(spec_path)

    def progress(evaluations: int, score: float) -> None:
        if evaluations % 25 == 0:
            print(f"  {evaluations} candidates tried, objective {score:.4g}", file=sys.stderr, flush=True)

    print(
        f"fitting {len(spec.parameters)} parameters of {spec.scenario} to {len(targets)} calibration targets "
        f"({spec.seeds} seeds per candidate, at most {spec.max_evaluations} candidates)"
    )
    result = fit(spec, base, targets, progress)
    print(result.parameters.to_string(index=False, float_format=lambda v: f"{v:.6g}"))
    print()
    print(result.residuals.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(
        f"\nobjective (sum of squared standardised residuals; inside every range: under {len(targets)}): "
        f"{result.objective_start:.4g} at the start, {result.objective_fitted:.4g} fitted; "
        f"{result.evaluations} candidates, {'converged' if result.converged else 'stopped at the limit'}"
    )
    unused = [t.figure for t in TARGETS if t.kind == "validation"]
    print("not used by the fit (validation targets, out of sample): " + "; ".join(unused))
    if write:
        path = resolve(spec.scenario)
        changes = write_fitted(path, result.fitted)
        print(f"wrote {path}: " + "; ".join(changes))
        print("then regenerate what depends on it: make baseline docs")
    else:
        print("nothing written (add --write to put the fitted values into the scenario file)")


def command_validate(args: argparse.Namespace) -> int:
    """`aisim validate`: the validation report; exit 1 when a claim fails or a stylised fact is violated."""
    from sim.validation import FIGURES_DIR, validation_report

    if args.out is not None:
        _check_output_path(args.out, {".md"})
    from sim.claims import ClaimError

    try:
        report = validation_report(args.scenarios or None)
    except ClaimError as err:
        raise CommandError(str(err)) from None
    if args.out is None:
        print(report.text, end="")
    else:
        folder = args.out.parent / FIGURES_DIR
        folder.mkdir(exist_ok=True)
        for name, svg in report.figures.items():
            _write_text(svg, folder / name)
        _write_text(report.text, args.out)
        verdict = "every claim passed and every stylised fact held" if report.ok else "NOT all passed"
        print(f"wrote {args.out} and its figures in {folder}: {verdict}")
    return 0 if report.ok else 1


def _write_text(text: str, path: Path) -> None:
    """Write atomically, like `_write_table`."""
    try:
        write_atomically(path, lambda temporary: Path(temporary).write_text(text))
    except OSError as err:
        raise CommandError(f"{path}: cannot write: {err.strerror or err}") from None


def command_sweep(args: argparse.Namespace) -> int:
    """`aisim sweep`: run a sweep spec into a results folder."""
    from sim.sweeps import estimate, run_sweep
    from sim.tables import GLOBS, TABLES

    if args.scheduler is not None:
        _quiet_dask_logs()
    plan = estimate(args.spec, args.workers if args.scheduler is None else 1)
    if not args.quiet:
        print(plan.describe(), file=sys.stderr)
    available = _available_memory()
    too_big = [
        f"{plan.runs:,} runs is over --max-runs {args.max_runs:,}" if plan.runs > args.max_runs else "",
        f"the estimated memory is over the {available / 1e9:.1f} GB available" if plan.memory_bytes > available else "",
    ]
    if any(too_big) and not args.yes:
        raise CommandError(f"{args.spec}: {'; '.join(r for r in too_big if r)}; add --yes to run it anyway")
    try:
        report = run_sweep(
            args.spec,
            args.out,
            workers=args.workers,
            scheduler=args.scheduler,
            resume=args.resume,
            progress=not args.quiet,
        )
    except KeyboardInterrupt:
        print(f"\ninterrupted: finished chunks are kept in {args.out}; finish with --resume", file=sys.stderr)
        return 130
    except OSError as err:  # a full disk, a folder made read-only under the sweep
        name = f" {err.filename}" if err.filename else ""
        raise CommandError(
            f"{args.out}: cannot write{name}: {err.strerror or err}; finished chunks are kept: fix it, then --resume"
        ) from None
    rate = report.runs_run / report.seconds if report.seconds > 0 else float("inf")
    print(
        f"{report.runs} runs, {report.failed} failed; this time {report.runs_run} runs in {report.seconds:.1f} s "
        f"({rate:,.0f} runs/s), {report.chunks_skipped} chunks already done"
    )
    written = [table for table in TABLES if any((args.out / table).glob("*.parquet"))]
    print(f"results: {', '.join(str(args.out / GLOBS[t]) for t in written)}; manifest: {args.out / 'manifest.json'}")
    if report.failed:
        print(f"{report.failed} runs failed: their rows have status 'failed' and the error", file=sys.stderr)
    return 1 if report.failed else 0


def command_explain(args: argparse.Namespace) -> None:
    """`aisim explain`: decision terms per firm and counterfactual attribution."""
    from sim.explain import OUTCOMES, counterfactual_attribution, term_summary

    for path in (args.out, args.terms_out):
        if path is not None:
            _check_output_path(path, {".csv"})
    scenario = load_scenario(args.scenario)
    seeds = range(args.seeds)
    terms = term_summary(scenario, seeds)
    print(f"{scenario.title or scenario.name}: {args.seeds} seeds\n")
    others = [f"{firm.name} ({firm.policy})" for firm in scenario.firms if firm.policy != "biased"]
    if others:
        print(
            f"Not on the model's own rule: {', '.join(others)}. Their terms below are what that rule weighs, "
            "not what decided their allocation.\n"
        )
    print("Decision terms, mean over quarters and seeds (logit units; + pushes toward LLMs).")
    print("Effect on target: share points of LLM allocation the term adds, on average.\n")
    wide = terms.pivot(index="firm", columns="term", values="mean_logit").loc[[f.name for f in scenario.firms]]
    print(wide[list(dict.fromkeys(terms.term))].to_string(float_format=lambda v: f"{v:+.2f}"))
    effect = terms.pivot(index="firm", columns="term", values="mean_effect_on_target")
    effect = effect.loc[[f.name for f in scenario.firms], list(dict.fromkeys(terms.term))]
    print("\nEffect on the target share (share points):")
    print((100 * effect).to_string(float_format=lambda v: f"{v:+.1f}"))
    table = counterfactual_attribution(scenario, seeds)
    print("\nCounterfactuals: each driver switched off, same seeds; change = off minus on (median [5%, 95%]).\n")
    shown = table[table.outcome.isin(OUTCOMES)]
    lines = shown.assign(
        change=[
            f"{m:+.3g} [{lo:+.3g}, {hi:+.3g}]"
            for m, lo, hi in zip(shown.change_median, shown.change_p5, shown.change_p95, strict=True)
        ]
    ).pivot(index="switched_off", columns="outcome", values="change")
    print(lines.loc[list(dict.fromkeys(shown.switched_off))].to_string())
    if args.out is not None:
        _write_table(table, args.out)
        print(f"\nwrote {len(table)} rows to {args.out}")
    if args.terms_out is not None:
        _write_table(terms, args.terms_out)
        print(f"wrote {len(terms)} rows to {args.terms_out}")


def command_sensitivity(args: argparse.Namespace) -> None:
    """`aisim sensitivity`: Sobol or Morris indices over a sweep spec's ranges."""
    from sim.sensitivity import model_sensitivity

    if args.out is not None:
        _check_output_path(args.out, {".csv"})
    table = model_sensitivity(
        args.spec, method=args.method, samples=args.samples, workers=args.workers, progress=not args.quiet
    )
    for outcome, rows in table.groupby("outcome", sort=False):
        print(f"\n{outcome}")
        cells = rows.assign(cell=[_index_cell(v, c) for v, c in zip(rows.value, rows.conf, strict=True)])
        print(
            cells.pivot(index="parameter", columns="index", values="cell")
            .loc[list(dict.fromkeys(rows.parameter))]
            .to_string()
        )
    if args.out is not None:
        _write_table(table, args.out)
        print(f"\nwrote {len(table)} rows to {args.out}")


def command_discover(args: argparse.Namespace) -> None:
    """`aisim discover`: PRIM boxes and CART rules for an outcome of a finished sweep."""
    if args.figure is not None:
        _check_output_path(args.figure, {".png"})
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only, never a window (the EMA Workbench imports pyplot)
        from sim.discover import discover_sweep, report, write_figure
    except ImportError as err:
        raise CommandError(f"aisim discover needs the EMA Workbench ({err}): pip install 'ai-race-sim[ema]'") from None
    found = discover_sweep(args.folder, args.outcome, args.boxes, args.min_density, args.mass_min)
    print(report(found))
    if args.figure is not None:
        write_figure(found, args.figure)
        print(f"\nwrote {args.figure}")


def _index_cell(value: float, conf: float) -> str:
    return f"{value:.3f}" if np.isnan(conf) else f"{value:.3f} +- {conf:.3f}"


def command_class(args: argparse.Namespace) -> int:
    """`aisim class`: `aisim ui` with a class session started (or resumed) in it."""
    load_scenario(args.scenario)  # a wrong name fails here, in one line, before a server starts
    extra = ["--class", args.scenario, "--class-seed", str(args.seed), "--quarter-seconds", str(args.quarter_seconds)]
    if args.start_quarter:
        extra += ["--start-quarter", str(args.start_quarter)]
    if args.quarters is not None:
        extra += ["--class-quarters", str(args.quarters)]
    if args.folder is not None:
        extra += ["--class-folder", args.folder]
    if args.new:
        extra.append("--new-class")
    return command_ui(args, extra)


def command_ui(args: argparse.Namespace, extra: list[str] | None = None) -> int:
    """`aisim ui`: serve the Solara app in viz/ (run as its own process: the core never imports viz). The
    server gets SIGTERM when this process ends, however it ends: stopping `aisim ui` stops the server."""
    import functools
    import subprocess

    from sim.processes import die_with_parent

    command = [sys.executable, "-m", "viz", "--host", args.host, "--port", str(args.port), *(extra or [])]
    for option in ("token", "assets", "max_sessions", "idle_minutes"):  # given ones only: viz has the defaults
        if getattr(args, option) is not None:
            command += [f"--{option.replace('_', '-')}", getattr(args, option)]
    for name in args.allow_host:
        command += ["--allow-host", name]
    try:
        return subprocess.call(command, preexec_fn=functools.partial(die_with_parent, os.getpid(), signal.SIGTERM))
    except KeyboardInterrupt:
        return 0


PARAMETER_GROUPS = (
    ("Environment", Environment, "environment."),
    ("Drivers (0 switches a driver off)", Drivers, "drivers."),
    ("Firm traits (set per firm)", FirmTraits, "firms.NAME."),
)


def command_params(args: argparse.Namespace) -> None:
    """`aisim params`: every parameter with its description, unit and range."""
    print(parameters_markdown() if args.markdown else parameters_text())


def parameters_text() -> str:
    """Every parameter, its default and its description, as plain text."""
    lines = []
    for title, model, prefix in PARAMETER_GROUPS:
        lines.append(f"{title}:")
        for name, info in model.model_fields.items():
            default = "" if info.is_required() else f" = {info.default}"
            lines.append(f"  {prefix}{name}{default}\n      {describe_field(model, name)}")
        lines.append("")
    lines.append("Scenarios: " + ", ".join(scenario_names()))
    return "\n".join(lines)


def parameters_markdown() -> str:
    """Every parameter as Markdown tables: the generated docs/PARAMETERS.md."""
    lines = [
        "# Parameters",
        "",
        "Generated by `aisim params --markdown` from the parameter models in `sim/params.py`;",
        "a test fails when this file and the code disagree.",
    ]
    for title, model, prefix in PARAMETER_GROUPS:
        lines += ["", f"## {title}", "", "| name | default | unit | range | meaning |", "|---|---|---|---|---|"]
        for name, info in model.model_fields.items():
            lo, hi = field_bounds(model, name)
            unit = (info.json_schema_extra or {}).get("unit", "")
            bounds = f"{lo:g} to {hi:g}" if lo is not None and hi is not None else ""
            default = "required" if info.is_required() else f"{info.default}"
            lines.append(f"| `{prefix}{name}` | {default} | {unit} | {bounds} | {info.description} |")
    return "\n".join(lines)


def _check_output_path(path: Path, suffixes: set[str] = frozenset({".csv", ".parquet"})) -> None:
    if path.suffix not in suffixes:
        raise CommandError(f"{path}: output must end in {' or '.join(sorted(suffixes))}")
    if not path.parent.exists() and str(path.parent) not in {"", "."}:
        raise CommandError(f"{path}: folder {path.parent} does not exist")


def _write_table(table: pd.DataFrame, path: Path) -> None:
    """Write atomically: a failed write never leaves a half-written file behind."""

    def write(temporary: str) -> None:
        if path.suffix == ".parquet":
            table.to_parquet(temporary, index=False)
        else:
            table.to_csv(temporary, index=False)

    try:
        write_atomically(path, write)
    except OSError as err:
        raise CommandError(f"{path}: cannot write: {err.strerror or err}") from None


def command_tournament(args: argparse.Namespace) -> None:
    """`aisim tournament`: rank policies across scenarios and seeds."""
    from sim.tournament import load_tournament, rank, run_tournament, scenario_table, tournament_table

    if args.out is not None:
        _check_output_path(args.out)
    spec, folder = load_tournament(args.spec)
    if not args.quiet:
        print(f"{spec.name}: {spec.run_count():,} runs", file=sys.stderr)
    results = run_tournament(spec, folder, workers=args.workers, progress=not args.quiet)
    seeds = len(spec.replicates.seed_list())
    print(f"{spec.description or spec.name}")
    print(
        f"{len(spec.policies)} policies in the seat of {', '.join(spec.slots)}; "
        f"scenarios: {', '.join(spec.scenarios)}; {seeds} seeds each (the same for every policy).\n"
        "Mean ± half-width of the 95% interval (normal approximation over scenario-and-seed clusters, every "
        f"scenario weighing the same); the last two columns: the difference to {spec.policies[0]} on the same "
        "scenario and seed.\n"
    )
    print(tournament_table(rank(results, spec), spec))
    print("\nFinal market share by scenario (mean over seeds): which world each policy wins in.\n")
    print(scenario_table(results, spec))
    if args.out is not None:
        _write_table(results, args.out)
        print(f"\nwrote {len(results)} rows to {args.out}")


COMMANDS = {
    "run": command_run,
    "scenarios": command_scenarios,
    "policies": command_policies,
    "show": command_show,
    "check-claims": command_check_claims,
    "calibrate": command_calibrate,
    "validate": command_validate,
    "sweep": command_sweep,
    "explain": command_explain,
    "sensitivity": command_sensitivity,
    "discover": command_discover,
    "tournament": command_tournament,
    "ui": command_ui,
    "class": command_class,
    "params": command_params,
}


def _quiet_dask_logs() -> None:
    """Dask logs a lost scheduler or worker with tracebacks while it retries; the sweep reports the
    outcome in one line instead. (Dask sets its loggers up when imported, so import it first.)"""
    try:
        import distributed  # noqa: F401
    except ImportError:
        return  # connect() says how to install it
    for name in [*logging.root.manager.loggerDict, "distributed", "tornado"]:
        if name.split(".")[0] in ("distributed", "tornado"):
            logger = logging.getLogger(name)
            logger.handlers = [logging.NullHandler()]
            logger.propagate = False


def _available_memory() -> float:
    """Memory available to new work, in bytes: Linux's MemAvailable (free memory plus the page cache
    it can reclaim), else free pages, else infinite where the system does not say."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return float("inf")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Entry point of `aisim`; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    on_main_thread = threading.current_thread() is threading.main_thread()
    if on_main_thread:  # stop on SIGTERM as on Ctrl-C: cleanly, helpers too
        previous = signal.signal(signal.SIGTERM, _interrupt)
    if getattr(args, "allow_code_policies", False):
        from sim.policies import allow_code_policies

        allow_code_policies()
    try:
        return COMMANDS[args.command](args) or 0
    except KeyboardInterrupt:
        print("\naisim: interrupted", file=sys.stderr)
        return 130
    except (ParameterError, CommandError) as err:
        for line in str(err).splitlines():
            print(f"aisim: error: {line}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
    finally:
        if on_main_thread:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
