"""qamtu.csvio: every physical line is accounted for (issue 15, item 2)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qamtu.csvio import read_csv_table, to_number
from qamtu.errors import DataFileError

HEADER = "time,lat,lon,operator,dl_mbps\n"
GOOD = "2024-03-01T10:00:00Z,51.17,71.43,Kcell,120.5\n"


def _write(tmp_path, text, name="t.csv"):
    p = tmp_path / name
    p.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return p


def test_stray_quote_rejects_its_own_lines_only(tmp_path):
    # issue 15: '"Kcell' on one line and 'Kcell"' ten lines later swallowed the lines between them
    lines = [GOOD] * 20
    lines[3] = '2024-03-01T10:00:00Z,51.17,71.43,"Kcell,120.5\n'
    lines[13] = '2024-03-01T10:00:00Z,51.17,71.43,Kcell",120.5\n'
    t = read_csv_table(_write(tmp_path, HEADER + "".join(lines)))
    assert t.rows_read == 20 and len(t.frame) == 18 and t.rows_rejected == 2
    assert [r.line for r in t.rejects] == [5, 15]  # physical lines: header is line 1
    assert all("unbalanced quote" in r.reason for r in t.rejects)


def test_truncated_and_long_rows_are_rejected_not_padded(tmp_path):
    text = HEADER + GOOD + "2024-03-01T10:00:00Z,51.17\n" + GOOD + "a,b,c,d,e,f\n" + GOOD + "a,b,c,d,e,,\n"
    t = read_csv_table(_write(tmp_path, text))
    assert [r.line for r in t.rejects] == [3, 5]
    assert "truncated: 2 fields, the header has 5" in t.rejects[0].reason
    assert "6 fields" in t.rejects[1].reason
    # trailing empty fields (a spreadsheet's trailing delimiter) are accepted
    assert list(t.lines) == [2, 4, 6, 7] and t.frame.iloc[3].tolist() == ["a", "b", "c", "d", "e"]


def test_blank_lines_are_counted_in_line_numbers(tmp_path):
    text = HEADER + GOOD + "\n\n" + "x,1\n" + "\r\n" + GOOD
    t = read_csv_table(_write(tmp_path, text))
    assert t.blank_lines == 3 and t.rows_read == 3
    assert t.rejects[0].line == 5 and list(t.lines) == [2, 7]


def test_over_long_line_is_one_reject_and_reading_goes_on(tmp_path):
    text = HEADER + GOOD + "x" * 5000 + "\n" + GOOD
    t = read_csv_table(_write(tmp_path, text), max_line_bytes=1000)
    assert t.rows_read == 3 and len(t.frame) == 2
    assert t.rejects[0].line == 3 and "longer than 1000 bytes" in t.rejects[0].reason
    t2 = read_csv_table(_write(tmp_path, HEADER + "a,b,c," + "y" * 50 + ",1\n"), max_field_chars=20)
    assert t2.rejects[0].field == "operator" and len(t2.rejects[0].value) <= 80


def test_bad_bytes_reject_the_line(tmp_path):
    text = (HEADER + GOOD).encode() + b"a,b,\xff\xfe,d,e\n" + b"a,b,\x00,d,e\n" + GOOD.encode()
    t = read_csv_table(_write(tmp_path, text))
    assert [r.line for r in t.rejects] == [3, 4] and "UTF-8" in t.rejects[0].reason
    assert "\n" not in t.rejects[0].value


def test_semicolon_and_decimal_comma_hint(tmp_path):
    text = "time;lat;lon;operator;dl_mbps\n2024-03-01T10:00:00Z;51,17;71,43;Kcell;120,5\n"
    t = read_csv_table(_write(tmp_path, text))
    assert t.delimiter == ";" and t.decimal_comma and "decimal comma" in t.hints[0]
    assert to_number(t.frame["lat"], t.decimal_comma)[0] == pytest.approx(51.17)
    assert np.isnan(to_number(t.frame["lat"], False)[0])
    with pytest.raises(DataFileError, match="semicolon-separated"):
        read_csv_table(_write(tmp_path, text), delimiter=",", required=("lat",))


def test_excel_sep_line_and_bare_carriage_returns(tmp_path):
    t = read_csv_table(_write(tmp_path, "sep=;\n" + HEADER.replace(",", ";") + GOOD.replace(",", ";")))
    assert t.delimiter == ";" and t.header[0] == "time" and list(t.lines) == [3]
    with pytest.raises(DataFileError, match="carriage return"):
        read_csv_table(_write(tmp_path, (HEADER + GOOD).replace("\n", "\r")))


def test_header_errors(tmp_path):
    with pytest.raises(DataFileError, match="empty"):
        read_csv_table(_write(tmp_path, "\n\n"))
    with pytest.raises(DataFileError, match="duplicate"):
        read_csv_table(_write(tmp_path, "a,a\n1,2\n"))
    with pytest.raises(DataFileError, match="required columns missing: lat"):
        read_csv_table(_write(tmp_path, "a,b\n1,2\n"), required=("lat",))
    with pytest.raises(DataFileError, match="not UTF-8"):
        read_csv_table(_write(tmp_path, b"\xff\xfea\x00,\x00b\n"))
    with pytest.raises(DataFileError, match="folder"):
        read_csv_table(tmp_path)
    with pytest.raises(DataFileError, match="more than 2 data rows"):
        read_csv_table(_write(tmp_path, HEADER + GOOD * 3), max_rows=2)


_CORRUPTIONS = ["good", "blank", "truncate", "extra", "quote_open", "quote_close", "long", "longfield", "badbyte", "nul",
                "crlf"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(_CORRUPTIONS), min_size=1, max_size=40))
def test_every_physical_line_is_accounted_for(tmp_path, kinds):
    """Property: accepted + rejected = non-blank data lines, and each outcome sits on its physical line."""
    parts, expect_ok, expect_bad = [HEADER.encode()], [], []
    for i, kind in enumerate(kinds):
        line_no = i + 2
        row = f"2024-03-01T10:00:{i % 60:02d}Z,51.17,71.43,Kcell,{i}"
        if kind == "blank":
            parts.append(b"\n")
            continue
        if kind in ("good", "crlf"):
            parts.append((row + ("\r\n" if kind == "crlf" else "\n")).encode())
            expect_ok.append(line_no)
            continue
        bad = {
            "truncate": row.rsplit(",", 2)[0],
            "extra": row + ",x,y",
            "quote_open": row.replace("Kcell", '"Kcell'),
            "quote_close": row.replace("Kcell", 'Kcell"'),
            "long": row + "z" * 300,
            "longfield": row.replace("Kcell", "K" * 60),
        }.get(kind)
        raw = (bad.encode() if bad is not None else row.encode().replace(b"Kcell", b"K\xffcell" if kind == "badbyte"
                                                                          else b"K\x00cell"))
        parts.append(raw + b"\n")
        expect_bad.append(line_no)
    path = tmp_path / "prop.csv"
    path.write_bytes(b"".join(parts))
    t = read_csv_table(path, max_line_bytes=200, max_field_chars=50)
    assert t.rows_read == len(expect_ok) + len(expect_bad) == len(t.frame) + t.rows_rejected
    assert list(t.lines) == expect_ok
    assert sorted(r.line for r in t.rejects) == expect_bad
    assert t.blank_lines == kinds.count("blank")
