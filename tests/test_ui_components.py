"""The UI without a browser: session state, chart specs, and the Solara page rendered in-process."""

import io
import os

import ipyvuetify as v
import numpy as np
import pandas as pd
import pytest

solara = pytest.importorskip("solara")

from sim.explain import quarter_explanation  # noqa: E402
from sim.params import Environment  # noqa: E402
from viz import charts  # noqa: E402
from viz.controls import ENVIRONMENT_GROUPS, help_for, label_for  # noqa: E402
from viz.session import EDITED, Session  # noqa: E402


def test_choosing_a_scenario_loads_its_story_and_restarts():
    session = Session()
    for _ in range(3):
        session.step()
    session.choose("lecun_is_right")
    assert session.quarter == 0
    assert "LeCun" in session.base.story and session.draft["environment"]["llm_ceiling"] == 1.3


@pytest.mark.parametrize("crafted", ["/etc/passwd", "scenarios/baseline.toml", "../../etc/hosts", "baseline "])
def test_a_crafted_scenario_name_reads_no_file(crafted, monkeypatch):
    """The Scenario select accepts library names only: a crafted widget message naming a path is
    refused before anything is read, and the session keeps its scenario."""
    import viz.session

    session = Session("sunk_cost_trap")
    monkeypatch.setattr(viz.session, "load_scenario", lambda *a, **k: pytest.fail(f"read {a[0]!r}"))
    session.choose(crafted)
    assert session.scenario_name == "sunk_cost_trap" and session.message
    with pytest.raises(ValueError, match="only scenarios of the library"):
        session.compare(crafted)


def test_out_of_range_input_is_refused_with_the_reason():
    session = Session()
    message = session.set_value("firms.2.openness", 3.0)
    assert message == "3.0 is out of range; allowed 0 to 1 (share)"
    assert session.value("firms.2.openness") == 0.8  # the old value is kept
    assert not session.reset() and "Fix the highlighted values" in session.message
    assert session.set_value("firms.2.openness", 0.5) is None and session.reset()


def test_cross_field_rule_is_explained():
    session = Session()
    message = session.set_value("environment.llm_ceiling", 0.5)
    assert "must be at most 95% of llm_ceiling" in message


def test_reset_applies_edits_and_the_seed():
    session = Session(seed=7)
    session.set_value("drivers.sunk_cost", 0.0)
    assert session.is_edited()
    session.reset(seed=8)
    session.step()
    table = session.firm_table()
    assert (table.term_sunk_cost == 0).all() and session.model.seed == 8


def test_same_seed_same_run_as_the_command_line():
    from sim import AIRaceModel

    session = Session(seed=5)
    for _ in range(6):
        session.step()
    direct = AIRaceModel("baseline", rng=5, steps=6).run().firm_dataframe()
    pd.testing.assert_frame_equal(session.firm_table().drop(columns="year"), direct, check_exact=True)


def test_csv_export_parses_to_the_run():
    session = Session()
    for _ in range(4):
        session.step()
    table = pd.read_csv(io.BytesIO(session.csv()))
    assert len(table) == 4 * 5 and {"firm", "quarter", "x", "term_sunk_cost"} <= set(table.columns)


def test_uncertainty_bands_are_ordered_quantiles():
    bands = Session().uncertainty(seeds=30)
    table = bands.table
    assert bands.seeds == 30 and len(table) == 6 * 40
    ordered = table[["p5", "p25", "p50", "p75", "p95"]].to_numpy()
    assert np.all(np.diff(ordered, axis=1) >= 0)


def test_compare_with_the_edited_copy_highlights_what_differs():
    session = Session()
    session.set_value("drivers.sunk_cost", 0.0)
    table = session.compare(EDITED, seeds=20)
    row = table.set_index("measure").loc["LLM share of AI R&D spend"]
    assert row["differs"] and row["difference (median)"] < 0
    assert not table.set_index("measure").loc["Firms alive at the end", "differs"]
    assert set(session.comparison_series.scenario) == {"baseline (edited)", "baseline (file)"}


def test_sessions_are_independent():
    first, second = Session(), Session()
    first.step()
    first.set_value("drivers.sunk_cost", 0.0)
    assert second.quarter == 0 and second.value("drivers.sunk_cost") == 1.0


def test_controls_cover_every_environment_field_once():
    listed = [name for names in ENVIRONMENT_GROUPS.values() for name in names]
    assert sorted(listed) == sorted(Environment.model_fields)
    assert label_for(Environment, "llm_ceiling") == "llm ceiling (quality)"
    assert "Allowed: 0.05 to 100" in help_for(Environment, "llm_ceiling")


def test_breakthroughs_are_marked_on_the_charts():
    session = Session()
    session.choose("lecun_is_right")
    while session.step():
        pass
    table = session.firm_table()
    spec = charts.firm_chart(table, "x", list(table.firm.unique()))
    (stars,) = [layer["data"]["values"] for layer in spec["layer"] if layer.get("data", {}).get("name") == "events"]
    assert stars and all("breakthrough" in r["event"] for r in stars)
    assert len(stars) == int(table.groupby("firm").wm_breakthrough.max().sum())


def button(rc, text: str):
    """The one button whose label is ``text`` (labels sit beside an icon)."""
    matches = [w for w in rc.find(v.Btn).widgets if text in w.children]
    assert len(matches) == 1, f"{len(matches)} buttons labelled {text!r}"
    return matches[0]


def test_page_renders_steps_and_resets_in_process():
    from viz.app import Page

    _, rc = solara.render(Page(), handle_error=False)
    button(rc, "Step").click()
    button(rc, "Step").click()
    rc.find(children=["Quarter 2 of 40 (2025Q2)"]).assert_single()
    button(rc, "Reset").click()
    rc.find(children=["Quarter 0 of 40"]).assert_single()
    rc.close()


def test_page_views_render_in_process():
    from viz.app import Page

    _, rc = solara.render(Page(), handle_error=False)
    toggle = view_toggle(rc)
    toggle.v_model = "Parameters"  # Vuetify 3 button groups hold the value
    labels = {w.label for w in rc.find(v.TextField).widgets}
    assert "sunk cost" in labels and "llm ceiling (quality)" not in labels  # drivers and one group
    assert "hardware doubling years (years)" in labels and "openness (share)" in labels
    sunk = next(w for w in rc.find(v.TextField).widgets if w.label == "sunk cost")
    sunk.v_model = "20"
    sunk.fire_event("focusout", None)
    rc.find(children=["Refused: 20.0 is out of range; allowed 0 to 10"]).assert_single()
    assert "Refused: 20.0 is out of range; allowed 0 to 10" in texts(rc)  # texts() sees what find() sees
    for view, action in (
        ("About", "Download scenario file"),
        ("Uncertainty", "Run 100 seeds"),
        ("Compare", "Run comparison"),
        ("Explain", "Explain this scenario"),
    ):
        toggle.v_model = view
        button(rc, action)
    toggle.v_model = "Explain"
    button(rc, "Explain this scenario").click()
    assert not [text for text in texts(rc) if text.startswith("Refused")]  # the refused edit was not applied
    rc.close()


def view_toggle(rc):
    """The buttons that choose the view (Run, About, Parameters, ...)."""
    return next(w for w in rc.find(v.BtnToggle).widgets if any("Parameters" in b.children for b in w.children))


def test_a_try_it_button_applies_the_step_and_reruns():
    from viz.app import Page

    _, rc = solara.render(Page(), handle_error=False)
    button(rc, "Step").click()
    view_toggle(rc).v_model = "About"
    first = next(w for w in rc.find(v.Btn).widgets if "Try it" in w.children)
    first.click()
    step = Session().base.try_next[0]
    label = f"Run: baseline (edited: {len(step.set)} change{'s' if len(step.set) > 1 else ''}), seed 42"
    rc.find(children=[label]).assert_single()
    rc.find(children=["Quarter 0 of 40"]).assert_single()
    rc.close()


def texts(rc) -> list[str]:
    """Every text in the rendered page's widget tree."""
    found, todo = [], list(rc.find().widgets)
    while todo:
        children = getattr(todo.pop(), "children", None) or []
        found += [c for c in children if isinstance(c, str)]
        todo += [c for c in children if not isinstance(c, str)]
    return found


@pytest.mark.parametrize("seed", [2**63, 2**70, -1])
def test_a_seed_out_of_range_is_refused_and_changes_nothing(seed):
    session = Session(seed=42)
    message = session.set_seed(seed)
    assert message == "the seed must be a whole number from 0 to 9223372036854775807; it stays 42"
    assert session.seed == 42 and session.seed_error == message
    assert session.reset() and session.model.seed == 42
    assert session.set_seed(2**63 - 1) is None and not session.seed_error
    assert session.reset() and session.step() and session.model.seed == 2**63 - 1


@pytest.mark.parametrize(
    ("path", "text", "reason"),
    [
        ("environment.llm_ceiling", "nan", "nan is not a finite number"),
        ("drivers.sunk_cost", "inf", "inf is not a finite number"),
        ("drivers.sunk_cost", "-Infinity", "-Infinity is not a finite number"),
        ("firms.0.openness", "1e999", "1e999 is not a finite number"),
        ("firms.0.openness", "abc", "'abc' is not a number"),
        ("environment.steps", "2.5", "2.5 is not a whole number"),
    ],
)
def test_a_value_that_is_not_a_finite_number_is_refused_with_the_reason(path, text, reason):
    session = Session()
    before = session.value(path)
    assert session.set_value(path, text) == reason
    assert session.value(path) == before and session.errors[path] == reason
    assert not session.reset() and session.message == f"Fix the highlighted values first: {path}: {reason}"
    assert session.set_value(path, str(before)) is None and session.reset()


def test_typed_numbers_are_parsed_by_the_field_type():
    session = Session()
    assert session.set_value("environment.steps", "20.0") is None and session.value("environment.steps") == 20
    assert session.set_value("drivers.sunk_cost", " 0.5 ") is None and session.value("drivers.sunk_cost") == 0.5


def test_a_snapshot_stays_consistent_while_another_thread_steps_and_resets():
    """The Play loop steps (and Reset replaces the model) while the page is drawn: each snapshot's
    tables and decision terms come from one model at one quarter."""
    import threading
    import time

    session = Session()
    done = threading.Event()

    def churn():
        while not done.is_set():
            for _ in range(3):
                session.step()
                time.sleep(0.001)
            session.reset()

    worker = threading.Thread(target=churn)
    worker.start()
    drawn = 0
    try:
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            run = session.snapshot()
            assert len(run.table) == len(run.market) * len(run.firms)
            if not run.table.empty:
                latest = run.table[run.table.firm == "Meta-like"].iloc[-1]
                explained = quarter_explanation(run.table, run.model.config, "Meta-like", int(latest.step))
                assert explained.chosen == latest.x
                drawn += 1
    finally:
        done.set()
        worker.join()
    assert drawn >= 5


def test_nan_typed_into_a_parameter_then_reset_is_refused_without_a_render_loop():
    from viz.app import Page

    _, rc = solara.render(Page(), handle_error=False)
    rc.find(v.BtnToggle).widget.v_model = "Parameters"
    sunk = next(w for w in rc.find(v.TextField).widgets if w.label == "sunk cost")
    sunk.v_model = "nan"
    sunk.fire_event("focusout", None)
    rc.find(children=["Refused: nan is not a finite number"]).assert_single()
    button(rc, "Reset").click()
    refused = "Fix the highlighted values first: drivers.sunk_cost: nan is not a finite number"
    rc.find(children=[refused]).assert_single()
    rc.close()


def test_a_crafted_speed_is_refused_and_play_still_works():
    """A speed the select does not offer (0 divided the Play loop's delay) is refused with a message."""
    from viz.app import Page

    _, rc = solara.render(Page(), handle_error=False)
    speed = next(w for w in rc.find(v.Select).widgets if w.label == "Speed (quarters)")
    speed.v_model = "0 per second"
    rc.find(
        children=["The speed must be one of: 1 per second, 2 per second, 5 per second, 10 per second, 20 per second."]
    ).assert_single()
    button(rc, "Play").click()
    rc.find(children=["Quarter 3 of 40 (2025Q3)"]).wait_for(timeout=20)
    button(rc, "Pause").click()
    rc.close()


def test_an_unexpected_error_shows_one_line_and_logs_the_traceback(monkeypatch, caplog):
    from viz.app import Page

    _, rc = solara.render(Page(), handle_error=False)
    button(rc, "Step").click()
    monkeypatch.setattr(Session, "step", lambda self: 1 / 0)
    button(rc, "Step").click()
    (alert,) = rc.find(v.Alert).widgets
    (line,) = alert.children
    error_id = line.removeprefix("Something went wrong (error id ").removesuffix("); the server log has the details.")
    assert len(error_id) == 6 and error_id in caplog.text and "ZeroDivisionError" in caplog.text
    assert "Traceback" not in line and "Traceback" in caplog.text
    monkeypatch.undo()
    button(rc, "Back to the model").click()
    rc.find(children=["Quarter 1 of 40 (2025Q1)"]).assert_single()
    rc.close()


def test_crafted_group_and_firm_choices_show_the_first_one():
    """The Parameters view's selects take only what they offer: a crafted group or firm name shows the first."""
    from viz.app import Page

    _, rc = solara.render(Page(), handle_error=False)
    rc.find(v.BtnToggle).widget.v_model = "Parameters"
    selects = {w.label: w for w in rc.find(v.Select).widgets}
    selects["Group"].v_model = "../../etc"
    selects["Firm"].v_model = "No such firm"
    labels = {w.label for w in rc.find(v.TextField).widgets}
    assert "hardware doubling years (years)" in labels and "openness (share)" in labels
    rc.find(v.Alert).assert_empty()
    rc.close()


def test_the_host_names_a_server_answers_to():
    """Loopback names, the address given, this machine's names on 0.0.0.0 and the address the client
    connected to, with the served port; --allow-host names with any port."""
    import socket

    from viz.guard import Guard, Policy, Sessions, is_loopback, served_names

    guard = Guard(None, Policy(8765, served_names("0.0.0.0"), frozenset({"class.example.org"})), Sessions(list))
    scope = {"server": ("192.168.1.5", 8765)}
    good = [
        "127.0.0.1:8765",
        "LOCALHOST:8765",
        "[::1]:8765",
        "192.168.1.5:8765",
        "Class.Example.org",
        "class.example.org:443",
    ]
    bad = ["evil.example:8765", "192.168.1.6:8765", "127.0.0.1:8766", "127.0.0.1", "127.0.0.1:x", "", "[::1"]
    assert all(guard.host_allowed(host, scope) for host in [*good, f"{socket.gethostname()}:8765"])
    assert not any(guard.host_allowed(host, scope) for host in bad)
    assert not Guard(None, Policy(80, served_names("127.0.0.1")), Sessions(list)).host_allowed(socket.gethostname(), {})
    assert all(is_loopback(host) for host in ("127.0.0.2", "::1", "[::1]", "localhost"))
    assert not any(is_loopback(host) for host in ("0.0.0.0", "::", "10.0.0.1", "class.example.org"))


def test_only_a_good_token_or_its_cookie_passes():
    from viz.guard import Guard, Policy, Refusal, Sessions

    guard = Guard(None, Policy(8765, frozenset({"127.0.0.1"}), token="s3cret-token-0123"), Sessions(list))
    scope = {"type": "http", "path": "/", "server": ("127.0.0.1", 8765)}
    host = {"host": "127.0.0.1:8765"}
    for query, cookie in ((b"", ""), (b"token=wrong", ""), (b"", "aisim_token_8765=wrong"), (b"", '"; bad')):
        with pytest.raises(Refusal, match="open this server with the address and"):
            guard.check({**scope, "query_string": query}, {**host, "cookie": cookie})
    assert guard.check({**scope, "query_string": b"token=s3cret-token-0123&x=1"}, host) == b"/?x=1"
    assert guard.check(scope, {**host, "cookie": "a=b; aisim_token_8765=s3cret-token-0123"}) is None
    assert guard.check({**scope, "path": "/readyz"}, host) is None
    for path in ("/class", "/class/api/me", "/class/anything"):  # class mode: its own codes, no UI token
        assert guard.check({**scope, "path": path}, host) is None
    for path in ("/classroom", "/clas", "/x/class"):
        with pytest.raises(Refusal, match="open this server with the address and"):
            guard.check({**scope, "path": path}, host)


def fake_front_end(folder, specs):
    """A front-end folder with small packages and their manifests, as `viz.assets.install` leaves them."""
    from viz.assets import write_manifest

    for spec in specs:
        (folder / spec / "dist").mkdir(parents=True)
        (folder / spec / "dist" / "main.js").write_text("// main\n")
        (folder / spec / "package.json").write_text("{}\n")
        write_manifest(folder / spec, spec)


def test_the_install_check_reads_each_file_s_size_and_install_its_hash(tmp_path, monkeypatch):
    import shutil

    import viz.assets
    from viz.assets import MANIFEST, check, package_problem

    monkeypatch.setattr(viz.assets, "required_packages", lambda: ["a@1.0.0", "b@2.0.0"])
    fake_front_end(tmp_path, ["a@1.0.0", "b@2.0.0"])
    assert check(tmp_path) == []
    (tmp_path / "b@2.0.0" / "dist" / "main.js").write_text("// same")  # one byte shorter
    assert check(tmp_path) == ["b@2.0.0: dist/main.js missing or changed"]
    shutil.rmtree(tmp_path / "a@1.0.0" / "dist")
    (tmp_path / "b@2.0.0" / "dist" / "main.js").write_text("// nain\n")  # same size, other bytes
    assert check(tmp_path) == ["a@1.0.0: dist/main.js missing or changed"]
    assert package_problem(tmp_path / "b@2.0.0", "b@2.0.0", hashes=True) == "b@2.0.0: dist/main.js missing or changed"
    (tmp_path / "b@2.0.0" / MANIFEST).write_text("b@2.0.0\n")  # the marker of earlier versions
    assert check(tmp_path)[1] == "b@2.0.0 is not installed"


def test_the_server_says_what_to_run_when_it_cannot_download_its_front_end_files(tmp_path):
    """A deleted dist folder is fetched again at start; with the registry out of reach the server stops
    before serving anything, naming what failed, what to run on a machine with internet and how to use
    the folder it makes."""
    import shlex
    import shutil
    import subprocess
    import sys

    from viz.assets import required_packages

    specs = required_packages()
    fake_front_end(tmp_path, specs)
    shutil.rmtree(tmp_path / specs[0] / "dist")
    env = {**os.environ, "npm_config_registry": "http://127.0.0.1:9/"}  # nothing listens on port 9
    command = [sys.executable, "-m", "viz", "--port", "1", "--assets", str(tmp_path)]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 2
    assert result.stdout == (
        f"aisim ui: front-end files missing or changed ({specs[0]}: dist/main.js missing or changed): "
        "downloading them\n"
    )
    name, version = specs[0].rsplit("@", 1)
    metadata = f"http://127.0.0.1:9/{name.replace('/', '%2F')}/{version}"
    assert result.stderr == (
        f"aisim ui: error: the browser's front-end files are missing from {tmp_path} and could not be downloaded "
        f"({metadata}: [Errno 111] Connection refused). On a machine with internet, run\n"
        f"    pip install ai-race-sim && python -m viz.assets --into aisim-front-end {shlex.join(specs)}\n"
        "then copy the folder aisim-front-end to this machine and start the UI with\n"
        "    aisim ui --assets /path/to/aisim-front-end    (or set AISIM_UI_ASSETS=/path/to/aisim-front-end)\n"
    )
    assert not (tmp_path / specs[0] / "dist").exists() and not list(tmp_path.glob(".partial-*"))


def test_quick_key_presses_are_all_counted():
    """Presses quicker than the server reads them arrive as one change: "step:5" after "step:2" is
    three steps; a crafted value is nothing; a restarted listener counts from 1 again."""
    from viz.keys import presses_since

    seen: dict[str, int] = {}
    assert presses_since("step:2", seen) == ("step", 2)
    assert presses_since("step:5", seen) == ("step", 3)
    assert presses_since("play:1", seen) == ("play", 1) and presses_since("step:5", seen) == ("step", 0)
    assert presses_since("step:1", seen) == ("step", 1)  # a new listener
    assert presses_since("launch:3", seen) == ("", 0) and presses_since("step:x", seen) == ("", 0)


def test_a_file_the_npm_package_lacks_is_supplied_and_recorded(tmp_path):
    """Solara's Markdown asks for requirejs@.../require.min.js, which the npm tarball does not hold:
    the installer adds it (a copy of require.js), records it in the manifest, and adds it to a folder
    installed before, without npm."""
    from viz.assets import MANIFEST, add_copies, package_problem, write_manifest

    target = tmp_path / "requirejs@2.3.6"
    target.mkdir()
    (target / "require.js").write_text("var requirejs;\n")
    write_manifest(target, "requirejs@2.3.6")  # as installed before the copy was listed
    assert add_copies(target, "requirejs@2.3.6")
    assert (target / "require.min.js").read_text() == "var requirejs;\n"
    assert "require.min.js" in (target / MANIFEST).read_text() and package_problem(target, "requirejs@2.3.6") == ""
    assert not add_copies(target, "requirejs@2.3.6")  # once
    (target / "require.min.js").unlink()
    assert package_problem(target, "requirejs@2.3.6") == "requirejs@2.3.6: require.min.js missing or changed"


def test_the_strategies_view_runs_the_tournament_and_shows_its_table():
    from viz.app import Page

    _, rc = solara.render(Page(), handle_error=False)
    view_toggle(rc).v_model = "Strategies"
    button(rc, "Run the tournament").click()
    (table,) = [w for w in rc.find(solara.widgets.HTML).widgets if w.tag == "table"]
    body = table.unsafe_innerHTML
    assert "Policies in Meta-like&#x27;s seat, best first" in body
    for policy in ("biased", "thompson", "expected_value", "hedger", "fixed_split", "follow_the_leader"):
        assert f">{policy}<" in body
    assert body.count("<tr") == 1 + 6  # the header and one row per policy
    rc.close()
