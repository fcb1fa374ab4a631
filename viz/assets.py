"""Install the browser's front-end files locally, so the UI works with no internet.

Solara's page loads its JavaScript and CSS (the Vuetify app, require.js, Vega for the
charts, fonts, ...) from a CDN. With no internet the page stays blank. This installs every
package Solara's installed files ask for, each fetched as its npm tarball straight from the npm
registry (no npm needed: the registry's metadata names the tarball and its checksum, which is
verified), into the folder Solara serves them from (``solara.server.settings.assets.proxy_cache_dir``,
inside the virtual environment, or the folder ``aisim ui --assets DIR`` names).

The list is read from Solara's own templates and components, so it follows Solara
upgrades. ``aisim ui`` installs what is missing on its first start (about 50 MB to download,
200 MB on disk); ``python -m viz.assets [--into DIR] [SPEC ...]`` does it beforehand (``make run``
and ``make test`` do), or on a machine with internet for one without. The same step installs
`TEST_PACKAGES`, which the page never loads: axe-core, the accessibility checker the browser tests
inject into a page (`viz.browser.axe_violations`). The server's start check covers only what the
page loads. The registry is ``https://registry.npmjs.org/`` unless ``npm_config_registry`` (npm's
own variable) names a mirror.

Each package's folder gets a manifest (`MANIFEST`): the size and SHA-256 of every file.
`check` (run by the server at each start, in about 30 ms for 2,000 files) finds a package
missing, or a recorded file missing or of another size: a deleted ``dist`` folder or a
half-unpacked package. Installing compares the hashes too (about 0.3 s for 200 MB), and
installs again any package whose files differ, so ``python -m viz.assets`` also repairs a
file changed in place. A package is unpacked beside its folder and moved into place with its
manifest, under a lock: a download cut short, or two servers starting at once, never leave a
half-installed package that looks whole.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import http.client
import json
import os
import re
import shutil
import sys
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
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
REGISTRY = "https://registry.npmjs.org/"
"""Where packages come from, unless ``npm_config_registry`` names another registry (a mirror)."""
LOCK = ".aisim-install.lock"
PARTIAL = ".partial-"
"""Prefix of a package being unpacked in the folder, before it is moved into place."""
TIMEOUT = 30.0
"""Seconds a registry request may wait for the network."""
MAX_METADATA = 64 * 2**20
MAX_TARBALL = 512 * 2**20
"""Refused sizes (bytes) of a package's metadata and tarball: far above any package the page loads."""
EXACT_VERSION = re.compile(r"\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?")
X_RANGE = re.compile(r"(\d+)(?:\.(\d+))?(?:\.[x*])?")
"""The version ranges Solara asks for: ``5`` (any 5.x.y), ``5.2`` (any 5.2.y)."""
HASHES = ("sha512", "sha384", "sha256", "sha1")
"""The algorithms of npm's ``dist.integrity`` (Subresource Integrity) checked here."""


class DownloadError(Exception):
    """A package could not be fetched from the registry or did not match its checksum."""


@dataclass(frozen=True)
class Release:
    """One package version as the registry describes it."""

    spec: str
    version: str
    tarball: str
    hashes: tuple[tuple[str, str], ...]
    """``(algorithm, expected digest)`` pairs: the tarball must match every one."""


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


def install(folder: Path | None = None, quiet: bool = False, specs: Sequence[str] | None = None) -> list[str]:
    """Fetch and unpack every package that is missing or differs from its manifest; returns them.

    ``specs`` (``name@version``): by default every package the page loads, and `TEST_PACKAGES`.
    Raises `DownloadError` when the registry cannot be reached or a tarball does not match its
    checksum, OSError when ``folder`` cannot be written; packages installed before it stay."""
    folder = folder or cdn_folder()
    specs = list(specs) if specs is not None else [*required_packages(), *TEST_PACKAGES]
    say = (lambda text: None) if quiet else (lambda text: print(text, flush=True))
    if not any(
        package_problem(folder / spec, spec, hashes=True) or _lacks_copies(folder / spec, spec) for spec in specs
    ):
        return []  # all there: nothing to lock or write (the folder may be read-only)
    folder.mkdir(parents=True, exist_ok=True)
    installed = []
    with _install_lock(folder, say):
        missing = []
        for spec in specs:  # again, under the lock: another process may have installed them meanwhile
            if package_problem(folder / spec, spec, hashes=True):
                missing.append(spec)
            elif add_copies(folder / spec, spec):  # a folder installed before a copy was listed
                installed.append(spec)
        if not missing:
            return installed
        registry = registry_url()
        releases = [resolve(spec, registry) for spec in missing]
        sizes = [_content_length(release.tarball) for release in releases]
        known = sum(size for size in sizes if size is not None)
        say(
            f"downloading {len(releases)} package{'s' if len(releases) > 1 else ''} from {registry}"
            + (f": {known / 1e6:.1f} MB" if None not in sizes else "")
        )
        with tempfile.TemporaryDirectory(prefix="aisim-front-end-") as work:
            tarballs = _download_all(releases, Path(work), None if None in sizes else known, quiet)
            unpacked = sum(
                _unpacked_size(release, tarball) for release, tarball in zip(releases, tarballs, strict=True)
            )
            say(f"unpacking {unpacked / 1e6:.0f} MB into {folder}")
            for release, tarball in zip(releases, tarballs, strict=True):
                _install_package(tarball, folder, release.spec)
                installed.append(release.spec)
                say(f"installed {release.spec} ({release.version})")
    return installed


def _install_package(tarball: Path, folder: Path, spec: str) -> None:
    """Unpack ``tarball`` beside the package's folder, record its manifest, then move it into place."""
    target = folder / spec
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=PARTIAL, dir=folder))
    try:
        partial.chmod(0o755)  # mkdtemp's folder is private; the installed package is readable like its files
        try:
            _unpack(tarball, partial)
        except tarfile.TarError as error:  # a member outside the package's folder, a link, a broken archive
            raise DownloadError(
                f"{spec}: its tarball cannot be unpacked safely ({error}); nothing of it was installed"
            ) from None
        add_copies(partial, spec, write=False)
        write_manifest(partial, spec)
        if target.exists():
            shutil.rmtree(target)
        partial.rename(target)
    finally:
        shutil.rmtree(partial, ignore_errors=True)


@contextlib.contextmanager
def _install_lock(folder: Path, say) -> Iterator[None]:
    """Hold the folder's install lock (an OS file lock: it goes with its process); wait for another
    installer, then clear what an interrupted one left unpacked."""
    import fcntl  # POSIX only: imported here so that the UI itself imports on any system

    with open(folder / LOCK, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say(f"waiting for another process installing front-end files into {folder}")
            fcntl.flock(handle, fcntl.LOCK_EX)
        for leftover in folder.glob(PARTIAL + "*"):
            shutil.rmtree(leftover, ignore_errors=True)
        yield


def registry_url() -> str:
    """The npm registry to fetch from: ``npm_config_registry`` (as npm reads it) or `REGISTRY`."""
    for variable in ("npm_config_registry", "NPM_CONFIG_REGISTRY"):
        if os.environ.get(variable):
            return os.environ[variable].rstrip("/") + "/"
    return REGISTRY


def split_spec(spec: str) -> tuple[str, str]:
    """``name@version`` (the name may be scoped: ``@scope/name@version``) as ``(name, version)``."""
    name, at, version = spec.rpartition("@")
    if not at or not name or name == "@" or not version:
        raise DownloadError(f"{spec!r} is not a package as name@version")
    return name, version


def resolve(spec: str, registry: str | None = None) -> Release:
    """The release ``spec`` names, from the registry's metadata: an exact version, a dist-tag, or a
    range as Solara writes them (``vega@5``: the newest 5.x.y, as npm picks it)."""
    registry = registry or registry_url()
    name, wanted = split_spec(spec)
    base = registry + urllib.parse.quote(name, safe="@")
    if EXACT_VERSION.fullmatch(wanted):
        metadata = _json(f"{base}/{wanted}")
    else:
        listing = _json(base, accept="application/vnd.npm.install-v1+json")  # the abbreviated metadata
        version = pick_version(spec, listing.get("dist-tags", {}), list(listing.get("versions", {})))
        metadata = listing.get("versions", {}).get(version)  # a tag may name a version the list lacks
    try:
        dist = metadata["dist"]
        tarball = str(dist["tarball"])
        integrity = [item.split("-", 1) for item in str(dist.get("integrity", "")).split()]
        hashes = [(algorithm, base64.b64decode(digest).hex()) for algorithm, digest in integrity if algorithm in HASHES]
        if not hashes and dist.get("shasum"):
            hashes = [("sha1", str(dist["shasum"]).lower())]
        version = str(metadata["version"])
    except (KeyError, TypeError, ValueError) as error:
        raise DownloadError(f"{spec}: the registry's metadata has no usable dist entry ({error})") from None
    if not hashes:
        raise DownloadError(f"{spec}: the registry gives no checksum for its tarball; refusing it")
    if not (tarball.startswith("https://") or tarball.startswith(registry)):
        raise DownloadError(f"{spec}: refusing a tarball that is not on HTTPS ({tarball})")
    return Release(spec, version, tarball, tuple(hashes))


def pick_version(spec: str, tags: dict[str, str], versions: list[str]) -> str:
    """The version npm installs for ``spec``'s tag or range among the published ``versions``: the
    ``latest`` tag if it is in the range, else the newest release in it (pre-releases never)."""
    wanted = split_spec(spec)[1]
    if wanted in tags:
        return tags[wanted]
    match = X_RANGE.fullmatch(wanted)
    if match is None:
        raise DownloadError(f"{spec}: version range {wanted!r} not understood (an exact version, a tag, 5 or 5.2)")
    prefix = tuple(int(part) for part in match.groups() if part is not None)

    def numbers(version: str) -> tuple[int, ...] | None:
        if not EXACT_VERSION.fullmatch(version) or "-" in version.split("+")[0]:
            return None  # a pre-release, or not a version
        return tuple(int(part) for part in version.split("+")[0].split("."))

    candidates = {version: numbers(version) for version in versions}
    inside = {v: n for v, n in candidates.items() if n is not None and n[: len(prefix)] == prefix}
    if not inside:
        raise DownloadError(f"{spec}: no published version of {split_spec(spec)[0]} matches {wanted}")
    latest = tags.get("latest")
    return latest if latest in inside else max(inside, key=inside.__getitem__)


def _open(url: str, method: str = "GET", accept: str | None = None):
    headers = {"User-Agent": "aisim (viz.assets)"} | ({"Accept": accept} if accept else {})
    return urllib.request.urlopen(urllib.request.Request(url, headers=headers, method=method), timeout=TIMEOUT)


def _json(url: str, accept: str | None = None) -> dict:
    """The JSON document at ``url``; DownloadError naming the URL if it cannot be had."""
    try:
        with _open(url, accept=accept) as answer:
            body = answer.read(MAX_METADATA + 1)
    except (OSError, http.client.HTTPException) as error:
        raise DownloadError(f"{url}: {_reason(error)}") from None
    if len(body) > MAX_METADATA:
        raise DownloadError(f"{url}: metadata over {MAX_METADATA // 2**20} MB; refusing it")
    try:
        document = json.loads(body)
    except ValueError:
        raise DownloadError(f"{url}: the answer is not JSON") from None
    if not isinstance(document, dict):
        raise DownloadError(f"{url}: the answer is not a JSON object")
    return document


def _content_length(url: str) -> int | None:
    """A tarball's size in bytes, asked with HEAD (None if the registry does not say)."""
    try:
        with _open(url, method="HEAD") as answer:
            length = answer.headers.get("Content-Length")
    except (OSError, http.client.HTTPException) as error:
        raise DownloadError(f"{url}: {_reason(error)}") from None
    return int(length) if length and length.isdigit() else None


def _download_all(releases: list[Release], work: Path, total: int | None, quiet: bool) -> list[Path]:
    """Download each release's tarball into ``work`` and check it against its checksums, with one
    progress bar (bytes) for them all."""
    from tqdm import tqdm

    tarballs = []
    with tqdm(
        total=total, unit="B", unit_scale=True, unit_divisor=1000, desc="downloading", disable=quiet, mininterval=0.5
    ) as progress:
        for index, release in enumerate(releases):
            path = work / f"{index}.tgz"
            _download(release, path, progress.update)
            tarballs.append(path)
    return tarballs


def _download(release: Release, path: Path, advance) -> None:
    """Stream ``release``'s tarball to ``path``; DownloadError if it breaks off or does not match."""
    digests = {algorithm: hashlib.new(algorithm) for algorithm, _ in release.hashes}
    size = 0
    try:
        with _open(release.tarball) as answer, path.open("wb") as output:
            while block := answer.read(1 << 16):
                size += len(block)
                if size > MAX_TARBALL:
                    raise DownloadError(f"{release.tarball}: over {MAX_TARBALL // 2**20} MB; refusing it")
                for digest in digests.values():
                    digest.update(block)
                output.write(block)
                advance(len(block))
    except (OSError, http.client.HTTPException) as error:
        raise DownloadError(f"{release.tarball}: {_reason(error)}") from None
    for algorithm, expected in release.hashes:
        if digests[algorithm].hexdigest() != expected:
            raise DownloadError(
                f"{release.spec}: {release.tarball} does not match its {algorithm} checksum in the registry's "
                "metadata (damaged or changed in transit); nothing of it was installed"
            )


def _reason(error: BaseException) -> str:
    """What went wrong with a request, in a few words."""
    if isinstance(error, urllib.error.HTTPError):
        return f"HTTP {error.code} {error.reason}"
    if isinstance(error, urllib.error.URLError):
        return str(error.reason)
    return str(error) or type(error).__name__


def _unpacked_size(release: Release, tarball: Path) -> int:
    """The bytes of the files in ``tarball``; DownloadError if it is not a readable tar archive."""
    try:
        with tarfile.open(tarball) as archive:
            return sum(member.size for member in archive.getmembers() if member.isfile())
    except tarfile.TarError as error:
        raise DownloadError(f"{release.spec}: {release.tarball} is not a readable package ({error})") from None


def _lacks_copies(target: Path, spec: str) -> bool:
    """Whether `add_copies` would add a file to the package in ``target``."""
    copies = COPIES.get(spec.rpartition("@")[0], {}).items()
    return any(not (target / name).is_file() and (target / source).is_file() for name, source in copies)


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m viz.assets",
        description="Install the browser UI's front-end files (npm packages, fetched from the npm registry; npm "
        "itself is not needed). Packages already installed and intact are kept.",
    )
    parser.add_argument(
        "--into",
        type=Path,
        metavar="DIR",
        help="the folder to install into (default: the one this environment's Solara serves from; "
        "another folder is then served with `aisim ui --assets DIR`)",
    )
    parser.add_argument(
        "specs",
        nargs="*",
        metavar="SPEC",
        help="packages as name@version (default: every package the installed Solara's page loads, and the "
        "browser tests' axe-core)",
    )
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")
    args = parser.parse_args(argv)
    try:
        folder = args.into.expanduser().resolve() if args.into else cdn_folder()
        specs = args.specs or [*required_packages(), *TEST_PACKAGES]
    except ModuleNotFoundError as error:  # the defaults are read from the installed Solara
        print(
            f"python -m viz.assets: error: {error}: the defaults come from the UI's packages; install them "
            "(pip install 'ai-race-sim[ui]'), or give --into DIR and the packages to fetch",
            file=sys.stderr,
        )
        return 1
    try:
        installed = install(folder, quiet=args.quiet, specs=specs)
    except DownloadError as error:
        print(f"python -m viz.assets: error: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"python -m viz.assets: error: cannot write into {folder}: {error}", file=sys.stderr)
        return 1
    if not args.quiet:
        print(f"front-end files ready in {folder} ({len(installed)} newly installed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
