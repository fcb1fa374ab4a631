"""Serve the browser UI: ``python -m viz [--host 127.0.0.1] [--port 8765]`` (what ``aisim ui`` runs).

Before serving, it checks the browser's front-end files (`viz.assets`); on a first start (say, from
a wheel) it downloads the missing ones from the npm registry, or says what to run where there is
internet and how to point it at the folder (``--assets DIR``).

Solara serves the page from this process, behind `viz.guard`: requests must name this server in
``Host``, browsers may not use it from other sites' pages, Solara's diagnostics pages are off, every
response carries a Content-Security-Policy, and sessions are capped and closed when idle. On an
address beyond this machine (``--host 0.0.0.0``) every request also needs a token.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import secrets
import shlex
import socket
import sys
import threading
import time
from pathlib import Path

from viz.assets import DownloadError, check, install, required_packages, serve_installed_files_only
from viz.guard import WILDCARD_ADDRESSES, Guard, Policy, Sessions, is_loopback, served_names

TOKEN_VARIABLE = "AISIM_UI_TOKEN"
ASSETS_VARIABLE = "AISIM_UI_ASSETS"
OFFLINE_FOLDER = "aisim-front-end"
CLASS_FOLDER = "aisim-classes"
"""The folder name the offline instructions suggest."""
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9._~-]{16,}")
log = logging.getLogger("aisim.ui")


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="aisim ui", description="Serve the aisim browser UI.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: this machine only)")
    parser.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    parser.add_argument(
        "--token",
        default=os.environ.get(TOKEN_VARIABLE),
        help=f"access token (at least 16 of A-Z a-z 0-9 . _ ~ -; default ${TOKEN_VARIABLE}, or a new one): "
        "required on an address beyond this machine, optional on loopback",
    )
    parser.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help="another host name clients use to reach this server, on any port (its DNS name, or a reverse "
        "proxy's that passes Host on); repeatable",
    )
    parser.add_argument(
        "--assets",
        type=Path,
        default=os.environ.get(ASSETS_VARIABLE) or None,
        metavar="DIR",
        help=f"the folder of the browser's front-end files (default ${ASSETS_VARIABLE}, or Solara's folder in this "
        "environment); what is missing is downloaded into it at start",
    )
    parser.add_argument("--max-sessions", type=int, default=200, help="most browser sessions at once (default 200)")
    parser.add_argument(
        "--idle-minutes",
        type=float,
        default=60.0,
        help="close a session whose browser sent nothing for this long (default 60)",
    )
    group = parser.add_argument_group("class mode (aisim class)")
    group.add_argument(
        "--class-folder",
        type=Path,
        default=Path(CLASS_FOLDER),
        metavar="DIR",
        help=f"where class sessions are saved after every change, and found after a restart (default {CLASS_FOLDER})",
    )
    group.add_argument("--class", dest="class_scenario", metavar="SCENARIO", help="start (or resume) a class session")
    group.add_argument("--class-seed", type=int, default=42, help="the class session's seed (default 42)")
    group.add_argument("--class-quarters", type=int, help="quarters the class plays (default: to the scenario's end)")
    group.add_argument("--quarter-seconds", type=float, default=90.0, help="time for each quarter (default 90)")
    group.add_argument("--new-class", action="store_true", help="start a new class session even if one is unfinished")
    group.add_argument(
        "--start-quarter",
        type=int,
        default=0,
        help="let the model's firms play this many quarters before the class takes over (default 0)",
    )
    args = parser.parse_args(argv)
    if args.token is not None and not TOKEN_PATTERN.fullmatch(args.token):
        parser.error("--token (or $AISIM_UI_TOKEN) needs at least 16 characters, each one of A-Z a-z 0-9 . _ ~ -")
    if args.max_sessions < 1 or not args.idle_minutes > 0:
        parser.error("--max-sessions must be at least 1 and --idle-minutes above 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    if args.assets is not None:  # before Solara reads its settings: its proxy serves (only) this folder
        os.environ["SOLARA_ASSETS_PROXY_CACHE_DIR"] = str(args.assets.expanduser().resolve())
    from solara.server import settings

    folder = Path(settings.assets.proxy_cache_dir)
    if not front_end_ready(folder):
        return 2
    token = args.token
    if not is_loopback(args.host):
        token = token or secrets.token_urlsafe(16)
        print(
            f"aisim ui: warning: serving beyond this machine ({args.host}): anyone who can reach port {args.port} "
            "and has the address below (with its token) can use the UI; share it with your class only",
            file=sys.stderr,
        )
    shown_host = url_host(socket.gethostname() if args.host in WILDCARD_ADDRESSES else args.host)
    query = f"?token={token}" if token else ""
    for_whom = " (the full simulation, for you; the class uses the links below)" if args.class_scenario else ""
    print(f"aisim UI on http://{shown_host}:{args.port}/{query}{for_whom}  (Ctrl-C to stop)", flush=True)
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)

    # Solara's server module reads the app's path when it is imported: set it (and production mode)
    # first, so that the server app exists here and the guard can be put in front of it.
    app = Path(__file__).with_name("app.py")
    os.environ.update(SOLARA_APP=str(app), SOLARA_MODE="production")
    os.environ.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "False")
    import solara.server.starlette
    from solara.__main__ import cli
    from solara.server import kernel_context, settings

    serve_installed_files_only()
    share_base = f"http://{share_address(args.host)}:{args.port}"
    if not start_classes(solara.server.starlette.app, args, share_base):
        return 2
    settings.theme.show_banner = False  # Solara's "This website runs on Solara" badge covered the charts
    settings.theme.title = "aisim"
    idle = args.idle_minutes * 60.0
    settings.kernel.cull_timeout = f"{idle}s"  # a page gone without a goodbye is closed after as long
    sessions = Sessions(lambda: kernel_context.contexts)
    allowed = frozenset(name.strip("[]").lower() for name in args.allow_host)
    policy = Policy(args.port, served_names(args.host), allowed, token, args.max_sessions)
    solara.server.starlette.app.add_middleware(Guard, policy=policy, sessions=sessions)
    threading.Thread(target=close_idle_sessions, args=(sessions, idle), daemon=True, name="aisim-idle").start()
    cli(["run", str(app), "--host", args.host, "--port", str(args.port), "--production", "--no-open"])
    return 0


def url_host(host: str) -> str:
    """A host name or address as a URL writes it (an IPv6 address in brackets)."""
    return f"[{host}]" if ":" in host else host


def share_address(host: str) -> str:
    """The address other devices on the network use to reach a server bound to ``host``: on a wildcard
    address, this machine's address on its main network (no packet is sent to find it)."""
    if host not in WILDCARD_ADDRESSES:
        return url_host(host)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))  # UDP: chooses the outgoing interface, sends nothing
            return probe.getsockname()[0]
        except OSError:
            return socket.gethostname()


def start_classes(app, args: argparse.Namespace, share_base: str) -> bool:
    """Install class mode's routes in the server (`viz.classroom_web`) and resume the sessions saved in
    ``--class-folder``, printing how to reach each unfinished one; with ``--class``, start one unless one
    is unfinished (``--new-class`` starts one anyway)."""
    from sim.params import ParameterError
    from viz import classroom_web

    classrooms = classroom_web.Classrooms(args.class_folder, share_base, reachable=not is_loopback(args.host))
    classrooms.load_saved()
    classroom_web.install(app, classrooms)
    classroom_web.CLASSROOMS = classrooms
    unfinished = classrooms.unfinished()
    asked = [s for s in unfinished if args.class_scenario is not None and asks_for(s, args)]
    for session in asked or unfinished:  # after a crash, the same command finds its class again
        announce(classrooms, session, f"resumed from {session.autosave}")
    if asked and not args.new_class:
        print("aisim class: (a new session instead: aisim class --new ...)", flush=True)
    elif args.class_scenario is not None:
        try:
            session = classrooms.create(
                args.class_scenario, args.class_seed, args.class_quarters, args.quarter_seconds, args.start_quarter
            )
        except (ParameterError, OSError) as err:
            print(f"aisim class: error: {err}", file=sys.stderr)
            return False
        announce(classrooms, session, f"started, saved in {args.class_folder}/")
    if args.class_scenario is not None and is_loopback(args.host):
        print(
            "aisim class: note: listening on this machine only; students on other devices cannot reach it. "
            "To share it on your network: aisim class --host 0.0.0.0",
            flush=True,
        )
    return True


def asks_for(session, args: argparse.Namespace) -> bool:
    """Whether an unfinished session is the one the command line asks for: the same scenario, seed, start
    and length."""
    steps = None if args.class_quarters is None else args.start_quarter + args.class_quarters
    wanted = (args.class_scenario, args.class_seed, steps, args.start_quarter)
    return (session.scenario_name, session.seed, session.steps, session.start_quarter) == wanted


def announce(classrooms, session, what: str) -> None:
    """Print where a class session stands and its two links: the students' and the teacher's."""
    status, links = session.status(), classrooms.links(session)
    print(
        f"aisim class: {status['title']!r} ({session.scenario_name}, seed {session.seed}) {what}; at "
        f"{status['quarter_label']}, quarter {status['round']} of {status['rounds']} for the class\n"
        f"  students open   {links['join']}   and type the class code {session.join_code}\n"
        f"  your screen     {links['teacher']}\n"
        "                  (the teacher's link: keep it to yourself, it holds the controls)",
        flush=True,
    )


def front_end_ready(folder: Path) -> bool:
    """Whether the page's front-end files are all in ``folder``, after downloading what is missing; if
    they cannot be had, says why and what to do (on stderr)."""
    problems = check(folder)
    if not problems:
        return True
    specs = required_packages()
    if len(problems) == len(specs) and all(problem.endswith(" is not installed") for problem in problems):
        print(
            f"aisim ui: first start: the browser's front-end files (Solara's Vue app, Vega-Lite for the charts, "
            f"KaTeX, Mermaid, fonts: {len(specs)} npm packages, about 200 MB) are not in {folder} yet; "
            "downloading them, once",
            flush=True,
        )
    else:
        print(f"aisim ui: front-end files missing or changed ({'; '.join(problems)}): downloading them", flush=True)
    try:
        install(folder, specs=specs)
    except DownloadError as error:
        command = shlex.join(["python", "-m", "viz.assets", "--into", OFFLINE_FOLDER, *specs])
        print(
            f"aisim ui: error: the browser's front-end files are missing from {folder} and could not be downloaded "
            f"({error}). On a machine with internet, run\n"
            f"    pip install ai-race-sim && {command}\n"
            f"then copy the folder {OFFLINE_FOLDER} to this machine and start the UI with\n"
            f"    aisim ui --assets /path/to/{OFFLINE_FOLDER}    (or set {ASSETS_VARIABLE}=/path/to/{OFFLINE_FOLDER})",
            file=sys.stderr,
        )
        return False
    except OSError as error:
        print(
            f"aisim ui: error: cannot write the browser's front-end files into {folder} ({error}); "
            "name a folder you can write: aisim ui --assets DIR",
            file=sys.stderr,
        )
        return False
    problems = check(folder)
    if problems:  # installed, yet not as Solara asks: a bug here, or the folder changed meanwhile
        print(
            f"aisim ui: error: the browser's front-end files are not all installed ({'; '.join(problems)}); "
            f"run `{sys.executable} -m viz.assets --into {shlex.quote(str(folder))}` to install them",
            file=sys.stderr,
        )
        return False
    return True


def close_idle_sessions(sessions: Sessions, idle: float) -> None:
    """Close each session whose browser sent nothing for ``idle`` seconds (runs in a daemon thread)."""
    from solara.server import kernel_context

    while True:
        time.sleep(min(60.0, idle / 4))
        for session in sessions.idle(idle):
            context = kernel_context.contexts.get(session)
            if context is not None:
                log.info("closing session %s: idle for %.0f s", session[:8], idle)
                context.close(reason="idle")


if __name__ == "__main__":
    sys.exit(main())
