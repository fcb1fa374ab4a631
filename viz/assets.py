"""Install the browser's front-end files locally, so the UI works with no internet.

Solara's page loads its JavaScript and CSS (the Vuetify app, require.js, Vega for the
charts, fonts, ...) from a CDN. With no internet the page stays blank. This installs every
package Solara's installed files ask for, each as ``npm pack`` fetches it from the npm
registry, into the folder Solara serves them from
(``solara.server.settings.assets.proxy_cache_dir``, inside the virtual environment).

The list is read from Solara's own templates and components, so it follows Solara
upgrades. Run: ``python -m viz.assets`` (``make run`` and ``make test`` do it). The same step
installs `TEST_PACKAGES`, which the page never loads: axe-core, the accessibility checker
the browser tests inject into a page (`viz.browser.axe_violations`). The server's start check
covers only what the page loads.

Each package's folder gets a manifest (`MANIFEST`): the size and SHA-256 of every file.
`check` (run by the server at each start, in about 30 ms for 2,000 files) finds a package
missing, or a recorded file missing or of another size: a deleted ``dist`` folder or a
half-unpacked package. Installing compares the hashes too (about 0.3 s for 200 MB), and
installs again any package whose files differ, so ``python -m viz.assets`` also repairs a
file changed in place.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ASSET_REFERENCE = re.compile(
    r"(?:\{\{ *cdn *\}\}|getCdn\(\)\}|\{cdn\})/((?:@[A-Za-z0-9_.-]+/)?[A-Za-z0-9_.-]+@[A-Za-z0-9_.-]+)/"
)
TEST_PACKAGES = ("axe-core@4.14.1",)
"""Installed beside the page's packages, for tests only (pinned: a new axe version adds rules)."""
COPIES = {"requirejs": {"require.min.js": "require.js"}}
"""Files Solara asks its CDN for that the package's npm tarball lacks (the CDN minifies on the fly),
by package name: the unminified file, copied under the asked name, serves (Solara's Markdown in a
notebook loads ``requirejs@.../require.min.js``: offline it failed with 7-second timeouts)."""
MANIFEST = ".aisim-installed"
"""In each package folder: ``{"package": spec, "files": {path: [size, sha256]}}``."""


def required_packages() -> list[str]:
    """Every ``name@version`` the installed Solara loads from its CDN."""
    import ipyvue
    import ipyvuetify
    import solara
    from solara.server import settings

    found: set[str] = set()
    for package in (solara, ipyvue, ipyvuetify):
        root = Path(package.__file__).parent
        for path in root.rglob("*"):
            if path.suffix in {".py", ".j2", ".html", ".vue", ".js"} and path.is_file():
                found.update(ASSET_REFERENCE.findall(path.read_text(errors="ignore")))
    found.add(settings.assets.fontawesome_path.strip("/").split("/")[0])
    return sorted(found)


def test_asset(spec: str, path: str, folder: Path | None = None) -> Path:
    """A file of an installed test package (``spec`` from `TEST_PACKAGES`); FileNotFoundError, naming
    the command that installs it, if it is not installed as its manifest records."""
    target = (folder or cdn_folder()) / spec
    problem = package_problem(target, spec)
    if problem or not (target / path).is_file():
        raise FileNotFoundError(
            f"{problem or f'{spec} has no {path}'}; run `{sys.executable} -m viz.assets` to install it"
        )
    return target / path


def cdn_folder() -> Path:
    """Where Solara serves its front-end files from."""
    from solara.server import settings

    return Path(settings.assets.proxy_cache_dir)


def install(folder: Path | None = None, quiet: bool = False) -> list[str]:
    """Fetch and unpack every package that is missing or differs from its manifest; returns them."""
    folder = folder or cdn_folder()
    npm = shutil.which("npm")
    installed = []
    for spec in [*required_packages(), *TEST_PACKAGES]:
        target = folder / spec
        if not package_problem(target, spec, hashes=True):
            if add_copies(target, spec):  # a folder installed before a copy was listed
                installed.append(spec)
            continue
        if npm is None:
            raise SystemExit("npm is needed to install the UI's front-end files (apt-get install npm, or Node.js)")
        with tempfile.TemporaryDirectory() as work:
            result = subprocess.run(
                [npm, "pack", spec, "--silent", "--pack-destination", work], capture_output=True, text=True
            )
            if result.returncode != 0:
                raise SystemExit(f"npm pack {spec} failed: {result.stderr.strip() or result.stdout.strip()}")
            tarball = next(Path(work).glob("*.tgz"))
            if target.exists():
                shutil.rmtree(target)
            _unpack(tarball, target)
        add_copies(target, spec, write=False)
        write_manifest(target, spec)
        installed.append(spec)
        if not quiet:
            print(f"installed {spec} into {target}")
    return installed


def add_copies(target: Path, spec: str, write: bool = True) -> bool:
    """Add the files of `COPIES` that the package in ``target`` lacks (and, with ``write``, record them
    in its manifest); whether any was added."""
    added = False
    for name, source in COPIES.get(spec.rpartition("@")[0], {}).items():
        if not (target / name).is_file() and (target / source).is_file():
            shutil.copyfile(target / source, target / name)
            added = True
    if added and write:
        write_manifest(target, spec)
    return added


def write_manifest(target: Path, spec: str) -> None:
    """Record the size and SHA-256 of every file of the package unpacked in ``target``."""
    files = {
        path.relative_to(target).as_posix(): [path.stat().st_size, _sha256(path)]
        for path in sorted(target.rglob("*"))
        if path.is_file() and path != target / MANIFEST
    }
    (target / MANIFEST).write_text(json.dumps({"package": spec, "files": files}) + "\n")


def check(folder: Path | None = None) -> list[str]:
    """What is wrong with the installed front-end files, one line per package (empty: all there).

    Fast enough for every server start: every file in each manifest must exist with its recorded
    size. Contents are compared (SHA-256) only when installing, see the module docstring."""
    folder = folder or cdn_folder()
    problems = (package_problem(folder / spec, spec) for spec in required_packages())
    return [problem for problem in problems if problem]


def package_problem(target: Path, spec: str, hashes: bool = False) -> str:
    """Why the package in ``target`` is not as its manifest records ('' if it is)."""
    try:
        manifest = json.loads((target / MANIFEST).read_text())
        files = {name: (int(size), str(digest)) for name, (size, digest) in manifest["files"].items()}
        if manifest["package"] != spec or not files:
            raise ValueError
    except (OSError, ValueError, KeyError, TypeError, AttributeError):  # no manifest, or not one of ours
        return f"{spec} is not installed"
    wrong = []
    for name, (size, digest) in files.items():
        path = target / name
        if not path.is_file() or path.stat().st_size != size or (hashes and _sha256(path) != digest):
            wrong.append(name)
    if not wrong:
        return ""
    more = f" and {len(wrong) - 1} more files" if len(wrong) > 1 else ""
    return f"{spec}: {wrong[0]}{more} missing or changed"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _unpack(tarball: Path, target: Path) -> None:
    """Unpack an npm tarball's ``package/`` folder into ``target``."""
    with tarfile.open(tarball) as archive:
        for member in archive.getmembers():
            name = member.name.split("/", 1)[1] if "/" in member.name else ""
            if not name or not (member.isfile() or member.isdir()):
                continue
            member.name = name
            archive.extract(member, target, filter="data")


def serve_installed_files_only() -> None:
    """Make Solara's front-end proxy serve only files already installed here (call in the server).

    Solara's proxy (``/_solara/cdn/...``) deletes a cached folder when a request names it, and
    fetches any unknown path from a CDN: one GET could remove the installed front end, and each
    unknown path ties a worker up waiting for a network this tool is meant to work without. Here
    a path that is not an installed file is a 404, and nothing is deleted or fetched.
    """

    def installed_file(base_cache_dir: Path, path: str) -> Path:
        folder = Path(base_cache_dir).resolve()
        parts = path.replace("\\", "/").split("/")
        candidate = (folder / (path if len(parts) != 1 else f"{path}/__main.js")).resolve()
        if folder not in candidate.parents or not candidate.is_file():
            raise FileNotFoundError(path)
        return candidate

    for name in ("solara.server.starlette", "solara.server.cdn_helper"):
        module = sys.modules.get(name)  # patched where the server has loaded it; nothing else imported
        if module is not None and hasattr(module, "get_path"):
            module.get_path = installed_file


def main() -> None:
    installed = install()
    print(f"front-end files ready in {cdn_folder()} ({len(installed)} newly installed)")


if __name__ == "__main__":
    sys.exit(main())
