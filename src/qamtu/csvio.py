"""A delimited-text reader that accounts for every physical line.

Measurement logs and site tables come from phones, spreadsheets and exports of other tools; a stray quote or a
truncated line must not swallow or silently pad its neighbours. :func:`read_csv_table` reads a file line by line
and returns the rows it accepts plus one reject per line it cannot use, so that for every file

    ``rows_read == len(table.frame) + table.rows_rejected``

where ``rows_read`` counts the non-blank physical lines after the header. Blank lines are skipped, but line
numbers are PHYSICAL line numbers (1 = the header line, blank lines counted), as an editor shows them.

Rules
-----
- One record per physical line, ended by ``\\n`` or ``\\r\\n``; a line break inside a quoted
  field is NOT supported (measurement and site tables do not need it), so an unbalanced quote rejects its own
  line only, never the lines after it.
- Fields are split with Python's :mod:`csv` (RFC 4180 quoting: ``"a,b"`` and ``"a""b"`` work). A line with an
  odd number of ``"`` characters, or whose quoted field does not close, is rejected as ``unbalanced quote``.
- A line with fewer fields than the header is rejected (``truncated``), never padded. A line with more fields is
  rejected unless every extra field is empty (spreadsheets often end rows with a delimiter).
- A line longer than ``max_line_bytes`` becomes ONE reject and reading goes on at the next line (the line is
  skipped in chunks, never held in memory whole); a field longer than ``max_field_chars`` rejects its line.
- Each line is decoded on its own (UTF-8, a byte-order mark on the first line allowed): a line that is not
  UTF-8, or that holds a NUL byte, is rejected with the offending byte position.
- ``max_rows``: more data rows than this stops with :class:`~qamtu.errors.DataFileError` (a documented cap that
  keeps memory bounded); default none.

Delimiter and locale
--------------------
With ``delimiter=None`` the delimiter is the one of ``,``, ``;``, tab and ``|`` that occurs most often in the
header outside quotes, or the one an Excel ``sep=;`` first line names (that line is skipped, not a row). :attr:`CsvTable.hints` carries readable hints: a semicolon-separated file whose numbers
use a decimal comma (``51,17``) is what a Russian- or Kazakh-locale Excel writes;
:attr:`CsvTable.decimal_comma` is then True and :func:`to_number` accepts ``51,17`` as 51.17. A file read with
an explicit ``,`` whose header holds ``;`` gets a hint to use ``;``.

Examples
--------
>>> t = read_csv_table("sites.csv", required=("site_id", "lat", "lon"))  # doctest: +SKIP
>>> t.frame          # accepted rows, every value a str; t.lines has their physical line numbers  # doctest: +SKIP
>>> t.rejects[0]     # CsvReject(line=7, field=None, reason='truncated: 3 fields, the header has 5', value='...')
"""

from __future__ import annotations

import csv
import dataclasses
import re
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import pandas as pd

from qamtu.errors import DataFileError, InvalidInputError

__all__ = ["CsvReject", "CsvTable", "read_csv_table", "to_number", "DELIMITERS", "DEFAULT_MAX_LINE_BYTES",
           "DEFAULT_MAX_FIELD_CHARS", "REJECT_VALUE_CHARS"]

#: Delimiters detected from the header, in order of preference on a tie.
DELIMITERS = (",", ";", "\t", "|")
#: Default longest physical line, bytes (1 MiB).
DEFAULT_MAX_LINE_BYTES = 1 << 20
#: Default longest field, characters.
DEFAULT_MAX_FIELD_CHARS = 10_000
#: A reject keeps at most this many characters of the offending value (so a huge line never lands in a message).
REJECT_VALUE_CHARS = 80

_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+$")


@dataclasses.dataclass(frozen=True)
class CsvReject:
    """One line the reader could not use, or one field of it.

    Attributes
    ----------
    line : int
        Physical line number (1 = header, blank lines counted).
    field : str or None
        Column name when one field is at fault; None for a structural problem of the line.
    reason : str
        What is wrong and what is allowed, one line.
    value : str
        The offending text, shortened to :data:`REJECT_VALUE_CHARS` characters, without line breaks.
    """

    line: int
    field: str | None
    reason: str
    value: str


@dataclasses.dataclass
class CsvTable:
    """What :func:`read_csv_table` read.

    Attributes
    ----------
    path : str
    header : list of str
        Column names, stripped of spaces.
    frame : pandas.DataFrame
        Accepted rows, one column per header name, every value a ``str`` (empty string for an empty field).
    lines : ndarray of int64
        Physical line number of each row of ``frame``.
    rejects : list of CsvReject
        One per rejected line.
    delimiter : str
    decimal_comma : bool
        True when the file looks like a comma-decimal (Russian-locale Excel) export.
    blank_lines : int
        Blank lines skipped (after the header).
    hints : list of str
        Readable hints about the file's layout (delimiter, decimal comma).
    """

    path: str
    header: list[str]
    frame: pd.DataFrame
    lines: np.ndarray
    rejects: list[CsvReject]
    delimiter: str
    decimal_comma: bool = False
    blank_lines: int = 0
    hints: list[str] = dataclasses.field(default_factory=list)

    @property
    def rows_rejected(self) -> int:
        """Number of rejected lines."""
        return len({r.line for r in self.rejects})

    @property
    def rows_read(self) -> int:
        """Non-blank data lines read: accepted + rejected."""
        return len(self.frame) + self.rows_rejected

    def rejects_frame(self) -> pd.DataFrame:
        """The rejects as a table ``file, line, field, reason, value``."""
        return pd.DataFrame(
            {
                "file": [self.path] * len(self.rejects),
                "line": [r.line for r in self.rejects],
                "field": [r.field for r in self.rejects],
                "reason": [r.reason for r in self.rejects],
                "value": [r.value for r in self.rejects],
            },
            columns=["file", "line", "field", "reason", "value"],
        )


def _short(text: str) -> str:
    text = text.replace("\r", "\\r").replace("\n", "\\n")
    return text if len(text) <= REJECT_VALUE_CHARS else text[: REJECT_VALUE_CHARS - 3] + "..."


def _physical_lines(fh, max_line_bytes: int) -> Iterator[tuple[int, bytes | None]]:
    """Yield ``(line number, bytes without the line ending)``; ``None`` for a line over ``max_line_bytes``."""
    number = 0
    while True:
        chunk = fh.readline(max_line_bytes + 1)
        if not chunk:
            return
        number += 1
        if len(chunk) > max_line_bytes and not chunk.endswith(b"\n"):
            while chunk and not chunk.endswith(b"\n"):  # skip the rest of the line in bounded chunks
                chunk = fh.readline(max_line_bytes + 1)
            yield number, None
            continue
        yield number, chunk.rstrip(b"\r\n")


def _decode(raw: bytes, first: bool) -> str:
    text = raw.decode("utf-8-sig" if first else "utf-8")
    if "\x00" in text:
        raise UnicodeDecodeError("utf-8", raw, text.index("\x00"), text.index("\x00") + 1, "NUL byte (binary data)")
    return text


def _count_outside_quotes(text: str, char: str) -> int:
    count, quoted = 0, False
    for c in text:
        if c == '"':
            quoted = not quoted
        elif c == char and not quoted:
            count += 1
    return count


def _detect_delimiter(header: str) -> str:
    counts = [_count_outside_quotes(header, d) for d in DELIMITERS]
    return DELIMITERS[int(np.argmax(counts))]


def read_csv_table(
    path: str | Path,
    *,
    required: Sequence[str] = (),
    delimiter: str | None = None,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    max_field_chars: int = DEFAULT_MAX_FIELD_CHARS,
    max_rows: int | None = None,
) -> CsvTable:
    """Read a delimited text file, accounting for every physical line (see the module docstring).

    Parameters
    ----------
    path : str or Path
        The file, UTF-8 (a byte-order mark is allowed).
    required : sequence of str
        Column names the header must hold; a missing one stops with :class:`DataFileError` naming them and the
        columns the file has.
    delimiter : str, optional
        One character; default: detected from the header (``,``, ``;``, tab or ``|``).
    max_line_bytes, max_field_chars : int
        Limits; a longer line or field becomes one reject (defaults 1 MiB and 10,000 characters).
    max_rows : int, optional
        Largest number of data lines; more stops with :class:`DataFileError`.

    Returns
    -------
    CsvTable
        ``frame`` (accepted rows as strings), ``lines``, ``rejects``, ``delimiter``, ``hints``;
        ``rows_read == len(frame) + rows_rejected``.

    Raises
    ------
    DataFileError
        Missing file, a folder, no header, a header that is not UTF-8 text, duplicate or missing required columns,
        more rows than ``max_rows``.
    InvalidInputError
        A bad parameter.
    """
    if delimiter is not None and (len(delimiter) != 1 or delimiter in '"\r\n'):
        raise InvalidInputError(f"delimiter {delimiter!r} must be one character other than a quote or line break")
    if max_line_bytes < 16 or max_field_chars < 1:
        raise InvalidInputError("max_line_bytes must be >= 16 and max_field_chars >= 1")
    p = Path(path)
    source = str(p)
    if not p.exists():
        raise DataFileError(f"{source}: file not found")
    if p.is_dir():
        raise DataFileError(f"{source}: is a folder, expected a delimited text (CSV) file")
    rejects: list[CsvReject] = []
    rows: list[list[str]] = []
    lines: list[int] = []
    blank = 0
    comma_decimal_fields = 0
    numeric_like_fields = 0
    header: list[str] | None = None
    header_line = ""
    sep = delimiter or ","
    with open(p, "rb") as fh:
        for number, raw in _physical_lines(fh, max_line_bytes):
            if header is None:
                if raw is None:
                    raise DataFileError(f"{source}, line {number}: the header line is longer than "
                                        f"{max_line_bytes} bytes; is this a delimited text file?")
                try:
                    text = _decode(raw, number == 1)
                except UnicodeDecodeError as exc:
                    raise DataFileError(f"{source}, line {number}: the header is not UTF-8 text ({exc.reason} at "
                                        f"byte {exc.start}); save the file as UTF-8 CSV") from None
                if text.strip() == "":
                    continue
                if "\r" in text:
                    raise DataFileError(f"{source}, line {number}: the lines end with a bare carriage return (old "
                                        "Mac format) or the header holds one; save the file with \\n line ends")
                sep_line = re.match(r"^sep=(.)$", text.strip())
                if sep_line and delimiter is None:  # Excel's "sep=;" first line names the delimiter
                    delimiter = sep_line.group(1)
                    continue
                header_line = text
                sep = delimiter or _detect_delimiter(text)
                try:
                    header = [h.strip() for h in next(csv.reader([text], delimiter=sep, strict=True))]
                except csv.Error:
                    raise DataFileError(f"{source}, line {number}: the header has an unbalanced quote") from None
                dup = sorted({h for h in header if header.count(h) > 1})
                if dup:
                    raise DataFileError(f"{source}, line {number}: duplicate column names in the header: "
                                        f"{', '.join(map(repr, dup))}")
                continue
            if raw is None:
                rejects.append(CsvReject(number, None, f"line longer than {max_line_bytes} bytes", "(not kept)"))
                continue
            try:
                text = _decode(raw, False)
            except UnicodeDecodeError as exc:
                rejects.append(CsvReject(number, None, f"not UTF-8 text ({exc.reason} at byte {exc.start})",
                                         _short(raw.decode("utf-8", "replace"))))
                continue
            if text.strip() == "":
                blank += 1
                continue
            if max_rows is not None and len(rows) + len(rejects) >= max_rows:
                raise DataFileError(f"{source}: more than {max_rows} data rows (the limit for this table)")
            if text.count('"') % 2:
                rejects.append(CsvReject(number, None, "unbalanced quote (odd number of '\"'; a quoted field must "
                                                       "close on its own line)", _short(text)))
                continue
            try:
                fields = next(csv.reader([text], delimiter=sep, strict=True))
            except csv.Error as exc:
                rejects.append(CsvReject(number, None, f"unbalanced quote ({exc})", _short(text)))
                continue
            if len(fields) < len(header):
                rejects.append(CsvReject(number, None, f"truncated: {len(fields)} fields, the header has "
                                                       f"{len(header)}", _short(text)))
                continue
            if len(fields) > len(header):
                if any(f.strip() for f in fields[len(header):]):
                    rejects.append(CsvReject(number, None, f"{len(fields)} fields, the header has {len(header)}",
                                             _short(text)))
                    continue
                fields = fields[: len(header)]
            long = [i for i, f in enumerate(fields) if len(f) > max_field_chars]
            if long:
                rejects.append(CsvReject(number, header[long[0]], f"field longer than {max_field_chars} characters",
                                         _short(fields[long[0]])))
                continue
            if sep != "," and len(rows) < 200:
                for f in fields:
                    f = f.strip()
                    if f and f[0] in "+-0123456789":
                        numeric_like_fields += 1
                        comma_decimal_fields += bool(_DECIMAL_COMMA.match(f))
            rows.append(fields)
            lines.append(number)
    if header is None:
        raise DataFileError(f"{source}: the file is empty (no header and no data rows)")
    missing = [c for c in required if c not in header]
    hints: list[str] = []
    if delimiter == "," and ";" in header_line and len(header) == 1:
        hints.append("the header holds ';' but the file was read as comma-separated: is it semicolon-separated "
                     "(a Russian-locale Excel export)?")
    decimal_comma = sep != "," and comma_decimal_fields > 0 and comma_decimal_fields >= 0.2 * numeric_like_fields
    if decimal_comma:
        hints.append(f"the file is {sep!r}-separated and its numbers use a decimal comma (e.g. 51,17), as a "
                     "Russian-locale Excel writes; they are read as decimal numbers")
    if missing:
        raise DataFileError(
            f"{source}: required columns missing: {', '.join(missing)}; the file has: {', '.join(header)} "
            f"(delimiter {sep!r})" + "".join(f"; {h}" for h in hints)
        )
    frame = pd.DataFrame(rows, columns=header, dtype=object) if rows else pd.DataFrame(
        {h: pd.Series(dtype=object) for h in header})
    return CsvTable(path=source, header=header, frame=frame, lines=np.asarray(lines, dtype=np.int64),
                    rejects=rejects, delimiter=sep, decimal_comma=decimal_comma, blank_lines=blank, hints=hints)


def to_number(values: pd.Series, decimal_comma: bool = False) -> np.ndarray:
    """Parse text to float (NaN where not a number); with ``decimal_comma`` ``51,17`` reads as 51.17.

    Thousands separators are not accepted (``1,234`` is 1.234 with ``decimal_comma``, NaN without).
    """
    s = values.astype(str).str.strip()
    if decimal_comma:
        s = s.where(~s.str.match(_DECIMAL_COMMA.pattern), s.str.replace(",", ".", regex=False))
    return pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)
