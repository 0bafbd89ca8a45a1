"""Output files and folders: atomic, readable under the user's umask, and CSV cells that never run as formulas.

- :func:`atomic_write`: write to a temporary name in the destination folder, then rename over the target
  (``os.replace`` is atomic on POSIX within one file system). The file gets mode ``0666 & ~umask`` (0644 under the
  usual umask 022), as a plain ``open()`` would, not the 0600 of :func:`tempfile.mkstemp`.
- :func:`output_folder`: a whole output folder is written into a temporary sibling and swapped in at the end, so a
  kill, a full disk or an error at any moment leaves the complete old folder or the complete new one. Stale
  temporary siblings of killed runs are removed by the next run.
- :func:`write_csv_atomic`: the one CSV writer of every output; a text cell that a spreadsheet would read as a
  formula (it starts with ``=``, ``+``, ``-``, ``@``, tab or carriage return) is prefixed with a single quote, as the
  OWASP "CSV Injection" guidance says; numbers (and text that parses as a number) are written unchanged.
- :func:`os_error`: an ``OSError`` while writing (read-only folder, disk full, ``--out`` an existing file) becomes
  :class:`~qamtu.errors.OutputError` naming the path and the cause.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Iterator

from qamtu.errors import OutputError, QamtuError

#: First characters that make a spreadsheet evaluate a cell (OWASP, "CSV Injection").
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

#: Name of the file that marks a folder as written by qamtu (an existing ``--out`` is replaced only if it has one).
MARKER = ".qamtu-output"

_TMP_TAG = ".qamtu-tmp-"


def _umask() -> int:
    """The process umask: read from /proc on Linux (no change of process state, safe with threads), else set and
    restored at once."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0)
    os.umask(mask)
    return mask


def os_error(exc: OSError, path: str | os.PathLike[str] | None = None) -> OutputError:
    """An :class:`OutputError` for ``exc`` raised while writing ``path`` (one readable line)."""
    where = path if path is not None else exc.filename
    reason = exc.strerror or str(exc)
    hint = {
        errno.ENOSPC: " (the disk is full)",
        errno.EDQUOT: " (disk quota exceeded)",
        errno.EROFS: " (read-only file system)",
        errno.EACCES: " (no permission to write there)",
        errno.EEXIST: " (a file is in the way of a folder)",
        errno.ENOTDIR: " (a file is in the way of a folder)",
    }.get(exc.errno or 0, "")
    return OutputError(f"cannot write output {where}: {reason}{hint}")


_WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EEXIST, errno.ENOTDIR,
                 errno.EISDIR, errno.EFBIG}


def _writing_error(exc: BaseException, *roots: Path) -> bool:
    """True for an OSError (not one of qamtu's own) that came from writing ``roots`` (or below them), not from
    reading an input."""
    if not isinstance(exc, OSError) or isinstance(exc, QamtuError):
        return False
    if exc.filename is None:
        return exc.errno in _WRITE_ERRNOS
    name = Path(exc.filename).absolute()
    return any(name == r.absolute() or r.absolute() in name.parents for r in roots)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it to ``path``, on error delete it.

    Raises
    ------
    OutputError
        The folder cannot be created or written (read-only, full, a file in the way).

    Examples
    --------
    >>> with atomic_write(out / "kpis.csv") as tmp:  # doctest: +SKIP
    ...     frame.to_csv(tmp, index=False)
    """
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp" + target.suffix, dir=target.parent)
        os.close(fd)
    except OSError as exc:
        raise os_error(exc, target) from exc
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if _writing_error(exc, tmp, target):
            raise os_error(exc, target) from exc
        raise


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically and return the path."""
    with atomic_write(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_json_atomic(path: str | os.PathLike[str], obj: Any) -> Path:
    """Write ``obj`` as indented UTF-8 JSON to ``path`` atomically (NumPy scalars and arrays are converted)."""

    def default(value: Any) -> Any:
        import numpy as np

        if isinstance(value, np.generic):
            return value.item()
        if isinstance(value, np.ndarray):
            return value.tolist()
        if isinstance(value, Path):
            return str(value)
        raise TypeError(f"cannot serialise {type(value).__name__} to JSON")

    return write_text_atomic(path, json.dumps(obj, indent=2, ensure_ascii=False, default=default) + "\n")


def neutralise_cell(value: Any) -> Any:
    """A CSV cell that a spreadsheet cannot run as a formula: text starting with a formula character gets a
    leading single quote; numbers, and text that parses as a number (``"-3.5"``), are returned unchanged.

    Examples
    --------
    >>> neutralise_cell('=HYPERLINK("http://x")'), neutralise_cell("-3.5"), neutralise_cell(-3.5)
    ('\\'=HYPERLINK("http://x")', '-3.5', -3.5)
    """
    if not isinstance(value, str) or not value.startswith(FORMULA_PREFIXES):
        return value
    try:
        float(value)
        return value
    except ValueError:
        return "'" + value


def csv_frame(data: Any, columns: Sequence[str] | None = None) -> Any:
    """``data`` (a DataFrame, or rows as mappings) as a DataFrame whose text cells are neutralised."""
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        frame = data if columns is None else data.loc[:, list(columns)]
    else:
        rows = list(data) if isinstance(data, Iterable) else []
        frame = pd.DataFrame([dict(r) if isinstance(r, Mapping) else r for r in rows],
                             columns=list(columns) if columns is not None else None)
    text_cols = [c for c in frame.columns if frame[c].dtype == object or str(frame[c].dtype) in ("string", "str")]
    if text_cols:
        frame = frame.copy()
        for c in text_cols:
            frame[c] = frame[c].map(neutralise_cell)
    frame.columns = [neutralise_cell(str(c)) for c in frame.columns]
    return frame


def write_csv_atomic(path: str | os.PathLike[str], data: Any, columns: Sequence[str] | None = None) -> Path:
    """Write a table (DataFrame or rows as mappings) to ``path`` as UTF-8 CSV, atomically, formulas neutralised."""
    frame = csv_frame(data, columns)
    with atomic_write(path) as tmp:
        frame.to_csv(tmp, index=False)
    return Path(path)


# --- whole output folders -------------------------------------------------------------------------------------


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_stale(target: Path) -> None:
    """Remove temporary siblings of ``target`` left by runs that were killed (their process is gone)."""
    pattern = re.compile(re.escape(f".{target.name}{_TMP_TAG}") + r"(?:old-)?(\d+)-")
    try:
        siblings = list(target.parent.iterdir())
    except OSError:
        return
    for p in siblings:
        m = pattern.match(p.name)
        if m and int(m.group(1)) != os.getpid() and not _pid_alive(int(m.group(1))):
            shutil.rmtree(p, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic step (Linux ``renameat2(RENAME_EXCHANGE)``); False where not available."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    rc = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    if rc != 0:
        err = ctypes.get_errno()
        if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
            return False
        raise OSError(err, os.strerror(err), str(b))
    return True


def check_output_folder(path: str | os.PathLike[str]) -> Path:
    """Check that ``path`` can become an output folder: missing, empty, or an earlier qamtu output.

    Raises
    ------
    OutputError
        ``path`` is a file, or a folder with other content (qamtu never replaces a folder it did not write).
    """
    target = Path(path)
    if target.exists() or target.is_symlink():
        if not target.is_dir():
            raise OutputError(f"--out {target} is an existing file; give a folder (new, empty, or a qamtu output)")
        try:
            entries = [p.name for p in target.iterdir()]
        except OSError as exc:
            raise os_error(exc, target) from exc
        if entries and MARKER not in entries:
            raise OutputError(
                f"--out {target} is a folder that qamtu did not write ({len(entries)} entries, no {MARKER}); "
                "give a new or empty folder, or an earlier qamtu output folder (it is replaced as a whole)")
    parent = target.absolute().parent
    if parent.is_dir():  # fail now, not after the run, where the folder cannot be written (read-only, no right)
        try:
            os.rmdir(tempfile.mkdtemp(prefix=f".{target.name}{_TMP_TAG}{os.getpid()}-probe-", dir=parent))
        except OSError as exc:
            raise os_error(exc, target) from exc
    return target


@contextlib.contextmanager
def output_folder(path: str | os.PathLike[str], *, command: str = "qamtu") -> Iterator[Path]:
    """Yield a temporary sibling of ``path`` to write a whole output folder into; swap it in on success.

    On success the folder replaces ``path`` in one step (an atomic exchange where the OS has one; otherwise two
    renames, between which only the old folder's temporary name exists) and the old folder is deleted; on any
    error or interrupt the temporary folder is deleted and ``path`` is untouched. ``path`` must be missing, empty
    or an earlier qamtu output (:func:`check_output_folder`); the new folder holds a :data:`MARKER` file.

    Raises
    ------
    OutputError
        ``path`` is not a usable output folder, or an ``OSError`` (read-only, disk full) while writing.
    """
    target = check_output_folder(Path(path).absolute())
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale(target)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}{_TMP_TAG}{os.getpid()}-", dir=target.parent))
        os.chmod(tmp, 0o777 & ~_umask())
    except OSError as exc:
        raise os_error(exc, target) from exc
    try:
        yield tmp
        write_json_atomic(tmp / MARKER, {"written_by": command})
        _swap_in(tmp, target)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if _writing_error(exc, tmp, target):
            raise os_error(exc, target) from exc
        raise


def relocate(paths: Any, folder: str | os.PathLike[str], out: str | os.PathLike[str]) -> Any:
    """Paths written under the temporary ``folder`` of :func:`output_folder`, rewritten to their final place in
    ``out`` (a path, or dicts/lists of them; other values unchanged)."""
    if isinstance(paths, Mapping):
        return {k: relocate(v, folder, out) for k, v in paths.items()}
    if isinstance(paths, (list, tuple)):
        return type(paths)(relocate(v, folder, out) for v in paths)
    if isinstance(paths, (str, Path)):
        try:
            return Path(out) / Path(paths).relative_to(folder)
        except ValueError:
            return paths
    return paths


def _swap_in(tmp: Path, target: Path) -> None:
    if not target.exists():
        os.rename(tmp, target)
        return
    check_output_folder(target)  # again: it could have changed while the run wrote
    if _exchange(tmp, target):
        shutil.rmtree(tmp, ignore_errors=True)  # tmp now holds the old folder
        return
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}{_TMP_TAG}old-{os.getpid()}-", dir=target.parent))
    os.rmdir(old)
    os.rename(target, old)
    try:
        os.rename(tmp, target)
    except BaseException:  # put the old folder back: never leave no report at all
        os.rename(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)
