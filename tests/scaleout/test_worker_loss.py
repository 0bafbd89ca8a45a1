"""A worker killed mid-run (LocalCluster): Dask reruns its task elsewhere, or the run stops with a clear message
and writes nothing (never a half report)."""

from __future__ import annotations

import os
import re
import signal
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

distributed = pytest.importorskip("distributed")
import cloudpickle  # noqa: E402  (a dependency of distributed)
import dask  # noqa: E402

import qamtu.chain.national as run_module  # noqa: E402
from qamtu.cli.app import app  # noqa: E402
from qamtu.distributed import open_executor  # noqa: E402
from qamtu.errors import QamtuError  # noqa: E402

# the workers unpickle this module's functions by value (they cannot import the test package)
cloudpickle.register_pickle_by_value(sys.modules[__name__])


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)  # as the kernel's OOM killer would


def square_but_die_once(x: int, marker: str) -> int:
    """Kills its worker the first time it runs for ``x`` (a marker file remembers), then computes."""
    flag = Path(marker) / f"{x}"
    if x == 1 and not flag.exists():
        flag.write_text("died once")
        _die()
    return x * x


def always_die(*args, **kwargs):
    _die()


def test_a_task_whose_worker_dies_is_rerun_on_another(tmp_path):
    with dask.config.set({"distributed.scheduler.allowed-failures": 3}):
        with open_executor("local:2") as ex:
            assert ex.map(square_but_die_once, [(x, str(tmp_path)) for x in range(4)]) == [0, 1, 4, 9]
    assert (tmp_path / "1").read_text() == "died once"  # the worker did die


def test_a_task_that_keeps_killing_workers_stops_the_run_with_a_clear_message(tmp_path):
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        with open_executor("local:2") as ex:
            with pytest.raises(QamtuError, match=r"the task always_die of [ab] failed because its worker died.*"
                                                 r"Nothing was written"):
                ex.keep(always_die, [(1,), (2,)], labels=["a", "b"])


def test_national_whose_worker_dies_writes_no_report(tmp_path, monkeypatch):
    monkeypatch.setattr(run_module, "plan_one_city", always_die)
    out = tmp_path / "report"
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        result = CliRunner().invoke(app, ["national", "--cities", "konaev,aktau", "--resolution-m", "1000",
                                          "--out", str(out), "--dask", "local:2"])
    assert result.exit_code == 2, result.output
    last = result.output.strip().splitlines()[-1]
    assert "worker died" in last and "Nothing was written" in last
    assert re.search(r"the task \w+ of (konaev|aktau) failed", last), last  # names the city
    assert not out.exists()


def city_result(x: int) -> list[int]:
    return [x] * 1000


def total(values: list[int]) -> int:
    return sum(values)


def test_a_result_lost_with_its_worker_is_recomputed_when_needed(tmp_path):
    """A city stage kept on the workers (``keep``) survives the death of the worker holding it: the next
    ``call`` on it (a gate, in a national run) recomputes it from its inputs elsewhere."""
    with open_executor("local:2") as ex:
        handles = ex.keep(city_result, [(1,), (2,)], labels=["a", "b"])
        holder = next(iter(ex.client.who_has(handles[0])[handles[0].key]))
        try:
            ex.client.run(_die, workers=[holder])
        except Exception:  # the worker died while answering: expected
            pass
        deadline = time.monotonic() + 30
        while holder in ex.client.scheduler_info()["workers"] and time.monotonic() < deadline:
            time.sleep(0.1)
        assert holder not in ex.client.scheduler_info()["workers"]  # it really died (the nanny starts a new one)
        assert ex.call(total, handles[0]) == 1000
        assert ex.call(total, handles[1]) == 2000
