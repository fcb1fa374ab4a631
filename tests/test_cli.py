"""The `aisim` command line: useful output, clear one-line errors, safe writes."""

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sim.cli import main
from sim.scenarios import load_scenario, scenario_toml


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "sim", *args], capture_output=True, text=True, timeout=120)


def test_run_prints_summary(capsys):
    assert main(["run", "baseline", "--seed", "3", "--steps", "8"]) == 0
    out = capsys.readouterr().out
    assert "seed 3, 8 quarters (2025Q1 to 2026Q4)" in out
    assert "Meta-like" in out and "big_muddy_spend" in out


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_run_writes_the_per_firm_table(tmp_path, suffix, capsys):
    out = tmp_path / f"run{suffix}"
    market = tmp_path / f"market{suffix}"
    assert main(["run", "baseline", "--seed", "1", "--out", str(out), "--market-out", str(market)]) == 0
    table = pd.read_csv(out) if suffix == ".csv" else pd.read_parquet(out)
    assert len(table) == 40 * 5
    assert {"firm", "quarter", "x", "cash", "term_sunk_cost"} <= set(table.columns)
    assert len(pd.read_csv(market) if suffix == ".csv" else pd.read_parquet(market)) == 40
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary files left


def test_bad_input_through_the_installed_command_is_one_line():
    """The corpus (tests/test_bad_inputs.py) runs in-process; this checks the real entry point once."""
    result = run_cli("run", "baseline", "--set", "firms.Meta-like.openness=x")
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert (
        line.startswith("aisim: error: ")
        and "firms[2] (Meta-like).openness: expected a number, got the text 'x'" in line
    )


def test_failed_write_keeps_the_existing_file(tmp_path, monkeypatch, capsys):
    """A write that fails half-way (disk full) leaves the old file as it was, and no debris."""
    target = tmp_path / "keep.csv"
    target.write_text("precious\n")

    def fail_half_way(self, path, **kwargs):
        with open(path, "w") as handle:
            handle.write("step,firm\n0,")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", fail_half_way)
    assert main(["run", "baseline", "--steps", "2", "--out", str(target)]) == 2
    assert "keep.csv: cannot write: No space left on device" in capsys.readouterr().err
    assert target.read_text() == "precious\n"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.csv"]


def test_help_and_params_are_useful():
    top = run_cli("--help")
    assert top.returncode == 0 and "run" in top.stdout and "params" in top.stdout
    run_help = run_cli("run", "--help")
    assert "--set NAME=VALUE" in run_help.stdout and "firms.NAME.TRAIT" in run_help.stdout
    params = run_cli("params")
    assert "environment.llm_ceiling = 2.0" in params.stdout
    assert "firms.NAME.sunk_cost_bias" in params.stdout and "Scenarios: baseline" in params.stdout


def test_parameter_docs_are_generated_from_the_code():
    from pathlib import Path

    from sim.cli import parameters_markdown

    docs = Path(__file__).resolve().parent.parent / "docs" / "PARAMETERS.md"
    assert docs.read_text().strip() == parameters_markdown().strip(), (
        "run: aisim params --markdown > docs/PARAMETERS.md"
    )


def test_ui_passes_its_serving_options_on(monkeypatch):
    """`aisim ui` runs `python -m viz` with the options given, and leaves the rest to its defaults."""
    calls = []
    monkeypatch.setattr(subprocess, "call", lambda command, **_: calls.append(command) or 0)
    options = ["--token", "t" * 16, "--allow-host", "class.example", "--idle-minutes", "30", "--assets", "fe"]
    assert main(["ui", "--host", "0.0.0.0", *options]) == 0
    viz = [sys.executable, "-m", "viz", "--host", "0.0.0.0", "--port", "8765"]
    assert calls == [
        [*viz, "--token", "t" * 16, "--assets", "fe", "--idle-minutes", "30", "--allow-host", "class.example"]
    ]


def test_class_serves_the_ui_with_a_class_session_and_refuses_an_unknown_scenario(monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(subprocess, "call", lambda command, **_: calls.append(command) or 0)
    command = ["class", "lecun_is_right", "--seed", "7", "--quarters", "12", "--start-quarter", "8", "--new"]
    assert main([*command, "--host", "0.0.0.0"]) == 0
    viz = [sys.executable, "-m", "viz", "--host", "0.0.0.0", "--port", "8765"]
    session = ["--class", "lecun_is_right", "--class-seed", "7", "--quarter-seconds", "90.0", "--start-quarter", "8"]
    session += ["--class-quarters", "12"]
    assert calls == [[*viz, *session, "--new-class"]]
    assert main(["class", "no_such_scenario"]) == 2
    assert "no_such_scenario" in capsys.readouterr().err and len(calls) == 1  # no server started


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads child processes from /proc")
def test_a_killed_aisim_ui_leaves_no_server_behind(tmp_path):
    """`aisim ui` runs the server as a child: even killed with SIGKILL (``kill -9``, the out-of-memory
    killer), it must not leave the server running on its port (on SIGTERM or Ctrl-C it stops the server
    itself). A stand-in server: ``-m viz`` finds the folder it runs in first."""
    import os
    import signal
    import time

    from tests.helpers import children_of, is_alive

    (tmp_path / "viz").mkdir()
    (tmp_path / "viz" / "__init__.py").write_text("")
    (tmp_path / "viz" / "__main__.py").write_text("import time\nprint('serving', flush=True)\ntime.sleep(600)\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[1]), *sys.path])}
    aisim = subprocess.Popen(
        [sys.executable, "-m", "sim", "ui", "--port", "1"], cwd=tmp_path, stdout=subprocess.PIPE, text=True, env=env
    )
    server = None
    try:
        assert aisim.stdout.readline() == "serving\n"
        [server] = children_of(aisim.pid)
        aisim.kill()
        aisim.wait(timeout=20)
        deadline = time.monotonic() + 20
        while is_alive(server) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not is_alive(server), "the UI server outlived aisim ui"
    finally:
        aisim.kill()
        if server is not None and is_alive(server):
            os.kill(server, signal.SIGKILL)


def test_a_saved_scenario_runs_exactly_like_the_edits_it_was_saved_from(tmp_path, capsys):
    edits = ["firms.Meta-like.wm_floor=0.1", "environment.llm_ceiling=1.7", "drivers.sunk_cost=0.3"]
    saved = tmp_path / "saved.toml"
    saved.write_text(scenario_toml(load_scenario("lecun_leaves", edits), note="lecun_leaves with 3 edits"))
    from_file, from_edits = tmp_path / "file.csv", tmp_path / "edits.csv"
    assert main(["run", str(saved), "--seed", "3", "--out", str(from_file)]) == 0
    settings = [arg for edit in edits for arg in ("--set", edit)]
    assert main(["run", "lecun_leaves", *settings, "--seed", "3", "--out", str(from_edits)]) == 0
    assert from_file.read_bytes() == from_edits.read_bytes()
    assert len(pd.read_csv(from_file)) == 40 * 6  # the five giants and the new lab


def test_version_comes_from_one_source(capsys):
    import tomllib
    from pathlib import Path

    import sim

    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0 and capsys.readouterr().out == f"aisim {sim.__version__}\n"
    project = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())["project"]
    assert "version" not in project and project["dynamic"] == ["version"]  # read from sim/__init__.py


def test_a_bundled_sweep_spec_runs_by_name(tmp_path, capsys):
    assert main(["sweep", "quick", "--out", str(tmp_path / "out"), "--workers", "1", "--quiet"]) == 0
    assert (tmp_path / "out" / "manifest.json").is_file()
    assert main(["sweep", "no_such_spec", "--out", str(tmp_path / "other")]) == 2
    assert "nor a bundled spec (drivers_lhs, quick, sensitivity)" in capsys.readouterr().err
