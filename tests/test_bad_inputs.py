"""The regression corpus of bad input: each case ends with one clear line, exit code 2, nothing written.

One file per case in ``tests/bad_inputs/``:

    about = "what the case is, and what happened before it was fixed"
    kind = "traceback" | "unbounded" | "unclear" | "silent"   (the class of failure it guards)
    args = ["run", "{dir}/latin.toml"]   (the command line; {dir} is the case's own folder)
    error = "text the one error line must contain"   ({dir} is replaced here too)
    folders = ["a-folder"]               (optional: folders to create first)

    [files."latin.toml"]                 (optional: files to create first)
    text = "..."                         (or hex = "..." for bytes that are not text;
    repeat = "[", times = 2000           optionally a piece repeated after the text, {i} in it
                                         replaced by 0, 1, 2, ...)
"""

import tomllib
from collections import Counter
from pathlib import Path

import pytest

from sim.cli import main

CORPUS = Path(__file__).with_name("bad_inputs")
CASES = sorted(CORPUS.glob("*.toml"))
KINDS = {"traceback", "unbounded", "unclear", "silent"}


def load_case(path: Path) -> dict:
    with path.open("rb") as handle:
        return tomllib.load(handle)


def make_files(case: dict, folder: Path) -> None:
    for name in case.get("folders", []):
        (folder / name).mkdir()
    for name, content in case.get("files", {}).items():
        data = bytes.fromhex(content["hex"]) if "hex" in content else content.get("text", "").encode()
        repeat = content.get("repeat", "")
        data += "".join(repeat.replace("{i}", str(i)) for i in range(content.get("times", 0))).encode()
        (folder / name).write_bytes(data)


def snapshot(folder: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(folder)): p.read_bytes() if p.is_file() else None for p in folder.rglob("*")}


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_bad_input_ends_with_one_clear_line(path, tmp_path, capsys, monkeypatch):
    case = load_case(path)
    monkeypatch.chdir(tmp_path)
    make_files(case, tmp_path)
    before = snapshot(tmp_path)
    args = [arg.replace("{dir}", str(tmp_path)) for arg in case["args"]]
    try:
        code = main(args)
    except SystemExit as exit_:  # argparse's errors
        code = exit_.code
    err = capsys.readouterr().err
    assert code == 2, f"exit code {code}; stderr:\n{err}"
    assert "Traceback" not in err
    error_lines = [line for line in err.splitlines() if "error:" in line]
    assert len(error_lines) == 1, err
    assert case["error"].replace("{dir}", str(tmp_path)) in error_lines[0]
    assert snapshot(tmp_path) == before, "a refused command wrote something"


def test_every_case_is_well_formed_and_every_class_has_two_cases():
    kinds = Counter()
    for path in CASES:
        case = load_case(path)
        assert set(case) <= {"about", "kind", "args", "error", "files", "folders"}, path.name
        assert case["kind"] in KINDS and case["about"] and case["error"] and case["args"], path.name
        kinds[case["kind"]] += 1
    assert set(kinds) == KINDS and min(kinds.values()) >= 2, kinds
