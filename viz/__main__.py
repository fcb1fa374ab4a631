"""Serve the browser UI: ``python -m viz [--host 127.0.0.1] [--port 8765]`` (what ``aisim ui`` runs).

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
import socket
import sys
import threading
import time
from pathlib import Path

from viz.assets import check, serve_installed_files_only
from viz.guard import WILDCARD_ADDRESSES, Guard, Policy, Sessions, is_loopback, served_names

TOKEN_VARIABLE = "AISIM_UI_TOKEN"
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
    parser.add_argument("--max-sessions", type=int, default=200, help="most browser sessions at once (default 200)")
    parser.add_argument(
        "--idle-minutes",
        type=float,
        default=60.0,
        help="close a session whose browser sent nothing for this long (default 60)",
    )
    args = parser.parse_args(argv)
    if args.token is not None and not TOKEN_PATTERN.fullmatch(args.token):
        parser.error("--token (or $AISIM_UI_TOKEN) needs at least 16 characters, each one of A-Z a-z 0-9 . _ ~ -")
    if args.max_sessions < 1 or not args.idle_minutes > 0:
        parser.error("--max-sessions must be at least 1 and --idle-minutes above 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    problems = check()
    if problems:
        print(
            f"aisim ui: error: the browser's front-end files are not all installed ({'; '.join(problems)}); "
            f"run `{sys.executable} -m viz.assets` to install them",
            file=sys.stderr,
        )
        return 2
    token = args.token
    if not is_loopback(args.host):
        token = token or secrets.token_urlsafe(16)
        print(
            f"aisim ui: warning: serving beyond this machine ({args.host}): anyone who can reach port {args.port} "
            "and has the address below (with its token) can use the UI; share it with your class only",
            file=sys.stderr,
        )
    shown_host = socket.gethostname() if args.host in WILDCARD_ADDRESSES else args.host
    shown_host = f"[{shown_host}]" if ":" in shown_host else shown_host
    query = f"?token={token}" if token else ""
    print(f"aisim UI on http://{shown_host}:{args.port}/{query}  (Ctrl-C to stop)", flush=True)
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
