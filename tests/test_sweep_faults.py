"""Faults a sweep must survive: damaged chunks, a damaged manifest or ledger, two writers, kills.

Each case damages a finished sweep folder (or the process writing it) and checks that the
result after ``--resume`` equals an undisturbed sweep: no row lost, duplicated or changed.
"""

import json
import os
import resource
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from sim import ParameterError
from sim.sweep_folder import LEDGER, locked
from sim.sweeps import load_results, run_sweep
from tests.helpers import children_of, is_alive

SPEC = {
    "scenario": "baseline",
    "steps": 10,
    "parameters": {"drivers.sunk_cost": {"values": [0, 1, 2]}},
    "replicates": {"count": 6},
    "outputs": {"chunk_size": 4, "series": ["x"]},
}  # 18 runs in 5 chunks


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("reference") / "out"
    run_sweep(SPEC, out, workers=1)
    return {table: load_results(out, table) for table in ("runs", "series")}


def assert_same_as_reference(out, reference):
    for table, want in reference.items():
        got = load_results(out, table)
        pd.testing.assert_frame_equal(got, want, check_exact=True)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert not list(out.rglob(".*.tmp"))


def finished(tmp_path):
    out = tmp_path / "out"
    run_sweep(SPEC, out, workers=1)
    return out


def truncate(path, keep_fraction=0.5):
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep_fraction)])


def half_the_rows(path):
    table = pd.read_parquet(path)
    table.iloc[: len(table) // 2].to_parquet(path, index=False)


DAMAGE = {
    "truncated runs chunk": lambda out: truncate(out / "runs" / "chunk-000001.parquet"),
    "empty runs chunk": lambda out: (out / "runs" / "chunk-000002.parquet").write_bytes(b""),
    "runs chunk with half its rows": lambda out: half_the_rows(out / "runs" / "chunk-000003.parquet"),
    "deleted series chunk": lambda out: (out / "series" / "chunk-000000.parquet").unlink(),
    "deleted runs chunk": lambda out: (out / "runs" / "chunk-000004.parquet").unlink(),
    "edited value, same size": lambda out: _flip_a_byte(out / "runs" / "chunk-000001.parquet"),
}


def _flip_a_byte(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("case", sorted(DAMAGE))
def test_resume_redoes_a_damaged_chunk(case, tmp_path, reference):
    out = finished(tmp_path)
    DAMAGE[case](out)
    report = run_sweep(SPEC, out, resume=True)
    assert report.chunks_run == 1 and report.chunks_skipped == 4, report.redone
    assert len(report.redone) == 1 and "running it again" in report.redone[0]
    assert_same_as_reference(out, reference)


def test_a_chunk_whose_ledger_line_was_cut_short_is_redone(tmp_path, reference):
    out = finished(tmp_path)
    ledger = out / LEDGER
    ledger.write_bytes(ledger.read_bytes()[:-40])  # the last line loses its end
    report = run_sweep(SPEC, out, resume=True)
    assert report.chunks_run == 1
    assert_same_as_reference(out, reference)
    assert all(json.loads(line) for line in ledger.read_text().splitlines())


def test_chunk_files_without_a_ledger_line_are_not_counted(tmp_path, reference):
    """Killed between writing a chunk's files and its ledger line: the chunk is run again."""
    out = finished(tmp_path)
    lines = (out / LEDGER).read_text().splitlines()
    (out / LEDGER).write_text("\n".join(lines[:-2]) + "\n")
    (out / "manifest.json").write_text(
        json.dumps({**json.loads((out / "manifest.json").read_text()), "status": "running"})
    )
    assert sorted(load_results(out).run_id) == list(range(12))  # unfinished chunks are not read
    report = run_sweep(SPEC, out, resume=True)
    assert report.chunks_run == 2
    assert_same_as_reference(out, reference)


def test_a_damaged_manifest_is_refused_then_rebuilt_on_resume(tmp_path, reference):
    out = finished(tmp_path)
    truncate(out / "manifest.json", 0.3)
    with pytest.raises(ParameterError, match=r"manifest.json is damaged; add --resume to rebuild it"):
        run_sweep(SPEC, out)
    report = run_sweep(SPEC, out, resume=True)
    assert report.chunks_run == 0 and report.chunks_skipped == 5
    assert_same_as_reference(out, reference)


def test_a_rebuilt_manifest_keeps_no_chunk_of_another_spec(tmp_path):
    out = finished(tmp_path)
    (out / "manifest.json").write_text("{")
    other = {**SPEC, "steps": 11}
    report = run_sweep(other, out, resume=True)
    assert report.chunks_skipped == 0 and report.chunks_run == 5
    assert all("another spec or model" in line for line in report.redone)


def test_a_second_writer_is_refused_while_the_first_holds_the_folder(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    with locked(out):
        code = (
            "import sys; from sim.sweeps import run_sweep; from sim import ParameterError\n"
            f"try: run_sweep({SPEC!r}, {str(out)!r})\n"
            "except ParameterError as err: print(err); sys.exit(2)\n"
        )
        second = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert second.returncode == 2, second.stderr
    assert f"another aisim sweep (process {os.getpid()}) is writing to this folder" in second.stdout
    assert not (out / "manifest.json").exists()


def test_out_that_is_a_file_is_refused_before_anything_runs(tmp_path):
    path = tmp_path / "results"
    path.write_text("not a folder")
    with pytest.raises(ParameterError, match="exists and is not a folder"):
        run_sweep(SPEC, path)
    assert path.read_text() == "not a folder"


def test_a_disk_full_first_manifest_leaves_a_folder_that_can_be_used(tmp_path, reference):
    """A write cut off by the file-size limit (as on a full disk): a clear error, then a clean start."""
    out = tmp_path / "out"
    code = (
        "import resource, signal, sys\n"
        "from sim.cli import main\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        f"resource.setrlimit(resource.RLIMIT_FSIZE, (100, {resource.RLIM_INFINITY}))\n"
    )
    spec_file = tmp_path / "spec.toml"
    spec_file.write_text(
        'scenario = "baseline"\nsteps = 10\n[parameters."drivers.sunk_cost"]\nvalues = [0, 1, 2]\n'
        '[replicates]\ncount = 6\n[outputs]\nchunk_size = 4\nseries = ["x"]\n'
    )
    code += f"sys.exit(main(['sweep', {str(spec_file)!r}, '--out', {str(out)!r}, '--workers', '1', '--quiet']))\n"
    full = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert full.returncode == 2, full.stderr
    assert "cannot write" in full.stderr and "Traceback" not in full.stderr
    report = run_sweep(SPEC, out, resume=True)
    assert report.chunks_run == 5
    assert_same_as_reference(out, reference)


def _sweep_command(spec_file, out, workers):
    return [sys.executable, "-m", "sim", "sweep", str(spec_file), "--out", str(out), "--workers", str(workers)]


def _long_spec(tmp_path):
    spec = tmp_path / "long.toml"
    spec.write_text(
        'scenario = "baseline"\nsteps = 40\n[parameters."drivers.sunk_cost"]\n'
        "range = { start = 0, stop = 3, step = 0.5 }\n"
        '[replicates]\ncount = 300\n[outputs]\nchunk_size = 30\nseries = ["x"]\n'
    )
    return spec


def _wait_for_chunks(out, count, process):
    deadline = time.monotonic() + 60
    ledger = out / LEDGER
    while time.monotonic() < deadline and process.poll() is None:
        if ledger.exists() and ledger.read_text().count("\n") >= count:
            return
        time.sleep(0.005)
    raise AssertionError("the sweep did not reach the chunk count in time")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="helpers' parent-death signal is Linux's")
@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM])
def test_helpers_die_with_the_sweep_and_resume_gives_the_same_rows(how, tmp_path):
    spec = _long_spec(tmp_path)
    out = tmp_path / "out"
    process = subprocess.Popen([*_sweep_command(spec, out, 3), "--quiet"], stderr=subprocess.PIPE, text=True)
    _wait_for_chunks(out, 3, process)
    helpers = children_of(process.pid)
    assert helpers, "the sweep has no helper processes to check"
    os.kill(process.pid, how)
    _, stderr = process.communicate(timeout=30)
    deadline = time.monotonic() + 10
    while any(is_alive(h) for h in helpers) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not any(is_alive(h) for h in helpers), "helper processes outlived the sweep"
    if how == signal.SIGTERM:
        assert process.returncode == 130 and "finish with --resume" in stderr and "Traceback" not in stderr
    resumed = subprocess.run([*_sweep_command(spec, out, 2), "--resume", "--quiet"], capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    reference = tmp_path / "reference"
    subprocess.run([*_sweep_command(spec, reference, 1), "--quiet"], check=True, capture_output=True)
    for table in ("runs", "series"):
        pd.testing.assert_frame_equal(load_results(out, table), load_results(reference, table), check_exact=True)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_killed_helper_is_replaced_and_its_chunks_run_again(tmp_path):
    spec = _long_spec(tmp_path)
    out = tmp_path / "out"
    process = subprocess.Popen([*_sweep_command(spec, out, 3), "--quiet"], stderr=subprocess.PIPE, text=True)
    _wait_for_chunks(out, 2, process)
    os.kill(children_of(process.pid)[0], signal.SIGKILL)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr and "helper process" in stderr
    reference = tmp_path / "reference"
    subprocess.run([*_sweep_command(spec, reference, 1), "--quiet"], check=True, capture_output=True)
    for table in ("runs", "series"):
        pd.testing.assert_frame_equal(load_results(out, table), load_results(reference, table), check_exact=True)


def test_resume_refuses_other_model_code_and_redoes_a_chunk_of_another_plan(tmp_path, reference):
    out = finished(tmp_path)
    manifest = json.loads((out / "manifest.json").read_text())
    (out / "manifest.json").write_text(json.dumps({**manifest, "code_hash": "0123456789abcdef"}))
    with pytest.raises(ParameterError, match=r"made with model code \(the sim package's modules\) of hash 0123"):
        run_sweep(SPEC, out, resume=True)
    (out / "manifest.json").write_text(json.dumps(manifest))
    lines = [json.loads(line) for line in (out / LEDGER).read_text().splitlines()]
    lines[2]["plan"] = "0" * 16  # as if its parameters or seeds had been others
    (out / LEDGER).write_text("".join(json.dumps(line) + "\n" for line in lines))
    report = run_sweep(SPEC, out, resume=True)
    assert report.chunks_run == 1 and "parameters or seeds do not match the plan" in report.redone[0]
    assert_same_as_reference(out, reference)


@pytest.mark.parametrize(
    "line",
    ['{"chunk": Infinity}', "[" * 100_000, '{"chunk": 1}', '{"chunk": "x", "files": 3}', "null"],
    ids=["infinite chunk", "nested 100,000 deep", "no files", "wrong types", "null"],
)
def test_crafted_ledger_lines_are_never_trusted(line, tmp_path, reference):
    out = finished(tmp_path)
    with (out / LEDGER).open("a") as ledger:
        ledger.write(line + "\n")
    report = run_sweep(SPEC, out, resume=True)
    assert report.chunks_run <= 1
    assert_same_as_reference(out, reference)


def test_a_ledger_line_without_its_series_file_is_redone(tmp_path, reference):
    out = finished(tmp_path)
    lines = [json.loads(line) for line in (out / LEDGER).read_text().splitlines()]
    del lines[0]["files"]["series/chunk-000000.parquet"]
    (out / LEDGER).write_text("".join(json.dumps(line) + "\n" for line in lines))
    report = run_sweep(SPEC, out, resume=True)
    assert report.chunks_run == 1 and "does not list the chunk's files" in report.redone[0]
    assert_same_as_reference(out, reference)


def test_load_results_names_a_missing_chunk_file(tmp_path):
    out = finished(tmp_path)
    (out / "runs" / "chunk-000003.parquet").unlink()
    with pytest.raises(ParameterError, match=r"runs/chunk-000003.parquet missing; run the sweep with --resume"):
        load_results(out)


def test_a_folder_with_someone_elses_manifest_is_refused_untouched(tmp_path):
    out = tmp_path / "webapp"
    out.mkdir()
    (out / "manifest.json").write_text('{"name": "my app"}')
    for resume in (False, True):
        with pytest.raises(ParameterError, match=r"holds a manifest\.json that is not a sweep's"):
            run_sweep(SPEC, out, resume=resume)
    assert [p.name for p in out.iterdir()] == ["manifest.json"]
    assert (out / "manifest.json").read_text() == '{"name": "my app"}'


def test_a_sweep_with_helpers_lets_the_next_one_use_the_folder_at_once(tmp_path):
    """Forked helpers must not keep the folder's lock after the sweep that started them returns."""
    for attempt in range(4):
        out = tmp_path / f"out{attempt}"
        run_sweep(SPEC, out, workers=3)
        assert run_sweep(SPEC, out, resume=True, workers=1).chunks_run == 0
