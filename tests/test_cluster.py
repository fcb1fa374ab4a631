"""Sweeps on a real Dask cluster (a scheduler and two workers on 127.0.0.1) equal local runs."""

import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from sim import ParameterError
from sim.sweeps import sweep

pytest.importorskip("distributed")
DASK = str(Path(sys.executable).with_name("dask"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def cluster():
    from distributed import Client

    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    common = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    processes = [
        subprocess.Popen([DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"], **common)
    ]
    try:
        for _ in range(2):
            processes.append(
                subprocess.Popen(
                    [DASK, "worker", address, "--nthreads", "1", "--no-dashboard", "--host", "127.0.0.1"], **common
                )
            )
        deadline = time.monotonic() + 60
        with Client(address, timeout="30s") as client:
            while len(client.scheduler_info()["workers"]) < 2:
                assert time.monotonic() < deadline, "dask workers did not start"
                time.sleep(0.2)
        yield address
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            process.wait(timeout=30)


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
