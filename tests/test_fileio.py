"""Output files and folders (issue 15): atomic folders, named errors for OSError, modes, CSV formula cells."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qamtu import fileio
from qamtu.errors import OutputError
from qamtu.fileio import (
    FORMULA_PREFIXES,
    MARKER,
    atomic_write,
    neutralise_cell,
    output_folder,
    write_csv_atomic,
    write_text_atomic,
)


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


@pytest.fixture
def umask():
    def set_(mask: int) -> None:
        os.umask(mask)

    old = os.umask(0o022)
    os.umask(old)
    yield set_
    os.umask(old)


@pytest.mark.parametrize("mask", [0o022, 0o027, 0o077])
def test_files_and_folders_follow_the_umask(tmp_path, umask, mask):
    # mkstemp/mkdtemp create 0600/0700; outputs must be what open()/mkdir() give: 0666/0777 & ~umask
    umask(mask)
    f = write_text_atomic(tmp_path / "a" / "x.txt", "hi")
    assert _mode(f) == 0o666 & ~mask
    with output_folder(tmp_path / "out") as folder:
        write_text_atomic(folder / "index.html", "<p>")
    assert _mode(tmp_path / "out") == 0o777 & ~mask
    assert _mode(tmp_path / "out" / "index.html") == 0o666 & ~mask


# --- CSV formula neutralisation (OWASP "CSV Injection") ---


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=30))
def test_text_cells_never_start_a_formula(text):
    out = neutralise_cell(text)
    try:
        float(text)
        numeric = True
    except ValueError:
        numeric = False
    if numeric or not text.startswith(FORMULA_PREFIXES):
        assert out == text
    else:
        assert out == "'" + text


@settings(max_examples=100, deadline=None)
@given(st.one_of(st.integers(), st.floats(allow_nan=False), st.none(), st.booleans()))
def test_numbers_are_untouched(value):
    assert neutralise_cell(value) is value


def test_csv_writer_neutralises_text_cells_and_keeps_numbers(tmp_path):
    rows = [{"site_id": '=HYPERLINK("http://evil.invalid","x")', "cost": -3.5, "note": "@SUM(A1:A2)"},
            {"site_id": "+cmd|' /C calc'!A0", "cost": 2, "note": "-2+3"},
            {"site_id": "-12.5", "cost": 0, "note": "plain"}]
    path = write_csv_atomic(tmp_path / "t.csv", rows)
    back = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert list(back["site_id"]) == ["'=HYPERLINK(\"http://evil.invalid\",\"x\")", "'+cmd|' /C calc'!A0", "-12.5"]
    assert list(back["note"]) == ["'@SUM(A1:A2)", "'-2+3", "plain"]
    assert list(back["cost"]) == ["-3.5", "2.0", "0.0"]  # numbers untouched (the column is float)
    frame = pd.DataFrame({"=evil": ["\tx", "\ry"], "n": [-1, 1]})
    text = write_csv_atomic(tmp_path / "f.csv", frame).read_text(encoding="utf-8")
    assert text.splitlines()[0] == "'=evil,n"
    assert "'\tx,-1" in text


def test_every_csv_output_goes_through_the_shared_writer():
    # no module writes a CSV by itself: pandas' to_csv appears only in fileio (the one writer)
    src = Path(fileio.__file__).parent
    offenders = [str(p.relative_to(src)) for p in src.rglob("*.py")
                 if p.name != "fileio.py" and ".to_csv(" in p.read_text(encoding="utf-8")]
    assert offenders == []


# --- whole output folders ---


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _siblings(root: Path) -> list[str]:
    return sorted(p.name for p in root.parent.iterdir() if p.name != root.name)


def test_a_folder_is_replaced_as_a_whole(tmp_path):
    out = tmp_path / "out"
    with output_folder(out) as folder:
        write_text_atomic(folder / "summary.json", "old")
        write_text_atomic(folder / "old-only.txt", "x")
    assert _tree(out) == {MARKER: _tree(out)[MARKER], "summary.json": b"old", "old-only.txt": b"x"}
    with output_folder(out) as folder:
        write_text_atomic(folder / "summary.json", "new")
    assert set(_tree(out)) == {MARKER, "summary.json"} and _tree(out)["summary.json"] == b"new"
    assert _siblings(out) == []


@pytest.mark.parametrize("fault", [KeyboardInterrupt, RuntimeError, "ENOSPC"])
def test_a_failure_while_writing_leaves_the_old_folder_and_no_temporary(tmp_path, fault):
    out = tmp_path / "out"
    with output_folder(out) as folder:
        write_text_atomic(folder / "index.html", "old index")
        write_text_atomic(folder / "summary.json", "old summary")
    before = _tree(out)
    expected = OutputError if fault == "ENOSPC" else fault
    with pytest.raises(expected):
        with output_folder(out) as folder:
            write_text_atomic(folder / "summary.json", "new summary")
            if fault == "ENOSPC":  # the disk fills while the next file is written
                with atomic_write(folder / "index.html") as tmp:
                    raise OSError(errno.ENOSPC, "No space left on device", str(tmp))
            raise fault()
    assert _tree(out) == before
    assert _siblings(out) == []


def test_disk_full_is_a_named_error(tmp_path, monkeypatch):
    def full(*_a, **_k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(fileio.os, "replace", full)
    with pytest.raises(OutputError, match=r"cannot write output .*x\.txt: No space left on device \(the disk is full\)"):
        write_text_atomic(tmp_path / "x.txt", "data")
    assert list(tmp_path.iterdir()) == []


def test_out_that_is_a_file_or_a_foreign_folder_is_refused(tmp_path):
    f = tmp_path / "report.txt"
    f.write_text("mine")
    with pytest.raises(OutputError, match="is an existing file"):
        with output_folder(f):
            pass
    home = tmp_path / "home"
    home.mkdir()
    (home / "thesis.tex").write_text("years of work")
    with pytest.raises(OutputError, match="qamtu did not write"):
        with output_folder(home):
            pass
    assert (home / "thesis.tex").read_text() == "years of work" and f.read_text() == "mine"
    with output_folder(tmp_path / "empty-ok") as folder:  # an empty folder is fine
        write_text_atomic(folder / "a.txt", "a")


def test_read_only_parent_is_a_named_error(tmp_path, monkeypatch):
    def ro(*_a, **_k):
        raise OSError(errno.EROFS, "Read-only file system", str(tmp_path / "ro"))

    monkeypatch.setattr(fileio.tempfile, "mkdtemp", ro)
    with pytest.raises(OutputError, match=r"Read-only file system \(read-only file system\)"):
        with output_folder(tmp_path / "ro" / "out"):
            pass


def test_stale_temporaries_of_a_killed_run_are_removed(tmp_path):
    out = tmp_path / "out"
    dead = tmp_path / f".out{fileio._TMP_TAG}999999999-abc"  # no such process
    dead.mkdir()
    (dead / "half.html").write_text("half")
    alive = tmp_path / f".out{fileio._TMP_TAG}{os.getppid()}-abc"  # a running process: left alone
    alive.mkdir()
    with output_folder(out) as folder:
        write_text_atomic(folder / "a.txt", "a")
    assert not dead.exists() and alive.exists()


def test_reading_errors_inside_the_folder_block_are_not_called_output_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        with output_folder(tmp_path / "out"):
            open(tmp_path / "missing-input.csv")  # noqa: SIM115
    assert not (tmp_path / "out").exists()


def test_swap_without_an_atomic_exchange(tmp_path, monkeypatch):
    # where renameat2(RENAME_EXCHANGE) is missing: two renames, and a failure between them restores the old folder
    monkeypatch.setattr(fileio, "_exchange", lambda a, b: False)
    out = tmp_path / "out"
    for text in ("old", "new"):
        with output_folder(out) as folder:
            write_text_atomic(folder / "summary.json", text)
    assert (out / "summary.json").read_text() == "new" and _siblings(out) == []
    real = fileio.os.rename

    def fail_second(src, dst):
        if Path(dst) == out.absolute() and Path(src).name.startswith(".out"):
            if "old-" not in Path(src).name:
                raise KeyboardInterrupt
        return real(src, dst)

    monkeypatch.setattr(fileio.os, "rename", fail_second)
    with pytest.raises(KeyboardInterrupt):
        with output_folder(out) as folder:
            write_text_atomic(folder / "summary.json", "newer")
    assert (out / "summary.json").read_text() == "new" and _siblings(out) == []
