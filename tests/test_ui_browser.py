"""The UI in headless Chromium: what a student sees and does.

Needs Debian's chromium (.ci/run installs it) and the UI's front-end files (make installs
them). The server runs on 127.0.0.1 with no internet: every asset must come from the
local installation.
"""

import csv
import io
import subprocess
import sys
import time

import pytest

pytest.importorskip("solara")
sync_api = pytest.importorskip("playwright.sync_api")

from tests.helpers import children_of, is_alive  # noqa: E402
from viz.browser import FAILED_ASSET, choose, chromium_path, launch, open_app, serve  # noqa: E402

pytestmark = pytest.mark.skipif(chromium_path() is None, reason="chromium is not installed (.ci/run installs it)")
WAIT = 30_000
CHARTS_DRAWN = "n => document.querySelectorAll('figure.aisim-chart [data-drawn]').length >= n"
QUARTER_AT_LEAST = """n => {
    const match = document.body.innerText.match(/Quarter (\\d+) of/);
    return match && Number(match[1]) >= n;
}"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    log = tmp_path_factory.mktemp("ui") / "server.log"
    with serve(log) as url:
        yield url, log


@pytest.fixture(scope="module")
def chromium_browser():
    with sync_api.sync_playwright() as playwright:
        browser = launch(playwright)
        yield browser
        browser.close()


def open_page(browser, url):
    """A fresh browser context (a new student) on the app, with its problems recorded from the start."""
    problems = []

    def record(page):
        page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
        page.on("requestfailed", lambda request: problems.append(f"failed: {request.url}"))
        page.on("response", lambda r: problems.append(f"{r.status}: {r.url}") if r.status >= 400 else None)

    page = open_app(browser, url, watch=record)
    page.problems = problems
    return page


@pytest.fixture
def page(chromium_browser, server):
    page = open_page(chromium_browser, server[0])
    yield page
    page.context.close()


def drawn(page, title=None) -> list[str]:
    """When each chart (or the chart with this title) last finished drawing."""
    selector = "figure.aisim-chart" + (f"[data-title='{title}']" if title else "") + " [data-drawn]"
    return page.eval_on_selector_all(selector, "nodes => nodes.map(n => n.dataset.drawn)")


def step(page, times=1):
    for _ in range(times):
        page.get_by_role("button", name="Step").click()


def test_page_loads_with_no_errors_and_no_failed_assets(page, server):
    step(page)
    page.get_by_text("Quarter 1 of 40").wait_for(timeout=WAIT)
    page.wait_for_function(CHARTS_DRAWN, arg=5, timeout=WAIT)
    assert page.problems == []
    assert FAILED_ASSET not in server[1].read_text()


def test_choosing_a_scenario_shows_its_story(page):
    choose(page, "Scenario", "lecun_is_right")
    page.get_by_role("button", name="About").click()
    page.get_by_text("LeCun argues that LLMs are a dead end").wait_for(timeout=WAIT)
    page.get_by_text("LeCun is right: LLMs hit a ceiling").first.wait_for(timeout=WAIT)


def test_step_and_play_advance_the_model_and_redraw_the_charts(page):
    step(page)
    page.get_by_text("Quarter 1 of 40").wait_for(timeout=WAIT)
    page.wait_for_function(CHARTS_DRAWN, arg=5, timeout=WAIT)
    before = drawn(page, "Market share")
    step(page)
    page.get_by_text("Quarter 2 of 40").wait_for(timeout=WAIT)
    market_share = "figure.aisim-chart[data-title='Market share'] [data-drawn]"
    page.wait_for_function(
        "([selector, old]) => document.querySelector(selector).dataset.drawn != old",
        arg=[market_share, before[0]],
        timeout=WAIT,
    )
    page.get_by_role("button", name="Play").click()
    page.wait_for_function(QUARTER_AT_LEAST, arg=6, timeout=WAIT)  # Play may pass any one quarter quickly
    page.get_by_role("button", name="Pause").click()
    page.get_by_role("button", name="Play").wait_for(timeout=WAIT)


def test_changing_a_control_and_reset_change_the_run(page):
    page.get_by_role("button", name="Parameters").click()
    field = page.get_by_label("sunk cost", exact=True)
    field.fill("20")
    field.press("Enter")
    page.get_by_text("Refused: 20.0 is out of range; allowed 0 to 10").wait_for(timeout=WAIT)
    field.fill("0")
    field.press("Enter")
    page.get_by_text("Refused:").wait_for(state="detached", timeout=WAIT)
    page.get_by_role("button", name="Reset").click()
    page.get_by_role("button", name="Run", exact=True).click()
    step(page, 2)
    page.get_by_text("Quarter 2 of 40").wait_for(timeout=WAIT)
    rows = download_csv(page)
    assert {float(r["term_sunk_cost"]) for r in rows} == {0.0}


def download_csv(page) -> list[dict]:
    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").click()
    return list(csv.DictReader(io.StringIO(open(download.value.path()).read())))


def test_export_downloads_a_csv_with_the_run(page):
    step(page, 3)
    page.get_by_text("Quarter 3 of 40").wait_for(timeout=WAIT)
    rows = download_csv(page)
    assert len(rows) == 3 * 5
    assert {r["quarter"] for r in rows} == {"2025Q1", "2025Q2", "2025Q3"}
    assert float(rows[0]["term_sunk_cost"]) > 0


def test_uncertainty_view_draws_its_bands(page):
    page.get_by_role("button", name="Uncertainty").click()
    page.get_by_role("button", name="Run 100 seeds").click()
    page.get_by_text("100 runs in").wait_for(timeout=WAIT)
    page.wait_for_function(
        "() => document.querySelectorAll(\"figure.aisim-chart[data-title*='LLM share'] [data-drawn]\").length >= 1",
        timeout=WAIT,
    )
    areas = page.locator("figure.aisim-chart[data-title*='LLM share'] path[aria-roledescription='area mark']")
    assert areas.count() >= 2  # the 90% and the 50% band


def test_compare_view_draws_both_scenarios(page):
    page.get_by_role("button", name="Compare").click()
    choose(page, "Compare with", "lecun_is_right")
    page.get_by_role("button", name="Run comparison").click()
    page.locator("tr.differs").first.wait_for(timeout=WAIT)
    header = page.locator("thead").inner_text()
    assert "baseline" in header and "lecun_is_right" in header
    page.wait_for_function(
        "() => document.querySelectorAll(\"figure.aisim-chart[data-title*='Best LLM quality'] [data-drawn]\").length",
        timeout=WAIT,
    )
    legend = page.locator("figure.aisim-chart[data-title*='Best LLM quality']").inner_text()
    assert "baseline" in legend and "lecun_is_right" in legend


def test_explain_view_draws_the_attribution(page):
    page.get_by_role("button", name="Explain", exact=True).click()
    page.get_by_role("button", name="Explain this scenario").click()
    page.wait_for_function(
        "() => document.querySelectorAll(\"figure.aisim-chart[data-title='Attribution'] [data-drawn]\").length",
        timeout=WAIT,
    )


def test_a_second_browser_context_starts_fresh(chromium_browser, server):
    browser = chromium_browser
    first = open_page(browser, server[0])
    second = None
    try:
        step(first, 3)
        first.get_by_text("Quarter 3 of 40").wait_for(timeout=WAIT)
        second = open_page(browser, server[0])
        second.get_by_text("Quarter 0 of 40").wait_for(timeout=WAIT)
        first.get_by_text("Quarter 3 of 40").wait_for(timeout=WAIT)
    finally:
        first.context.close()
        if second is not None:
            second.context.close()


def test_the_front_end_proxy_serves_installed_files_only(server):
    """A GET naming a folder must not delete it (Solara's proxy did), and an unknown path is a quick
    404, not a wait on a CDN this tool works without."""
    import shutil
    import time
    import urllib.error
    import urllib.request

    from viz.assets import cdn_folder

    url, _ = server
    decoy = cdn_folder() / "aisim-test-decoy@1.0.0"
    (decoy / "dist").mkdir(parents=True, exist_ok=True)
    (decoy / "dist" / "ok.js").write_text("// installed\n")
    try:

        def status(path: str) -> int:
            try:
                with urllib.request.urlopen(f"{url}_solara/cdn/{path}", timeout=5) as answer:
                    return answer.status
            except urllib.error.HTTPError as err:
                return err.code

        assert status("aisim-test-decoy@1.0.0/dist") == 404
        assert (decoy / "dist" / "ok.js").is_file(), "the proxy deleted an installed folder"
        assert status("aisim-test-decoy@1.0.0/dist/ok.js") == 200
        assert status("requirejs@2.3.6/require.min.js") == 200  # Solara's Markdown asks for it in notebooks
        started = time.monotonic()
        assert status("aisim-no-such-package@9.9.9/index.js") == 404
        assert time.monotonic() - started < 2.0
        assert status("aisim-test-decoy@1.0.0/../../../etc/passwd") == 404
    finally:
        shutil.rmtree(decoy)


def log_offset(server) -> int:
    """Where the server log ends now: read what a test adds with `log_since`."""
    return len(server[1].read_text())


def log_since(server, offset: int) -> str:
    return server[1].read_text()[offset:]


def assert_no_traceback(page, server, offset: int) -> None:
    """Neither the page nor the server log (since ``offset``) shows a traceback or an unexpected error."""
    body = page.inner_text("body")
    assert "Traceback" not in body and "Something went wrong" not in body
    log = log_since(server, offset)
    assert "Traceback" not in log and "error id" not in log, log[-3000:]


def csv_seed(page) -> str:
    """The seed in the name of the downloaded CSV: the seed of the run on the page."""
    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").click()
    return download.value.suggested_filename.rsplit("seed", 1)[1].removesuffix(".csv")


def test_a_seed_out_of_range_is_refused_with_one_line(page, server):
    offset = log_offset(server)
    seed = page.get_by_label("Seed", exact=True)
    refused = "Refused: the seed must be a whole number from 0 to 9223372036854775807; it stays {}"

    def refused_then_reset(bad: int, kept: int) -> None:
        seed.fill(str(bad))
        seed.press("Enter")
        page.get_by_text(refused.format(kept)).wait_for(timeout=WAIT)
        page.get_by_role("button", name="Reset").click()
        step(page)
        page.get_by_text("Quarter 1 of 40").wait_for(timeout=WAIT)
        assert csv_seed(page) == str(kept)

    refused_then_reset(2**63, kept=42)
    seed.fill("7")
    seed.press("Enter")
    page.get_by_text("Refused:").wait_for(state="detached", timeout=WAIT)
    refused_then_reset(-1, kept=7)
    assert_no_traceback(page, server, offset)
    assert page.problems == []


def test_nan_in_a_parameter_then_reset_is_refused_with_one_line(page, server):
    offset = log_offset(server)
    page.get_by_role("button", name="Parameters").click()
    field = page.get_by_label("sunk cost", exact=True)
    field.fill("nan")
    field.press("Enter")
    page.get_by_text("Refused: nan is not a finite number").wait_for(timeout=WAIT)
    page.get_by_role("button", name="Reset").click()
    page.get_by_text("Fix the highlighted values first: drivers.sunk_cost: nan is not a finite number").wait_for(
        timeout=WAIT
    )
    assert_no_traceback(page, server, offset)
    field.fill("0")
    field.press("Enter")
    page.get_by_text("Refused:").wait_for(state="detached", timeout=WAIT)
    page.get_by_role("button", name="Reset").click()
    page.get_by_text("Fix the highlighted values").wait_for(state="detached", timeout=WAIT)
    page.get_by_role("button", name="Run", exact=True).click()
    step(page)
    page.get_by_text("Quarter 1 of 40").wait_for(timeout=WAIT)
    assert_no_traceback(page, server, offset)
    assert page.problems == []


CLICK_STORM = """async ([rounds, delay]) => {
    const click = name => [...document.querySelectorAll('button')]
        .filter(b => b.innerText.trim().toUpperCase() === name).forEach(b => b.click());
    for (let i = 0; i < rounds; i++) {
        for (const name of ['PLAY', 'STEP', 'PAUSE', 'RESET', 'STEP', 'PLAY']) {
            click(name);
            await new Promise(resolve => setTimeout(resolve, delay));
        }
    }
}"""


def test_fast_play_step_reset_clicks_raise_nothing(page, server):
    """Play, Step, Pause and Reset clicked faster than the page redraws (the Play loop steps the model
    while the page is drawn): no error, and the page still works."""
    offset = log_offset(server)
    for delay in (0, 5, 20, 50):
        page.evaluate(CLICK_STORM, [15, delay])
    page.wait_for_timeout(1000)  # let the last redraws land
    assert_no_traceback(page, server, offset)
    pause = page.get_by_role("button", name="Pause")
    if pause.count():
        pause.click()
    page.get_by_role("button", name="Reset").click()
    page.get_by_text("Quarter 0 of 40").wait_for(timeout=WAIT)
    step(page)
    page.get_by_text("Quarter 1 of 40").wait_for(timeout=WAIT)
    assert_no_traceback(page, server, offset)
    # Solara's front end may look up a widget the server closed a moment before (one run in three
    # here); the page does not show it and keeps working.
    assert [p for p in page.problems if p != "page error: widget model not found"] == []


def request(url: str, path: str = "/", headers: dict | None = None, method: str = "GET"):
    """One plain HTTP request with exactly these headers (``Host`` too, if given): status, headers, body."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    headers = headers or {}
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=20)
    try:
        given = {name.lower() for name in headers}
        connection.putrequest(method, path, skip_host="host" in given, skip_accept_encoding=True)
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.endheaders()
        answer = connection.getresponse()
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read().decode()
    finally:
        connection.close()


def kernel_channel() -> str:
    """The WebSocket path of a new session's kernel, as the page opens it."""
    import uuid

    return f"/jupyter/api/kernels/{uuid.uuid4()}/channels?session_id={uuid.uuid4()}"


def handshake(url: str, headers: dict) -> tuple[int, str]:
    """A WebSocket handshake to a new kernel with these extra headers: the status (101: opened) and body."""
    upgrade = {
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version": "13",
    }
    status, _, body = request(url, kernel_channel(), {**upgrade, **headers})
    return status, body


def one_line(body: str) -> str:
    """The refusal's text, which must be one line."""
    lines = body.strip().splitlines()
    assert len(lines) == 1, body[:500]
    return lines[0]


def test_a_foreign_host_header_is_refused(server):
    """DNS rebinding: a page on evil.example that resolves to this machine sends Host: evil.example."""
    url = server[0]
    port = url.rstrip("/").rsplit(":", 1)[1]
    for host in (f"evil.example:{port}", "evil.example", f"127.0.0.1:{int(port) + 1}"):
        status, _, body = request(url, "/", {"Host": host})
        assert status == 400 and one_line(body).startswith("Refused: this server does not answer to the host name")
        status, body = handshake(url, {"Host": host})
        assert status == 400 and one_line(body).startswith("Refused:")
    for host in (f"127.0.0.1:{port}", f"localhost:{port}"):
        status, _, body = request(url, "/", {"Host": host})
        assert status == 200 and "<html" in body
    assert handshake(url, {"Host": f"127.0.0.1:{port}"})[0] == 101


def test_a_websocket_from_a_foreign_origin_is_refused(server):
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    url = server[0]
    socket_url = url.replace("http://", "ws://").rstrip("/") + kernel_channel()
    with pytest.raises(InvalidStatus) as refused:
        connect(socket_url, origin="http://evil.example", open_timeout=20)
    assert refused.value.response.status_code == 403
    assert (
        one_line(refused.value.response.body.decode())
        == "Refused: a page from 'http://evil.example' may not use this server."
    )
    status, _, body = request(url, "/_solara/api/close/x?session_id=y", {"Origin": "http://evil.example"}, "POST")
    assert status == 403 and one_line(body).startswith("Refused: a page from")
    with connect(socket_url, origin=url.rstrip("/"), open_timeout=20) as socket:
        assert socket.protocol.state.name == "OPEN"


def test_every_response_has_the_security_headers(server):
    url = server[0]
    for path in ("/", "/readyz", "/static/assets/favicon.svg", "/resourcez"):
        _, headers, _ = request(url, path)
        policy = headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy and "default-src 'self'" in policy, path
        assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff", path


def test_the_page_cannot_be_framed(chromium_browser, server):
    """Clickjacking: another site's page showing this one in a frame gets an error page instead."""
    context = chromium_browser.new_context()
    try:
        page = context.new_page()
        page.set_content(f'<iframe src="{server[0]}" width="800" height="600"></iframe>')
        frame = page.frames[1]
        frame.wait_for_load_state(timeout=WAIT)
        assert frame.url.startswith("chrome-error://"), frame.url
    finally:
        context.close()


def test_diagnostics_pages_are_not_served(server):
    url = server[0]
    for path in ("/resourcez", "/resourcez?verbose"):
        status, _, body = request(url, path)
        assert status == 404 and one_line(body) == "Not found.", path
    status, _, body = request(url, "/readyz")
    assert status == 200 and '"ok"' in body


def test_a_server_beyond_loopback_needs_its_token(chromium_browser, tmp_path):
    import re

    from viz.browser import free_port

    port = free_port()
    log = tmp_path / "server.log"
    with serve(log, port, options=["--host", "0.0.0.0"]) as url:
        printed = log.read_text()
        assert "warning: serving beyond this machine (0.0.0.0)" in printed
        token = re.search(rf"aisim UI on http://\S+:{port}/\?token=([A-Za-z0-9_-]+)", printed).group(1)
        for path in ("/", "/?token=wrong", "/_solara/cdn/requirejs@2.3.6/require.js"):
            status, _, body = request(url, path)
            assert status == 403 and one_line(body).startswith("Refused: open this server with"), path
        assert handshake(url, {})[0] == 403
        status, headers, _ = request(url, f"/?token={token}")
        assert status == 303 and headers["location"] == "/"
        assert headers["set-cookie"].startswith(f"aisim_token_{port}={token};") and "HttpOnly" in headers["set-cookie"]
        cookie = {"Cookie": f"aisim_token_{port}={token}"}
        assert request(url, "/", cookie)[0] == 200 and handshake(url, cookie)[0] == 101
        assert request(url, "/readyz")[0] == 200  # the readiness probe needs no token

        stranger = chromium_browser.new_context()
        try:
            page = stranger.new_page()
            page.goto(url)
            assert one_line(page.inner_text("body")).startswith("Refused: open this server with")
        finally:
            stranger.close()
        page = open_app(chromium_browser, f"{url}?token={token}")
        try:
            assert "token" not in page.url
            step(page)
            page.get_by_text("Quarter 1 of 40").wait_for(timeout=WAIT)
        finally:
            page.context.close()


def test_sessions_are_capped_and_idle_ones_closed(chromium_browser, tmp_path):
    """With room for one session, a second browser is refused with one line until the first one,
    left idle, is closed (its page then says so); then the second one gets in."""
    with serve(tmp_path / "server.log", options=["--max-sessions", "1", "--idle-minutes", "0.1"]) as url:
        first = open_app(chromium_browser, url)
        second = chromium_browser.new_context().new_page()
        try:
            step(first)
            first.get_by_text("Quarter 1 of 40").wait_for(timeout=WAIT)
            second.goto(url)
            assert one_line(second.inner_text("body")) == "Refused: this server is full (1 sessions); try again later."
            step(first)
            first.get_by_text("Quarter 2 of 40").wait_for(timeout=WAIT)
            first.get_by_role("alert").filter(has_text="Disconnected from the server").wait_for(timeout=WAIT)
            second.goto(url)
            second.get_by_text("Quarter 0 of 40").wait_for(timeout=WAIT)
        finally:
            first.context.close()
            second.context.close()


def test_a_page_whose_server_restarted_says_disconnected_reload(chromium_browser, tmp_path):
    """Solara's own notice does not show (see viz.connection): the page says so and offers Reload."""
    from viz.browser import free_port

    port = free_port()
    with serve(tmp_path / "first.log", port) as url:
        page = open_app(chromium_browser, url)
        step(page)
        page.get_by_text("Quarter 1 of 40").wait_for(timeout=WAIT)
    try:
        notice = page.get_by_role("alert").filter(has_text="Disconnected from the server")
        notice.wait_for(timeout=WAIT)
        assert "Reload the page to start again." in notice.inner_text()
        with serve(tmp_path / "second.log", port):
            page.wait_for_timeout(5000)  # the page may try to reconnect to the new server
            assert notice.is_visible()
            page.get_by_role("button", name="Reload").click()
            page.get_by_text("Quarter 0 of 40").wait_for(timeout=WAIT)
            assert not notice.is_visible()
    finally:
        page.context.close()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's")
def test_a_ui_server_started_by_tests_dies_with_the_test_process(tmp_path):
    """A test run killed with SIGKILL must not leave its UI server running."""
    code = (
        "import time\nfrom pathlib import Path\nfrom viz.browser import serve\n"
        f"with serve(Path({str(tmp_path / 'server.log')!r})) as url:\n"
        "    print(url, flush=True)\n    time.sleep(600)\n"
    )
    tests = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    url = tests.stdout.readline().strip()
    assert url.startswith("http://127.0.0.1:"), url
    [server] = children_of(tests.pid)
    tests.kill()
    tests.wait()
    deadline = time.monotonic() + 20
    while is_alive(server) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not is_alive(server), "the UI server outlived the process that started it"


# --- in front of a class ------------------------------------------------------------------------


@pytest.mark.parametrize(("width", "height"), [(1280, 720), (1600, 1000)])
def test_the_controls_and_the_main_chart_are_on_the_first_screen(chromium_browser, server, width, height):
    page = open_app(chromium_browser, server[0], width=width, height=height)
    try:
        step(page)
        page.get_by_text("Quarter 1 of 40").wait_for(timeout=WAIT)
        main = page.locator("figure.aisim-chart").first
        main.locator("[data-drawn]").wait_for(timeout=WAIT)
        for element in (page.get_by_role("button", name="Play"), page.get_by_role("button", name="Reset"), main):
            box = element.bounding_box()
            assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= height, (element, box)
            assert box["x"] >= 0 and box["x"] + box["width"] <= width
        assert main.bounding_box()["width"] >= 0.45 * width  # the main chart is large, not a thumbnail
        assert page.get_by_text("This website runs on").count() == 0
    finally:
        page.context.close()


def test_the_address_carries_the_run_and_reload_restores_it(chromium_browser, server):
    query = "?scenario=lecun_is_right&seed=7&set=drivers.sunk_cost=0.0"
    page = open_app(chromium_browser, server[0] + query)
    try:
        page.get_by_text("Run: lecun_is_right (edited: 1 change), seed 7").wait_for(timeout=WAIT)
        step(page, 2)
        page.get_by_text("Quarter 2 of 40").wait_for(timeout=WAIT)
        assert {float(r["term_sunk_cost"]) for r in download_csv(page)} == {0.0}
        seed = page.get_by_label("Seed", exact=True)
        seed.fill("9")
        seed.press("Enter")
        page.get_by_text("Press Reset to apply: seed 7 → 9.").wait_for(timeout=WAIT)
        page.get_by_role("button", name="Reset").click()
        page.wait_for_function("() => location.search.includes('seed=9')", timeout=WAIT)
        assert "scenario=lecun_is_right" in page.url and "set=drivers.sunk_cost=0.0" in page.url
        page.reload()
        page.get_by_text("Run: lecun_is_right (edited: 1 change), seed 9").wait_for(timeout=WAIT)
    finally:
        page.context.close()


def test_a_downloaded_scenario_file_reruns_identically_and_loads_back(page, tmp_path):
    from sim import AIRaceModel, load_scenario

    page.get_by_role("button", name="Parameters").click()
    field = page.get_by_label("sunk cost", exact=True)
    field.fill("0.5")
    field.press("Enter")
    page.get_by_role("button", name="Reset").click()
    page.get_by_role("button", name="Run", exact=True).click()
    step(page, 3)
    page.get_by_text("Quarter 3 of 40").wait_for(timeout=WAIT)
    rows = download_csv(page)
    page.get_by_role("button", name="About").click()
    with page.expect_download() as download:
        page.get_by_role("button", name="Download scenario file").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name == "aisim-baseline-edited-seed42.toml"
    model = AIRaceModel(load_scenario(saved), rng=42)  # what `aisim run FILE --seed 42` runs
    for _ in range(3):
        model.step()
    table = model.firm_dataframe()
    assert [float(r["cash"]) for r in rows] == table.cash.tolist()
    assert [float(r["x"]) for r in rows] == table.x.tolist()
    choose(page, "Scenario", "scaling_miracle")
    page.get_by_role("button", name="About").click()
    page.get_by_text("Run: scaling_miracle, seed 42").wait_for(timeout=WAIT)
    page.get_by_text(load_scenario("scaling_miracle").title).first.wait_for(timeout=WAIT)  # About shows it
    page.get_by_label("Load a scenario file (.toml)").set_input_files(str(saved))
    page.get_by_text("Run: baseline (edited: 1 change), seed 42").wait_for(timeout=WAIT)
    page.get_by_role("button", name="Run", exact=True).click()
    step(page, 3)
    page.get_by_text("Quarter 3 of 40").wait_for(timeout=WAIT)
    assert download_csv(page) == rows


def chart_table(page, title: str) -> list[list[str]]:
    """The rows of a chart's data table (its alternative to the picture)."""
    chart = page.locator(f"figure.aisim-chart[data-title='{title}']")
    chart.locator("summary", has_text="Data table").click()
    chart.locator("table tbody tr").first.wait_for(timeout=WAIT)
    header = chart.locator("table thead th").all_inner_texts()
    return [
        dict(zip(header, row.locator("td").all_inner_texts(), strict=True))
        for row in chart.locator("table tbody tr").all()
    ]


def test_why_panel_and_explain_agree_with_a_hand_computed_case(page):
    """Google-like in 2025Q3 of the baseline, seed 42: the "Why?" bars, the Explain table and the
    decision rule computed here from the CSV's terms give each term's push in the same share points."""
    import math

    step(page, 3)
    page.get_by_text("Quarter 3 of 40").wait_for(timeout=WAIT)
    choose(page, "Firm", "Google-like")
    rows = [r for r in download_csv(page) if r["firm"] == "Google-like" and r["quarter"] == "2025Q3"]
    terms = {k: float(v) for k, v in rows[0].items() if k.startswith("term_")}
    total, temperature = sum(terms.values()), 1.0
    assert load_temperature() == temperature
    by_hand = {
        name: 100 * (1 / (1 + math.exp(-total / temperature)) - 1 / (1 + math.exp(-(total - value) / temperature)))
        for name, value in terms.items()
    }
    page.locator("figure.aisim-chart[data-title='Why'] [data-drawn]").wait_for(timeout=WAIT)
    bars = {r["term"]: float(r["value"]) for r in chart_table(page, "Why")}
    page.get_by_role("button", name="Explain", exact=True).click()  # it explains the same firm
    table = page.locator("table", has_text="Google-like: each term's push")
    table.locator("tbody tr", has_text="2025Q3").wait_for(timeout=WAIT)
    header = table.locator("thead th").all_inner_texts()
    explained = dict(
        zip(header, table.locator("tbody tr", has_text="2025Q3").locator("td").all_inner_texts(), strict=True)
    )
    labels = {
        "term_value": "expected value",
        **{
            f"term_{k}": k.replace("_", " ")
            for k in ("revenue_feedback", "competitive_pressure", "scaling_optimism", "sunk_cost", "investor_pressure")
        },
    }
    for column, label in labels.items():
        assert bars[label] == pytest.approx(by_hand[column], rel=6e-4, abs=1e-3), label  # the table shows 4 digits
        assert float(explained[label]) == pytest.approx(by_hand[column], abs=0.051), label


def load_temperature() -> float:
    from sim import load_scenario

    return load_scenario("baseline").environment.decision_temperature


def test_keyboard_shortcuts_play_step_reset_and_present(page):
    page.wait_for_function("document.documentElement.lang === 'en'", timeout=WAIT)  # the shortcuts listen
    page.evaluate("document.activeElement && document.activeElement.blur()")  # keys go to the page
    for _ in range(5):  # quicker than the server reads them: every press counts
        page.keyboard.press("ArrowRight")
    page.get_by_text("Quarter 5 of 40").wait_for(timeout=WAIT)
    page.keyboard.press(" ")
    page.get_by_role("button", name="Pause").wait_for(timeout=WAIT)
    page.wait_for_function(QUARTER_AT_LEAST, arg=7, timeout=WAIT)
    page.keyboard.press(" ")
    page.get_by_role("button", name="Play").wait_for(timeout=WAIT)
    page.keyboard.press("r")
    page.get_by_text("Quarter 0 of 40").wait_for(timeout=WAIT)
    page.keyboard.press("p")
    page.get_by_role("button", name="Leave presentation (Esc)").wait_for(timeout=WAIT)
    page.keyboard.press("ArrowRight")
    page.locator("figure.aisim-chart [data-drawn]").first.wait_for(timeout=WAIT)
    first = page.locator("figure.aisim-chart").first.get_attribute("data-title")
    page.keyboard.press("ArrowDown")
    changed = "t => (document.querySelector('figure.aisim-chart') || {dataset: {title: t}}).dataset.title != t"
    page.wait_for_function(changed, arg=first, timeout=WAIT)
    page.keyboard.press("Escape")
    page.get_by_role("button", name="Leave presentation (Esc)").wait_for(state="detached", timeout=WAIT)
    page.get_by_label("Seed", exact=True).click()
    page.keyboard.type("r 1")  # typed into a field, these are text, not shortcuts
    page.wait_for_timeout(500)
    assert page.get_by_text("Quarter 1 of 40").count() == 1 and page.get_by_role("button", name="Play").count() == 1


@pytest.mark.parametrize(
    "view", ["Run", "About", "Parameters", "Compare", "Explain", "Strategies", "Class", "Glossary"]
)
def test_no_serious_accessibility_violations(page, view):
    from viz.browser import axe_violations

    step(page, 2)
    page.get_by_text("Quarter 2 of 40").wait_for(timeout=WAIT)
    if view != "Run":
        page.get_by_role("button", name=view, exact=True).click()
        page.wait_for_timeout(500)
        if view == "Strategies":  # with its table
            page.get_by_role("button", name="Run the tournament").click()
            page.get_by_text("seat, best first").wait_for(timeout=WAIT)
    else:
        page.locator("figure.aisim-chart [data-drawn]").first.wait_for(timeout=WAIT)
    assert page.evaluate("document.documentElement.lang") == "en"
    assert axe_violations(page) == []
