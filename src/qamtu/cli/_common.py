"""Helpers shared by the command modules: error handling (one readable line, exit 2) and interrupts."""

from __future__ import annotations

import functools
import json
from typing import Any, Callable

import typer

from qamtu.errors import QamtuError

#: Exit code for bad input or a failed run (a readable message has been printed to stderr).
EXIT_ERROR = 2
#: Exit code when the run completed but its targets were not met (e.g. an infeasible plan).
EXIT_TARGETS_NOT_MET = 3


#: Exit code after SIGINT (Ctrl-C), as shells report 128 + signal number; SIGTERM gives 143.
EXIT_INTERRUPTED = 130
#: Longest error line printed (a message quoting a value from a file is cut, never a screenful).
MAX_MESSAGE_CHARS = 1000


def one_line(message: str) -> str:
    """``message`` on one line (line breaks and runs of white space become one space), at most
    :data:`MAX_MESSAGE_CHARS` characters."""
    text = " ".join(str(message).split())
    return text if len(text) <= MAX_MESSAGE_CHARS else text[: MAX_MESSAGE_CHARS - 3] + "..."


def fail(message: str, code: int = EXIT_ERROR) -> None:
    """Print one readable line to stderr and exit with ``code``."""
    typer.echo(f"Error: {one_line(message)}", err=True)
    raise typer.Exit(code)


def guarded(func: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate a Typer command so that qamtu's errors become one line on stderr and exit code 2.

    Never a traceback for bad input: :class:`~qamtu.errors.QamtuError` and any ``OSError`` (a file missing
    or unreadable, a folder read-only or full) are reported by message.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except typer.Exit:
            raise
        except QamtuError as exc:
            fail(str(exc))
        except OSError as exc:
            fail(f"{exc.strerror or exc}: {exc.filename}" if exc.filename else f"{exc.strerror or exc}")

    return wrapper


def echo_json(obj: Any) -> None:
    """Print ``obj`` as indented JSON on stdout (NumPy scalars become Python numbers)."""
    typer.echo(json.dumps(obj, indent=2, default=_json_default, ensure_ascii=False))


def _json_default(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"cannot serialise {type(obj).__name__} to JSON")
