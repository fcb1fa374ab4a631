"""Serve the browser UI: ``python -m viz [--host 127.0.0.1] [--port 8765]`` (what ``aisim ui`` runs)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from viz.assets import MARKER, cdn_folder, required_packages, serve_installed_files_only


def main() -> int:
    parser = argparse.ArgumentParser(prog="aisim ui", description="Serve the aisim browser UI.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: this machine only)")
    parser.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    args = parser.parse_args()
    missing = [spec for spec in required_packages() if not (cdn_folder() / spec / MARKER).is_file()]
    if missing:
        print(
            f"aisim ui: error: the browser's front-end files are not installed ({', '.join(missing)}); "
            "run `python -m viz.assets` (make run does it)",
            file=sys.stderr,
        )
        return 2
    os.environ.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "False")
    app = Path(__file__).with_name("app.py")
    print(f"aisim UI on http://{args.host}:{args.port}/  (Ctrl-C to stop)", flush=True)
    # Solara serves from this process (no reload in production). Its front-end proxy is made to serve
    # installed files only before its server module is loaded (that module imports get_path by name
    # from cdn_helper; loading it here, before `run` sets the app up, would leave no app to serve).
    import solara.server.cdn_helper  # noqa: F401  (loaded so that it can be patched)
    from solara.__main__ import cli

    serve_installed_files_only()
    cli(["run", str(app), "--host", args.host, "--port", str(args.port), "--production", "--no-open"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
