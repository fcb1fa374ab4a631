"""Sweeps on a real Dask cluster (a scheduler and two workers on 127.0.0.1) equal local runs."""

import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest

from sim import ParameterError
from sim.sweep_folder import LEDGER
from sim.sweeps import load_results, run_sweep, sweep

pytest.importorskip("distributed")
DASK = str(Path(sys.executable).with_name("dask"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def dask_cluster(workers: int):
    """A scheduler and ``workers`` one-thread workers on 127.0.0.1: (address, scheduler, workers)."""
    from distributed import Client

    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    common = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    scheduler = subprocess.Popen(
        [DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"], **common
    )
    helpers = []
    try:
        for _ in range(workers):
            helpers.append(
                subprocess.Popen(
                    [DASK, "worker", address, "--nthreads", "1", "--no-dashboard", "--host", "127.0.0.1"], **common
                )
            )
        deadline = time.monotonic() + 60
        with Client(address, timeout="30s") as client:
            while len(client.scheduler_info()["workers"]) < workers:
                assert time.monotonic() < deadline, "dask workers did not start"
                time.sleep(0.2)
        yield address, scheduler, helpers
    finally:
        for process in [*reversed(helpers), scheduler]:
            process.kill()
            process.wait(timeout=30)


@pytest.fixture(scope="module")
def cluster():
    with dask_cluster(2) as (address, _, _):
        yield address


def test_sweep_on_a_dask_cluster_equals_a_local_sweep(cluster, tmp_path):
    spec = {
        "scenario": "lecun_is_right",
        "parameters": {"drivers.sunk_cost": {"values": [0, 1.5, 3]}},
        "replicates": {"count": 30},
        "outputs": {"chunk_size": 16, "series": ["x"]},
    }
    on_cluster = sweep(spec, out=tmp_path / "cluster", scheduler=cluster)
    local = sweep(spec, out=tmp_path / "local", workers=2)
    assert len(on_cluster) == 90
    pd.testing.assert_frame_equal(on_cluster, local, check_exact=True)


def test_unreachable_scheduler_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr("sim.sweeps.CONNECT_TIMEOUT", "1s")
    with pytest.raises(ParameterError, match="cannot connect"):
        sweep({"replicates": {"count": 2}}, out=tmp_path / "x", scheduler=f"tcp://127.0.0.1:{free_port()}")
    assert not (tmp_path / "x").exists()  # nothing written before the cluster answered


LONG = {
    "scenario": "baseline",
    "steps": 40,
    "parameters": {"drivers.sunk_cost": {"range": {"start": 0, "stop": 3, "step": 0.5}}},
    "replicates": {"count": 100},
    "outputs": {"chunk_size": 10},
}  # 700 runs in 70 chunks


def kill_after_chunks(out, chunks: int, process: subprocess.Popen) -> threading.Thread:
    def watch():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            ledger = out / LEDGER
            if ledger.exists() and ledger.read_text().count("\n") >= chunks:
                break
            time.sleep(0.01)
        process.kill()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_a_lost_scheduler_is_a_clear_error_and_the_sweep_resumes_locally(tmp_path):
    out = tmp_path / "out"
    with dask_cluster(1) as (address, scheduler, _):
        kill_after_chunks(out, 2, scheduler)
        with pytest.raises(ParameterError, match=r"lost the Dask scheduler.*finished chunks are saved: --resume"):
            run_sweep(LONG, out, scheduler=address)
    assert 2 <= (out / LEDGER).read_text().count("\n") < 70
    report = run_sweep(LONG, out, resume=True, workers=1)
    assert report.chunks_skipped >= 2
    reference = sweep(LONG, workers=1)
    pd.testing.assert_frame_equal(load_results(out), reference, check_exact=True)


def test_no_worker_left_times_out_with_a_message(tmp_path, monkeypatch):
    monkeypatch.setattr("sim.sweeps.WATCH_SECONDS", 0.2)
    monkeypatch.setattr("sim.sweeps.NO_WORKER_TIMEOUT", 2.0)
    out = tmp_path / "out"
    with dask_cluster(1) as (address, _, [worker]):
        kill_after_chunks(out, 2, worker)
        started = time.monotonic()
        with pytest.raises(ParameterError, match="no Dask worker for 2 s; finished chunks are saved"):
            run_sweep(LONG, out, scheduler=address)
    assert time.monotonic() - started < 60


def test_ema_evaluator_on_a_dask_cluster_equals_a_local_run(cluster):
    """The EMA evaluator's experiments on the cluster give the outcomes of a local run, bit for bit."""
    pytest.importorskip("ema_workbench")
    import numpy as np
    from ema_workbench.em_framework.samplers import LHSSampler

    from sim.ema import LockstepEvaluator, build_model

    model = build_model(
        "baseline", {"environment.llm_ceiling": (1.3, 5.0)}, ["llm_spend_share", "Meta_like__final_share"], seeds=[1, 2]
    )
    design = LHSSampler().generate_samples(model.uncertainties, 8, rng=3)
    with LockstepEvaluator(model, chunk_size=4) as local:
        _, here = local.perform_experiments(scenarios=design)
    with LockstepEvaluator(model, chunk_size=4, scheduler=cluster) as remote:
        _, there = remote.perform_experiments(scenarios=design)
        assert remote.client is not None
    assert remote.client is None  # closed with the evaluator
    for name in here:
        np.testing.assert_array_equal(np.ma.filled(there[name], np.nan), np.ma.filled(here[name], np.nan))


def test_a_policy_in_code_runs_on_cluster_workers_when_allowed(cluster):
    """The sweep's chunks carry --allow-code-policies to the workers (new processes that never saw it)."""
    from sim.policies import allow_code_policies

    spec = {
        "scenario": "baseline",
        "steps": 8,
        "parameters": {"firms.Meta-like.policy": {"values": ["sim.policies:Hedger", "hedger"]}},
        "replicates": {"count": 3},
        "outputs": {"chunk_size": 2, "firm_measures": ["mean_x"]},
    }
    allow_code_policies()
    try:
        remote = sweep(spec, scheduler=cluster)
    finally:
        allow_code_policies(False)
    assert (remote.status == "ok").all()
    by_name = remote.groupby("firms__Meta_like__policy").Meta_like__mean_x.apply(list)
    assert by_name["sim.policies:Hedger"] == by_name["hedger"]  # the same class, named two ways
