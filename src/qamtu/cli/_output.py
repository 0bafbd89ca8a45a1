"""``--json`` for a command that writes its summary to a file: the words go to stderr, the summary to stdout.

:func:`with_json` adds the option to a Typer command function without touching its body: while the command
runs, whatever it prints goes to stderr; afterwards (also when it exits 3 because targets were not met) the
JSON file it wrote (``summary(kwargs) -> path``) is printed on stdout, so ``qamtu audit ... --json | jq`` works.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from qamtu.cli._common import EXIT_TARGETS_NOT_MET, echo_json


def with_json(func: Callable[..., Any], summary: Callable[[dict[str, Any]], Path | None]) -> Callable[..., Any]:
    """``func`` with a ``--json`` option (see the module docstring)."""
    option = inspect.Parameter("as_json", inspect.Parameter.KEYWORD_ONLY, annotation=bool,
                               default=typer.Option(False, "--json",
                                                    help="Print the summary as JSON on stdout (the words on stderr)."))
    sig = inspect.signature(func)
    params = list(sig.parameters.values())

    @functools.wraps(func)
    def wrapper(*args: Any, as_json: bool = False, **kwargs: Any) -> Any:
        if not as_json:
            return func(*args, **kwargs)
        code = 0
        with contextlib.redirect_stdout(sys.stderr):
            try:
                func(*args, **kwargs)
            except typer.Exit as exc:  # a finished run with targets not met still has a summary
                code = exc.exit_code
                if code not in (0, EXIT_TARGETS_NOT_MET):
                    raise
        path = summary(kwargs)
        echo_json(json.loads(Path(path).read_text(encoding="utf-8")) if path and Path(path).is_file() else {})
        if code:
            raise typer.Exit(code)
        return None

    wrapper.__signature__ = sig.replace(parameters=[*params, option])  # type: ignore[attr-defined]
    return wrapper


def out_summary(kwargs: dict[str, Any]) -> Path | None:
    """``<--out>/summary.json`` of a command with an ``out`` folder option."""
    out = kwargs.get("out")
    return None if out is None else Path(out) / "summary.json"


@contextlib.contextmanager
def progress_messages(quiet: bool = False):
    """A Rich spinner on stderr with the step being worked on and the time elapsed; yields ``say(message)``.

    Each message is also kept as a line above the spinner (a log of the steps); ``quiet`` yields ``None``.
    """
    if quiet:
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console,
                  transient=True) as bar:
        task = bar.add_task("", total=None)

        def say(message: str) -> None:
            bar.console.print(message, markup=False, highlight=False)
            bar.update(task, description=message)

        yield say


def with_spinner(func: Callable[..., Any], label: str) -> Callable[..., Any]:
    """``func`` run under a Rich spinner on stderr showing ``label`` and the time elapsed (drawn only on a
    terminal; the command's own lines still print above it)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from rich.console import Console
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        console = Console(stderr=True)
        if not console.is_terminal:
            return func(*args, **kwargs)
        with Progress(SpinnerColumn(), TextColumn(label), TimeElapsedColumn(), console=console, transient=True) as bar:
            bar.add_task(label, total=None)
            return func(*args, **kwargs)

    return wrapper
