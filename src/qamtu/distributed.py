"""Where the per-city work runs: in this process, or on a Dask cluster (``--dask ADDRESS``).

:func:`open_executor` gives an :class:`Executor` for an address:

* ``None``: :class:`SequentialExecutor`, the work runs here, one unit after the other (the default; Dask is never
  imported).
* ``"local"``: a ``distributed.LocalCluster`` with one single-threaded worker process per CPU core;
  ``"local:N"``: N worker processes.
* ``"tcp://host:port"`` (or ``tls://``, ``ws://`` ...): the scheduler of a cluster started with
  ``dask scheduler`` / ``dask worker`` (README, "Running on several machines").

Both executors have the same three operations, so a run is the same code with and without Dask:

``keep(fn, items)``
    Runs ``fn(*item)`` for each item and returns handles. The result stays where it was computed (on a worker, as
    a Dask future: the large arrays of a city, e.g. its links, never travel to the driver).
``call(fn, handle, *args)``
    Runs ``fn(result, *args)`` where the result lives and returns its (small) return value to the driver.
``map(fn, items)``
    Runs ``fn(*item)`` for each item and gathers the (small) results, in order.

The functions and their arguments are the same in both modes and every seed is fixed inside them (per city and
per tile), so a run on a cluster gives the same numbers as the single-process run.

A worker that dies while it runs a task (out of memory, killed, machine lost) is replaced by Dask's own rules: the
scheduler reruns the task on another worker, up to ``distributed.scheduler.allowed-failures`` times (3 by
default); a task that keeps killing workers stops the run with :class:`~qamtu.errors.QamtuError` naming the task,
before anything is written. Lost results that a later step needs are recomputed from their inputs.

``import qamtu`` and ``import qamtu.engine`` never import Dask; this module imports it only inside
:class:`DaskExecutor`, and a missing extra is a :class:`~qamtu.errors.QamtuError` with the install line.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from qamtu.errors import InvalidInputError, QamtuError

#: ``progress(done, total, label)``: called as units of work finish.
Tick = Callable[[int, int, str], None]

INSTALL_LINE = "pip install 'qamtu[dask]'"
ADDRESS_HELP = "local, local:N (N worker processes) or a scheduler address such as tcp://host:8786"
_SCHEME = re.compile(r"^(tcp|tls|ws|wss|inproc|ucx)://\S+$")


def _no_tick(done: int, total: int, label: str) -> None:
    return None


class SequentialExecutor:
    """Runs everything here, in order (the default)."""

    address: str | None = None

    def keep(self, fn: Callable[..., Any], items: Sequence[tuple], *, labels: Sequence[str] | None = None,
             progress: Tick | None = None) -> list[Any]:
        tick = progress or _no_tick
        out = []
        for i, item in enumerate(items):
            tick(i, len(items), labels[i] if labels else "")
            out.append(fn(*item))
        tick(len(items), len(items), "")
        return out

    def call(self, fn: Callable[..., Any], handle: Any, *args: Any) -> Any:
        return fn(handle, *args)

    def call_many(self, fn: Callable[..., Any], handles: Sequence[Any], *args: Any) -> list[Any]:
        return [fn(h, *args) for h in handles]

    def map(self, fn: Callable[..., Any], items: Sequence[tuple], *, labels: Sequence[str] | None = None,
            progress: Tick | None = None) -> list[Any]:
        return self.keep(fn, items, labels=labels, progress=progress)

    def release(self, handles: Iterable[Any]) -> None:
        return None

    def close(self) -> None:
        return None


class DaskExecutor:
    """Runs the units of work on a ``distributed.Client`` (one task per unit).

    Parameters
    ----------
    client : distributed.Client
    address : str
        What the user gave (for messages).
    """

    def __init__(self, client: Any, address: str, cluster: Any = None) -> None:
        self.client = client
        self.address = address
        self._cluster = cluster

    def _failed(self, exc: BaseException, what: str) -> QamtuError:
        return QamtuError(
            f"the Dask run at {self.address} stopped: {what} failed because its worker died "
            f"({type(exc).__name__}: {exc}); Dask had already retried it on other workers. Nothing was written. "
            "Check the workers' memory (README, 'Running on several machines') and run again")

    @contextlib.contextmanager
    def _translate(self, what: str) -> Iterator[None]:
        from distributed import KilledWorker
        from distributed.comm.core import CommClosedError

        try:
            yield
        except KilledWorker as exc:
            raise self._failed(exc, what) from exc
        except CommClosedError as exc:  # the scheduler went away (a task's own OSError passes through as is)
            raise QamtuError(f"lost the Dask scheduler at {self.address}: {exc}") from exc

    def keep(self, fn: Callable[..., Any], items: Sequence[tuple], *, labels: Sequence[str] | None = None,
             progress: Tick | None = None) -> list[Any]:
        from distributed import KilledWorker, as_completed

        tick = progress or _no_tick
        labels = list(labels) if labels else [str(i) for i in range(len(items))]
        name = getattr(fn, "__name__", "task")
        futures = [self.client.submit(fn, *item, pure=False, key=f"{name}-{lab}-{os.urandom(4).hex()}")
                   for item, lab in zip(items, labels)]
        where = {f.key: lab for f, lab in zip(futures, labels)}
        tick(0, len(items), "")
        done = 0
        current = None
        try:
            for fut in as_completed(futures):
                current = fut
                if fut.status == "error":
                    fut.result()  # the task's own exception, or KilledWorker once Dask gave up retrying it
                done += 1
                tick(done, len(items), where[fut.key])
        except BaseException as exc:
            for f in futures:
                f.cancel()
            if isinstance(exc, KilledWorker):
                label = where.get(current.key, "?") if current is not None else "?"
                raise self._failed(exc, f"the task {name} of {label}") from exc
            raise
        return futures

    def call(self, fn: Callable[..., Any], handle: Any, *args: Any) -> Any:
        with self._translate(getattr(fn, "__name__", "a task")):
            return self.client.submit(fn, handle, *args, pure=False).result()

    def call_many(self, fn: Callable[..., Any], handles: Sequence[Any], *args: Any) -> list[Any]:
        with self._translate(getattr(fn, "__name__", "a task")):
            return self.client.gather([self.client.submit(fn, h, *args, pure=False) for h in handles])

    def map(self, fn: Callable[..., Any], items: Sequence[tuple], *, labels: Sequence[str] | None = None,
            progress: Tick | None = None) -> list[Any]:
        futures = self.keep(fn, items, labels=labels, progress=progress)
        with self._translate(getattr(fn, "__name__", "a task")):
            out = self.client.gather(futures)
        self.release(futures)
        return out

    def release(self, handles: Iterable[Any]) -> None:
        for h in handles:
            if hasattr(h, "release"):
                h.release()

    def close(self) -> None:
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()


Executor = SequentialExecutor | DaskExecutor


def parse_address(address: str) -> tuple[str, int | None]:
    """``("local", n_workers or None)`` or ``("remote", None)``; a bad address is an InvalidInputError."""
    text = address.strip()
    if text == "local":
        return "local", None
    m = re.fullmatch(r"local:(\d+)", text)
    if m:
        n = int(m.group(1))
        if not 1 <= n <= 1024:
            raise InvalidInputError(f"--dask {address!r}: the number of workers must be from 1 to 1024; allowed: {ADDRESS_HELP}")
        return "local", n
    if _SCHEME.match(text) or re.fullmatch(r"[\w.\-]+:\d+", text):
        return "remote", None
    raise InvalidInputError(f"--dask {address!r} is not an address; allowed: {ADDRESS_HELP}")


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError as exc:
        raise QamtuError(f"--dask needs Dask's distributed scheduler, which is not installed: {INSTALL_LINE}") from exc
    return distributed


def _check_versions(client: Any, address: str) -> None:
    """Every worker must run the same qamtu version as the driver (the results would differ otherwise)."""
    import qamtu

    def version() -> str:
        import qamtu as q

        return str(q.__version__)

    seen = client.run(version)
    wrong = {w: v for w, v in seen.items() if v != qamtu.__version__}
    if wrong:
        raise QamtuError(f"the Dask workers at {address} run other qamtu versions than this one "
                         f"({qamtu.__version__}): {wrong}; install the same version on every machine")


@contextlib.contextmanager
def open_executor(address: str | None, *, timeout_s: float = 20.0) -> Iterator[Executor]:
    """The executor for ``--dask ADDRESS`` (``None``: run here), closed on exit.

    Raises
    ------
    InvalidInputError
        An address that is none of the allowed forms.
    QamtuError
        Dask is not installed (the message gives the install line), or the scheduler cannot be reached, or a
        worker runs another qamtu version.
    """
    if address is None:
        yield SequentialExecutor()
        return
    kind, n = parse_address(address)
    distributed = _import_distributed()
    cluster = None
    try:
        if kind == "local":
            n = n or (os.cpu_count() or 1)
            cluster = distributed.LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                               dashboard_address=None, host="127.0.0.1")
            client = distributed.Client(cluster)
        else:
            client = distributed.Client(address.strip(), timeout=f"{timeout_s}s")
    except (OSError, TimeoutError) as exc:
        if cluster is not None:
            cluster.close()
        raise QamtuError(f"cannot reach the Dask scheduler at {address}: {exc}; start one with `dask scheduler` "
                         "and workers with `dask worker ADDRESS`") from exc
    ex = DaskExecutor(client, address, cluster)
    try:
        _check_versions(client, address)
        yield ex
    finally:
        ex.close()
