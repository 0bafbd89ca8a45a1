"""One exception tree for qamtu.

Every exception raised on purpose by qamtu derives from :class:`QamtuError`, and also from the builtin it
means (as rasterio does), so ``except ValueError`` in a caller keeps working. The core raises; only the CLI
turns these into one readable line and a non-zero exit code.

A message names the bad value, where it came from (file, row, column) and what is allowed. Build the
message with an f-string before raising: never pass the value as a second argument.
"""

from __future__ import annotations


class QamtuError(Exception):
    """Root of every error qamtu raises on purpose."""


class InvalidInputError(QamtuError, ValueError):
    """An argument or a field of an input file has a value that is not allowed."""


class OutOfRangeError(InvalidInputError):
    """A value lies outside the validity range of a model (e.g. a frequency outside 0.5-100 GHz)."""


class DataFileError(QamtuError, OSError):
    """An input file is missing, empty, unreadable or malformed as a whole."""


class OutputError(QamtuError, OSError):
    """An output file or folder cannot be written (read-only, disk full, a file where a folder should be)."""


class InfeasibleError(QamtuError, RuntimeError):
    """Targets that cannot be met with the inputs given (e.g. a plan or a schedule)."""


class InternalError(QamtuError, RuntimeError):
    """A check of qamtu's own invariants failed: a bug to report, not a mistake in the inputs."""


def where(file: str | None = None, row: int | None = None, field: str | None = None) -> str:
    """Format a location for an error message: ``"sites.csv, row 4, field 'height_m'"``.

    ``row`` is the 1-based data row as a person counts it in a spreadsheet (header excluded).
    """
    parts = []
    if file is not None:
        parts.append(str(file))
    if row is not None:
        parts.append(f"row {row}")
    if field is not None:
        parts.append(f"field {field!r}")
    return ", ".join(parts)
