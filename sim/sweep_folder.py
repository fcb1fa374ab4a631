"""A sweep's results folder: what is in it, what resume may trust, and who may write to it.

    OUT/manifest.json                     spec, its hash, the model's identity, design, seeds, status
    OUT/chunks.jsonl                      the ledger: one line per finished chunk (rows, run ids, a
                                          hash of its planned runs, failed runs, size and SHA-256 of
                                          each of its files, the model identity)
    OUT/runs/chunk-000000.parquet ...     one row per run: parameters, seed, measures
    OUT/firms/chunk-000000.parquet ...    one row per run and firm: the firm measures, when asked for
    OUT/series/chunk-000000.parquet ...   per-step variables, when the spec asks for them
                                          (`sim.tables`: the columns, their names and metadata)
    OUT/.lock                             held by the one process writing the folder

A chunk counts as done only when its ledger line is there and its files still match it: on
resume every line is checked (the chunk's size, run ids and planned runs against the plan,
the files it must have, their sizes and checksums, the model identity it was made with) and
any chunk that fails is run again. Every file is written under a per-process temporary name and renamed, and the ledger
line is appended last, so a sweep killed at any point leaves only chunks that verify or
chunks that are redone. The model identity (spec hash, base scenario hash, a hash of the model's
code, the versions of aisim, Python and the libraries) is in the manifest and in each ledger
line, so a damaged manifest can be rebuilt on resume without trusting chunks of another model.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from sim.files import write_atomically
from sim.params import ParameterError
from sim.policies import code_fingerprint
from sim.tables import TABLES, Layout

MANIFEST = "manifest.json"
LEDGER = "chunks.jsonl"
LOCK = ".lock"


@dataclass
class FolderState:
    """What resume found: chunks that verify (with their failed runs) and what it had to redo."""

    done: dict[int, int] = field(default_factory=dict)  # chunk -> failed runs in it
    redo: list[str] = field(default_factory=list)  # one line per chunk that failed its check
    notes: list[str] = field(default_factory=list)  # anything else resume repaired


def chunk_name(index: int) -> str:
    return f"chunk-{index:06d}.parquet"


def model_identity(spec_hash: str, base: dict, policies: list[str] = ()) -> dict[str, str]:
    """What must not change between a sweep's start and its resume: the spec, the base scenario,
    the model's code itself (a hash of every module of ``sim``, so that an edit without a new
    version number counts), the code of any policy not built in that the runs use (``policies``: their
    names), Python and the libraries the runs and their files depend on."""
    import platform
    from importlib.metadata import version

    import sim

    identity = {
        "spec_hash": spec_hash,
        "base_scenario_hash": scenario_hash(base),
        "aisim_version": sim.__version__,
        "code_hash": _code_hash(),
        "policy_code_hash": code_fingerprint(list(policies)),
        "python_version": platform.python_version(),
    }
    identity.update({f"{package}_version": version(package) for package in PACKAGES})
    return identity


PACKAGES = ("numpy", "scipy", "pandas", "pyarrow", "pydantic", "mesa")
"""Libraries whose versions a sweep records and resume compares: numpy and scipy compute the runs
(scipy samples lhs and sobol plans), pandas and pyarrow write the files, pydantic validates the
scenarios, mesa runs the model the engine is checked against."""


def scenario_hash(data: dict) -> str:
    """A short hash of a resolved scenario's data (parents and overrides applied)."""
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]


@functools.cache
def _code_hash() -> str:
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


IDENTITY_NAMES = {
    "spec_hash": "a sweep spec of hash",
    "base_scenario_hash": "a base scenario (parameters, parents included) of hash",
    "aisim_version": "aisim",
    "code_hash": "model code (the sim package's modules) of hash",
    "policy_code_hash": "policy code (policies in code or registered, not built in) of hash",
    "python_version": "Python",
    **{f"{package}_version": package for package in PACKAGES},
}


def plan_hash(rows: pd.DataFrame) -> str:
    """A hash of a chunk's planned runs (run ids, seeds, parameter values), recorded in its ledger line."""
    return hashlib.sha256(pd.util.hash_pandas_object(rows, index=False).to_numpy().tobytes()).hexdigest()[:16]


@contextmanager
def locked(out: Path) -> Iterator[None]:
    """Hold the folder's lock for the duration; refuse when another process holds it.

    The lock is an OS file lock (``flock``): it goes with the process that holds it, so a
    killed sweep never leaves a stale lock behind.
    """
    import fcntl

    handle = open(out / LOCK, "a+")  # noqa: SIM115 (held open for the lock's lifetime)
    _held_locks.add(handle.fileno())
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise ParameterError(
                f"{out}: another aisim sweep (process {holder}) is writing to this folder; wait for it to finish "
                "or stop it, then --resume"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield
    finally:
        _held_locks.discard(handle.fileno())
        handle.close()


_held_locks: set[int] = set()  # file descriptors of the locks this process holds


def close_inherited_locks() -> None:
    """In a forked child: close its copies of the parent's lock files, so that the lock goes when
    the parent lets it go (closing a copy never releases the parent's lock; ``LOCK_UN`` would)."""
    for descriptor in _held_locks:
        with contextlib.suppress(OSError):
            os.close(descriptor)
    _held_locks.clear()


def open_folder(out: Path) -> None:
    """Create the folder (and its parents), or refuse a path that cannot be a results folder."""
    if out.exists() and not out.is_dir():
        raise ParameterError(f"{out}: exists and is not a folder; --out names a folder for the results")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ParameterError(f"{out}: cannot create the results folder: {err.strerror or err}") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise ParameterError(f"{out}: the results folder is not writable")


@dataclass
class Expected:
    """What each chunk of this sweep must be: its run ids, a hash of its planned runs (`plan_hash`,
    computed when asked) and the tables it writes."""

    chunk_runs: list[range]
    plan_hash_of: Callable[[int], str]
    tables: tuple[str, ...]


def check(out: Path, identity: dict[str, str], resume: bool) -> dict | None:
    """Refuse a folder this sweep may not write to, without writing anything; return its manifest
    (None for a new folder, or a damaged manifest that --resume may rebuild)."""
    manifest_path = out / MANIFEST
    if not manifest_path.exists():
        if not _holds_nothing(out):
            raise ParameterError(f"{out}: folder is not empty and holds no sweep manifest; choose a new --out folder")
        return None
    recorded = _read_manifest(manifest_path)
    if recorded is None:
        if not ((out / LEDGER).exists() or (out / "runs").is_dir()):
            raise ParameterError(f"{out}: holds a {MANIFEST} that is not a sweep's; choose a new --out folder")
        if not resume:
            raise ParameterError(
                f"{out}: {MANIFEST} is damaged; add --resume to rebuild it from this spec (chunks are kept only "
                "where the ledger shows this same spec and model made them)"
            )
        return None
    _check_identity(out, recorded, identity)
    if not resume:
        status = "complete" if recorded.get("status") == "complete" else "unfinished"
        raise ParameterError(f"{out}: already holds this sweep ({status}); add --resume to finish or reuse it")
    return recorded


def prepare(out: Path, manifest: dict, identity: dict[str, str], expected: Expected, resume: bool) -> FolderState:
    """Check the folder against this sweep (call with the lock held); return the chunks that verify.

    ``manifest`` is the manifest a fresh folder gets.
    """
    state = FolderState()
    recorded = check(out, identity, resume)
    if recorded is None and (out / MANIFEST).exists():
        state.notes.append(f"{MANIFEST} was damaged: rebuilt from this spec")
    manifest = {**(recorded or manifest), "status": "running"}
    manifest.pop("failed_runs", None)
    for leftover in [*out.glob(".*.tmp"), *(p for t in TABLES for p in (out / t).glob(".*.tmp"))]:
        leftover.unlink()  # a file a killed sweep was writing (no other writer: the lock is held)
    write_json(out / MANIFEST, manifest)  # first, so that a folder that has anything has a manifest
    for table in TABLES:
        (out / table).mkdir(exist_ok=True)
    entries = _read_ledger(out / LEDGER, state)
    for index, entry in sorted(entries.items()):
        try:
            problem = _problem(out, index, entry, identity, expected)
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError):
            problem = "its ledger line is malformed"
        if problem is None:
            state.done[index] = entry["failed"]
        else:
            state.redo.append(f"chunk {index}: {problem}; running it again")
            entries.pop(index)
    write_lines(out / LEDGER, [entries[i] for i in sorted(entries)])  # the verified lines only
    return state


def _read_manifest(path: Path) -> dict | None:
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return manifest if isinstance(manifest, dict) and "spec_hash" in manifest else None


def _check_identity(out: Path, recorded: dict, identity: dict[str, str]) -> None:
    if recorded.get("spec_hash") != identity["spec_hash"]:
        raise ParameterError(
            f"{out}: holds the results of a different sweep spec (hash {recorded.get('spec_hash')}, this spec "
            f"{identity['spec_hash']}); resuming would mix them. Use another --out folder."
        )
    if recorded.get("base_scenario_hash") != identity["base_scenario_hash"]:
        spec = recorded.get("spec")
        name = spec.get("scenario") if isinstance(spec, dict) else None
        raise ParameterError(
            f"{out}: the base scenario {name or '(not recorded)'!r} (or a scenario it extends) has changed since "
            f"this sweep's runs were made (scenario hash {recorded.get('base_scenario_hash', 'not recorded')} then, "
            f"{identity['base_scenario_hash']} now); resuming would mix results of two models. Restore the "
            "scenario file (the manifest holds its data as it was, under 'base_scenario'), or use another --out folder."
        )
    for key, now in identity.items():
        if recorded.get(key) != now:
            raise ParameterError(
                f"{out}: its runs were made with {IDENTITY_NAMES[key]} {recorded.get(key, 'not recorded')}, this "
                f"sweep has {now}; resuming would mix results of two models. Restore it, or use another --out folder."
            )


def _holds_nothing(out: Path) -> bool:
    """True when the folder holds nothing but what a sweep that never wrote its manifest leaves."""
    for path in out.iterdir():
        if path.name == LOCK or (path.name.startswith(".") and path.name.endswith(".tmp")):
            continue
        if path.name in TABLES and path.is_dir() and not any(path.iterdir()):
            continue
        return False
    return True


def _read_ledger(path: Path, state: FolderState) -> dict[int, dict]:
    """The ledger's entries by chunk (the last line of a chunk wins); unreadable lines are noted."""
    entries: dict[int, dict] = {}
    if not path.exists():
        return entries
    damaged = 0
    for line in path.read_bytes().splitlines():
        try:
            entry = json.loads(line)
            entries[int(entry["chunk"])] = entry
        except (ValueError, KeyError, TypeError, OverflowError, RecursionError):
            damaged += 1
    if damaged:
        state.notes.append(
            f"{LEDGER}: {damaged} unreadable line(s) ignored (a write cut short); those chunks run again"
        )
    return entries


def _problem(out: Path, index: int, entry: dict, identity: dict[str, str], expected: Expected) -> str | None:
    """Why a ledger entry cannot be trusted, or None when its chunk verifies."""
    if entry.get("identity") != identity:
        return "made by another spec or model"
    if not 0 <= index < len(expected.chunk_runs):
        return "not part of this sweep's plan"
    runs = expected.chunk_runs[index]
    if (entry.get("rows"), entry.get("first_run_id"), entry.get("last_run_id")) != (
        len(runs),
        runs.start,
        runs.stop - 1,
    ):
        return "its rows or run ids do not match the plan"
    if entry.get("plan") != expected.plan_hash_of(index):
        return "its runs' parameters or seeds do not match the plan"
    names = {f"{table}/{chunk_name(index)}" for table in expected.tables}
    allowed = [names]
    if entry["failed"] == len(runs):  # runs with invalid parameters never ran: no series (NaN runs have one)
        allowed.append(names - {f"series/{chunk_name(index)}"})
    if set(entry["files"]) not in allowed or not isinstance(entry["failed"], int):
        return "its ledger line does not list the chunk's files"
    for name, recorded in entry["files"].items():
        path = out / name
        if not path.is_file():
            return f"{name} is missing"
        if path.stat().st_size != recorded["bytes"]:
            return f"{name} has changed size since it was written"
        if file_sha256(path) != recorded["sha256"]:
            return f"{name} has changed since it was written (checksum)"
    return None


def record_chunk(
    out: Path,
    index: int,
    frames: dict[str, pd.DataFrame],
    failed: int,
    identity: dict,
    plan: str,
    layout: Layout,
) -> None:
    """Write a finished chunk's tables (``frames``, by table name; the runs table is needed), then
    its ledger line (the line is what makes it count as done)."""
    import pyarrow.parquet as pq

    files = {}
    for table in sorted(frames, key=lambda name: name == "runs"):  # the runs table last
        name = f"{table}/{chunk_name(index)}"
        arrow = layout.arrow(table, frames[table])
        write_atomically(out / name, lambda temporary, arrow=arrow: pq.write_table(arrow, temporary))
        files[name] = {"bytes": (out / name).stat().st_size, "sha256": file_sha256(out / name)}
    run_ids = frames["runs"].run_id.to_numpy()
    entry = {
        "chunk": index,
        "rows": len(run_ids),
        "first_run_id": int(run_ids[0]),
        "last_run_id": int(run_ids[-1]),
        "failed": failed,
        "files": files,
        "identity": identity,
        "plan": plan,
    }
    with open(out / LEDGER, "a", encoding="utf-8") as ledger:
        ledger.write(json.dumps(entry, sort_keys=True) + "\n")
        ledger.flush()
        os.fsync(ledger.fileno())


def finish(out: Path, chunk_count: int) -> int:
    """Mark the sweep complete when every chunk is in the ledger; return its failed runs so far."""
    entries = _read_ledger(out / LEDGER, FolderState())
    failed = sum(entry["failed"] for entry in entries.values())
    if len(entries) == chunk_count:
        manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
        manifest.update(status="complete", failed_runs=failed, finished=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
        write_json(out / MANIFEST, manifest)
    return failed


def chunk_files(out: Path, table: str) -> list[Path]:
    """The files of a table for the chunks the ledger lists (files of unfinished chunks are left out)."""
    ledger = out / LEDGER
    if not ledger.exists():  # a folder written before the ledger existed
        return sorted((out / table).glob("chunk-*.parquet"))
    entries = _read_ledger(ledger, FolderState())
    names = [f"{table}/{chunk_name(i)}" for i in sorted(entries) if f"{table}/{chunk_name(i)}" in _files(entries[i])]
    missing = [name for name in names if not (out / name).is_file()]
    if missing:
        raise ParameterError(f"{out}: {', '.join(missing[:3])} missing; run the sweep with --resume to redo them")
    return [out / name for name in names]


def _files(entry: object) -> dict:
    files = entry.get("files") if isinstance(entry, dict) else None
    return files if isinstance(files, dict) else {}


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def write_json(path: Path, data: dict) -> None:
    write_atomically(path, lambda temporary: Path(temporary).write_text(json.dumps(data, indent=1, default=str) + "\n"))


def write_lines(path: Path, entries: list[dict]) -> None:
    text = "".join(json.dumps(entry, sort_keys=True) + "\n" for entry in entries)
    write_atomically(path, lambda temporary: Path(temporary).write_text(text, encoding="utf-8"))
