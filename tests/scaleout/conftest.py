"""A Dask scheduler and two worker processes on loopback (127.0.0.1), started as separate programs.

This is the deployment the README describes (``dask scheduler`` / ``dask worker``), on one machine: the workers
import qamtu from this checkout (``PYTHONPATH``), as every machine of a cluster must run the same version.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"

#: Two small cities on a coarse grid: the scenario of the national CLI test.
from report.test_national_cli import SCENARIO  # noqa: E402  (tests/ is on sys.path: pytest's rootdir insertion)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.setdefault("NUMBA_NUM_THREADS", "1")
    return env


@pytest.fixture(scope="session")
def loopback_cluster(tmp_path_factory):
    """``tcp://127.0.0.1:PORT`` of a scheduler with two single-threaded worker processes."""
    pytest.importorskip("distributed")
    root = tmp_path_factory.mktemp("dask")
    sched_file = root / "scheduler.json"
    procs = []
    py = sys.executable
    try:
        procs.append(subprocess.Popen(
            [py, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0",
             "--dashboard-address", "127.0.0.1:0", "--scheduler-file", str(sched_file)],
            env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        deadline = time.monotonic() + 60
        while not sched_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        address = json.loads(sched_file.read_text())["address"]
        for i in range(2):
            procs.append(subprocess.Popen(
                [py, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1", "--nworkers", "1",
                 "--host", "127.0.0.1", "--name", f"w{i}", "--local-directory", str(root / f"w{i}")],
                env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        from distributed import Client

        with Client(address, timeout="60s") as client:
            client.wait_for_workers(2, timeout=90)
        yield address
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in reversed(procs):
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
