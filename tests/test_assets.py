"""Installing the UI's front-end files without npm (`viz.assets`), against a registry on this machine.

The registry here answers as registry.npmjs.org does: ``/<name>/<version>`` gives a version's
metadata, ``/<name>`` the list of versions, and each ``dist.tarball`` a gzipped tar with a
``package/`` folder. The real registry is used once, by the wheel test (`tests/test_wheel.py`).
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import io
import json
import tarfile
import threading
import urllib.parse

import pytest

from viz.assets import MANIFEST, DownloadError, install, package_problem, pick_version, resolve, split_spec


def tarball(files: dict[str, bytes], top: str = "package") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in files.items():
            member = tarfile.TarInfo(f"{top}/{name}" if top else name)
            member.size = len(data)
            archive.addfile(member, io.BytesIO(data))
    return buffer.getvalue()


class Registry:
    """An npm registry on 127.0.0.1: `publish` packages, read `requests` (method and path)."""

    def __init__(self) -> None:
        self.documents: dict[str, tuple[bytes, str]] = {}
        self.requests: list[tuple[str, str]] = []
        registry = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def answer(self, body: bool) -> None:
                registry.requests.append((self.command, self.path))
                found = registry.documents.get(urllib.parse.unquote(self.path))
                self.send_response(200 if found else 404)
                self.send_header("Content-Type", found[1] if found else "text/plain")
                self.send_header("Content-Length", str(len(found[0]) if found else 0))
                self.end_headers()
                if body and found:
                    self.wfile.write(found[0])

            def do_GET(self) -> None:
                self.answer(body=True)

            def do_HEAD(self) -> None:
                self.answer(body=False)

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def publish(self, name: str, version: str, files: dict[str, bytes], latest: bool = True, **dist) -> None:
        """Publish ``name@version``; ``dist`` overrides what its metadata says (``integrity``, ``shasum``,
        ``tarball``; a ``body`` keyword serves other bytes than the ones the checksums are of)."""
        data = tarball(files)
        served = dist.pop("body", data)
        path = f"/{name}/-/{name.rsplit('/', 1)[-1]}-{version}.tgz"
        self.documents[path] = (served, "application/octet-stream")
        sri = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
        defaults = {"tarball": self.url + path[1:], "integrity": sri, "shasum": hashlib.sha1(data).hexdigest()}
        metadata = {"name": name, "version": version, "dist": {**defaults, **dist}}
        self.documents[f"/{name}/{version}"] = (json.dumps(metadata).encode(), "application/json")
        listing = json.loads(self.documents.get(f"/{name}", (b'{"dist-tags": {}, "versions": {}}', ""))[0])
        listing["name"] = name
        listing["versions"][version] = metadata
        if latest:
            listing["dist-tags"]["latest"] = version
        self.documents[f"/{name}"] = (json.dumps(listing).encode(), "application/json")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def registry(monkeypatch):
    registry = Registry()
    monkeypatch.setenv("npm_config_registry", registry.url)
    yield registry
    registry.close()


def test_a_package_is_fetched_checked_and_unpacked_with_its_manifest(registry, tmp_path, capsys):
    files = {"package.json": b'{"name": "demo"}\n', "dist/demo.min.js": b"var demo = 1;\n"}
    registry.publish("demo", "1.2.3", files)
    assert install(tmp_path, specs=["demo@1.2.3"]) == ["demo@1.2.3"]
    target = tmp_path / "demo@1.2.3"
    assert (target / "dist" / "demo.min.js").read_bytes() == b"var demo = 1;\n"
    assert package_problem(target, "demo@1.2.3", hashes=True) == ""
    assert json.loads((target / MANIFEST).read_text())["files"]["dist/demo.min.js"][0] == len(files["dist/demo.min.js"])
    out = capsys.readouterr().out
    assert f"downloading 1 package from {registry.url}: 0.0 MB" in out and "installed demo@1.2.3 (1.2.3)" in out
    assert not list(tmp_path.glob(".partial-*"))
    registry.requests.clear()
    assert install(tmp_path, specs=["demo@1.2.3"]) == [] and registry.requests == []  # installed: no request


def test_a_changed_file_is_put_back_and_other_packages_are_left_alone(registry, tmp_path):
    registry.publish("demo", "1.0.0", {"a.js": b"a\n"})
    registry.publish("other", "2.0.0", {"b.js": b"b\n"})
    install(tmp_path, specs=["demo@1.0.0", "other@2.0.0"], quiet=True)
    (tmp_path / "demo@1.0.0" / "a.js").write_text("A\n")  # same size, other bytes
    registry.requests.clear()
    assert install(tmp_path, specs=["demo@1.0.0", "other@2.0.0"], quiet=True) == ["demo@1.0.0"]
    assert (tmp_path / "demo@1.0.0" / "a.js").read_text() == "a\n"
    assert all("other" not in path for _, path in registry.requests)


def test_a_scoped_package_is_asked_for_as_npm_does_and_installed_under_its_scope(registry, tmp_path):
    registry.publish("@scope/app", "10.1.1", {"main.js": b"app\n"})
    install(tmp_path, specs=["@scope/app@10.1.1"], quiet=True)
    assert ("GET", "/@scope%2Fapp/10.1.1") in registry.requests
    assert (tmp_path / "@scope" / "app@10.1.1" / "main.js").read_text() == "app\n"
    assert split_spec("@scope/app@10.1.1") == ("@scope/app", "10.1.1")
    for bad in ("@scope/app", "app", "app@", "@"):
        with pytest.raises(DownloadError, match="is not a package as name@version"):
            split_spec(bad)


def test_a_range_installs_what_npm_would(registry, tmp_path):
    """``vega@5``: the newest 5.x.y that is not a pre-release, or the ``latest`` tag if it is in range."""
    registry.publish("vega", "5.2.0", {"v.js": b"5.2.0\n"})
    registry.publish("vega", "5.33.1", {"v.js": b"5.33.1\n"}, latest=False)
    registry.publish("vega", "5.40.0-rc.1", {"v.js": b"rc\n"}, latest=False)
    registry.publish("vega", "6.4.0", {"v.js": b"6.4.0\n"})
    install(tmp_path, specs=["vega@5"], quiet=True)
    assert (tmp_path / "vega@5" / "v.js").read_text() == "5.33.1\n"
    assert resolve("vega@6").version == "6.4.0" and resolve("vega@5.2").version == "5.2.0"
    assert resolve("vega@latest").version == "6.4.0"
    versions = ["5.2.0", "5.33.1", "6.4.0"]
    assert pick_version("vega@5", {"latest": "5.2.0"}, versions) == "5.2.0"  # npm prefers latest when in range
    listing = json.loads(registry.documents["/vega"][0])
    listing["dist-tags"]["next"] = "7.0.0"  # a tag naming a version the list lacks
    registry.documents["/vega"] = (json.dumps(listing).encode(), "application/json")
    with pytest.raises(DownloadError, match=r"vega@next: the registry's metadata has no usable dist entry"):
        resolve("vega@next")
    with pytest.raises(DownloadError, match=r"no published version of vega matches 7"):
        pick_version("vega@7", {}, versions)
    with pytest.raises(DownloadError, match=r"version range '\^5.1' not understood"):
        pick_version("vega@^5.1", {}, versions)


def test_a_tarball_that_does_not_match_its_checksum_installs_nothing(registry, tmp_path):
    registry.publish("demo", "1.0.0", {"a.js": b"a\n"}, body=tarball({"a.js": b"evil\n"}))
    with pytest.raises(DownloadError, match=r"demo@1.0.0: .*demo-1.0.0.tgz does not match its sha512 checksum"):
        install(tmp_path, specs=["demo@1.0.0"], quiet=True)
    assert not (tmp_path / "demo@1.0.0").exists() and not list(tmp_path.glob(".partial-*"))


def test_the_sha1_shasum_is_checked_when_the_registry_gives_no_integrity(registry, tmp_path):
    registry.publish("old", "1.0.0", {"a.js": b"a\n"}, integrity="", shasum="0" * 40)
    with pytest.raises(DownloadError, match="does not match its sha1 checksum"):
        install(tmp_path, specs=["old@1.0.0"], quiet=True)
    registry.publish("bare", "1.0.0", {"a.js": b"a\n"}, integrity="", shasum="")
    with pytest.raises(DownloadError, match=r"bare@1.0.0: the registry gives no checksum for its tarball; refusing it"):
        install(tmp_path, specs=["bare@1.0.0"], quiet=True)


def test_a_tarball_elsewhere_must_be_on_https(registry, tmp_path):
    registry.publish("demo", "1.0.0", {"a.js": b"a\n"}, tarball="http://elsewhere.example/demo-1.0.0.tgz")
    with pytest.raises(DownloadError, match=r"refusing a tarball that is not on HTTPS \(http://elsewhere"):
        install(tmp_path, specs=["demo@1.0.0"], quiet=True)


def test_a_tarball_reaching_outside_its_folder_is_refused(registry, tmp_path):
    registry.publish("demo", "1.0.0", {"../../escaped.js": b"x\n"})
    with pytest.raises(DownloadError, match=r"demo@1.0.0: its tarball cannot be unpacked safely"):
        install(tmp_path / "cdn", specs=["demo@1.0.0"], quiet=True)
    assert not list(tmp_path.rglob("escaped.js")) and not list((tmp_path / "cdn").glob(".partial-*"))


def test_an_unknown_package_or_an_unreachable_registry_names_the_address(registry, tmp_path, monkeypatch):
    with pytest.raises(DownloadError, match=rf"{registry.url}nothing/1.0.0: HTTP 404"):
        install(tmp_path, specs=["nothing@1.0.0"], quiet=True)
    monkeypatch.setenv("npm_config_registry", "http://127.0.0.1:9")  # nothing listens on port 9
    with pytest.raises(DownloadError, match=r"http://127.0.0.1:9/demo/1.0.0: .*[Cc]onnection refused"):
        install(tmp_path, specs=["demo@1.0.0"], quiet=True)


def test_installing_from_the_command_line_into_a_folder(registry, tmp_path, capsys):
    from viz.assets import main

    registry.publish("demo", "1.0.0", {"a.js": b"a\n"})
    assert main(["--into", str(tmp_path / "fe"), "demo@1.0.0"]) == 0
    assert capsys.readouterr().out.endswith(f"front-end files ready in {tmp_path / 'fe'} (1 newly installed)\n")
    assert main(["--into", str(tmp_path / "fe"), "--quiet", "missing@1.0.0"]) == 1
    assert capsys.readouterr().err.startswith(f"python -m viz.assets: error: {registry.url}missing/1.0.0: HTTP 404")


def test_without_the_ui_packages_the_command_line_says_what_to_install(monkeypatch, capsys):
    import viz.assets

    def no_solara():
        raise ModuleNotFoundError("No module named 'solara'")

    monkeypatch.setattr(viz.assets, "required_packages", no_solara)
    assert viz.assets.main(["--into", "anywhere"]) == 1
    assert capsys.readouterr().err == (
        "python -m viz.assets: error: No module named 'solara': the defaults come from the UI's packages; "
        "install them (pip install 'ai-race-sim[ui]'), or give --into DIR and the packages to fetch\n"
    )
