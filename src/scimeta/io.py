"""Reading a review folder and writing reviewer-facing tables.

The only module of the library that touches files. A review is a folder with
``config/config.yaml`` and either ``data/raw/studies.csv`` + ``data/raw/outcomes.csv``
or ``data/raw/extraction.xlsx`` (sheets ``studies`` and ``outcomes``), never both.

Text files must be UTF-8 (a byte-order mark is accepted). Every cell is read
as text first; :mod:`scimeta.validate` checks it against the sheet schemas and
only then turns the numeric columns into floats, so a bad cell is reported with
its file, spreadsheet row (header = row 1) and column instead of being coerced.
"""

from __future__ import annotations

import csv
import io as _io
import math
import os
import secrets
import stat
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from scimeta import limits, validate
from scimeta.review import (  # re-exported: shared with scimeta.validate
    CONFIG_FILE,
    EXTRACTION_XLSX,
    OPTIONAL_SHEETS,
    OUTCOMES_CSV,
    REPORTED_NUMBERS,
    RISK_OF_BIAS_CSV,
    SHEETS,
    STUDIES_CSV,
    Problem,
    RawReview,
    Review,
    load_schema,
    schemas_dir,
)
from scimeta.safe import html_escape, neutralise_cell
from scimeta.tables import conform

__all__ = [
    "Review",
    "RawReview",
    "CONFIG_FILE",
    "STUDIES_CSV",
    "OUTCOMES_CSV",
    "EXTRACTION_XLSX",
    "RISK_OF_BIAS_CSV",
    "schemas_dir",
    "load_schema",
    "read_raw",
    "read_review",
    "validate_review",
    "write_csv",
    "neutralise_cell",
    "html_escape",
    "write_text",
    "atomic_write",
    "REPORTED_NUMBERS",
]



# --------------------------------------------------------------------------- reading
def _problem(file, row, column, message, severity="error"):
    return Problem(file=file, row=row, column=column, message=message, severity=severity)


def _decode(data: bytes, rel: str, problems: list) -> str | None:
    """Decode UTF-8 (BOM accepted); on failure report the line of the first bad byte."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        bad = data[err.start : err.start + 1].hex()
        problems.append(
            _problem(
                rel,
                line,
                None,
                f"not valid UTF-8 (byte 0x{bad} at offset {err.start}); "
                "save the file as UTF-8 (e.g. 'CSV UTF-8' in Excel)",
            )
        )
        return None


def _read_csv_text(text: str, rel: str, problems: list):
    """Parse CSV text into (header, [(row_number, {col: text})]); blank lines keep numbering."""
    reader = csv.reader(_io.StringIO(text, newline=""))
    try:
        records = list(reader)
    except csv.Error as err:
        if "field larger than field limit" in str(err):
            problems.append(_problem(
                rel, reader.line_num, None,
                f"a cell is longer than {csv.field_size_limit():,} characters, the most a cell "
                "may hold: shorten it (a quote needs only the words that hold the numbers)"))
            return None, []
        problems.append(_problem(rel, reader.line_num, None, f"malformed CSV: {err}"))
        return None, []
    if not records or all(not any(c.strip() for c in r) for r in records):
        problems.append(_problem(rel, None, None, "file is empty (no header row)"))
        return None, []
    other = _other_delimiter(records[0])
    if other is not None:
        problems.append(
            _problem(
                rel,
                1,
                None,
                f"the file is {other}-separated, not comma-separated: save it as CSV with commas "
                "(e.g. 'CSV UTF-8 (comma delimited)' in Excel)",
            )
        )
        return None, []
    return _table_from_records(records, rel, problems)


#: Delimiters a spreadsheet may have written instead of commas, by name.
_OTHER_DELIMITERS = {"\t": "tab", ";": "semicolon", "|": "pipe"}


def _other_delimiter(header: list[str]) -> str | None:
    """The name of the delimiter a one-cell header row is split by (tab, semicolon), or None."""
    if len(header) != 1:
        return None
    for char, name in _OTHER_DELIMITERS.items():
        if header[0].count(char) >= 1:
            return name
    return None


def _table_from_records(records, rel, problems):
    header = [str(h).strip() for h in records[0]]
    while header and header[-1] == "":
        header.pop()
    seen = set()
    for j, name in enumerate(header):
        if name == "":
            problems.append(_problem(rel, 1, f"#{j + 1}", "empty column name in the header"))
        elif name in seen:
            problems.append(_problem(rel, 1, name, "column appears twice in the header"))
        seen.add(name)
    rows = []
    for i, rec in enumerate(records[1:], start=2):
        cells = ["" if c is None else str(c) for c in rec]
        if not any(c.strip() for c in cells):
            continue  # blank line: skipped, numbering kept
        extra = cells[len(header) :]
        if any(c.strip() for c in extra):
            problems.append(
                _problem(
                    rel, i, None, f"row has {len(cells)} cells but the header has {len(header)}"
                )
            )
        cells = cells[: len(header)] + [""] * max(0, len(header) - len(cells))
        rows.append((i, dict(zip(header, cells))))
    if not rows:
        problems.append(_problem(rel, None, None, "no data rows (header only)"))
    return header, rows


def _xlsx_cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


#: Bounds of a sheet of ``extraction.xlsx`` (docs/contract.md, "Workbooks"): what lies
#: beyond them (a value, a formatted cell or row) is refused, never cut off, so that no
#: workbook can hold the validation for minutes or gigabytes.
XLSX_MAX_ROWS = 100_000
XLSX_MAX_COLUMNS = 256
#: Largest uncompressed part of the workbook (a sheet's XML, the shared strings), in bytes.
XLSX_MAX_PART_BYTES = 100 * 2**20


class _Unreadable(Exception):
    """A workbook (or one of its sheets) that cannot be read whole or within bounds."""


def _check_parts(path: Path) -> None:
    """Refuse a workbook one of whose parts would decompress beyond :data:`XLSX_MAX_PART_BYTES`.

    The sizes are those of the zip's directory; a part that decompresses to
    more is cut there by :mod:`zipfile` and fails its CRC check, so the bound
    holds for the bytes actually read.
    """
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, OSError) as err:
        raise _Unreadable(f"cannot be read as an .xlsx workbook: {err}") from None
    for part in parts:
        if part.file_size > XLSX_MAX_PART_BYTES:
            raise _Unreadable(
                f"part {part.filename} decompresses to {part.file_size:,} bytes, more than the "
                f"{XLSX_MAX_PART_BYTES:,} a workbook part may hold (docs/contract.md); is there "
                "padding or formatting far outside the data? Save the sheets as CSV instead")


def _sheet_cells(wb, sheet: str, *, data_only: bool):
    """Every cell element of one sheet, in file order: dicts ``row``, ``column``, ``value``,
    ``data_type`` (openpyxl's parser, which reads the XML as it streams).

    The sheet's ``<dimension>`` is not read: writers get it wrong (openpyxl's
    own read-only mode trusts it and loses the rows below an understated one,
    or all of them under R openxlsx's ``A1``). A row or cell beyond
    :data:`XLSX_MAX_ROWS` / :data:`XLSX_MAX_COLUMNS`, value or formatting
    only, and XML that does not parse raise :class:`_Unreadable`.
    """
    # openpyxl 3.1 (pinned): the worksheet parser behind ReadOnlyWorksheet, without the
    # worksheet's use of <dimension> to bound and pad the rows
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet._reader import WorkSheetParser

    ws = wb[sheet]
    with wb._archive.open(ws._worksheet_path) as src:
        parser = WorkSheetParser(src, ws._shared_strings, data_only=data_only, epoch=wb.epoch,
                                 date_formats=wb._date_formats,
                                 timedelta_formats=wb._timedelta_formats)
        try:
            for row, cells in parser.parse():
                if row > XLSX_MAX_ROWS:
                    raise _Unreadable(
                        f"row {row} holds a value or formatting, beyond the {XLSX_MAX_ROWS:,} "
                        "rows a sheet may have (docs/contract.md); delete the rows below the data")
                for cell in cells:
                    if cell["column"] > XLSX_MAX_COLUMNS:
                        where = f"{get_column_letter(cell['column'])}{cell['row']}"
                        raise _Unreadable(
                            f"cell {where} holds a value or formatting, beyond the "
                            f"{XLSX_MAX_COLUMNS} columns a sheet may have (column "
                            f"{get_column_letter(XLSX_MAX_COLUMNS)}, docs/contract.md); delete "
                            "the columns right of the data")
                    yield cell
        except (SyntaxError, ValueError, KeyError, IndexError, TypeError) as err:
            # SyntaxError: ElementTree's ParseError and lxml's XMLSyntaxError; the others: a
            # coordinate, shared-string index or number that is not what the format says
            raise _Unreadable(f"malformed sheet XML ({ws._worksheet_path}): "
                              f"{type(err).__name__}: {err}") from None


def _sheet_records(wb, sheet: str) -> list[list[str]]:
    """The sheet as rows of cell texts (row i of the list is spreadsheet row i + 1), every row
    and column that holds a value and nothing after the last one."""
    values: dict[int, dict[int, str]] = {}
    for cell in _sheet_cells(wb, sheet, data_only=True):
        text = _xlsx_cell_text(cell["value"])
        if text != "":
            values.setdefault(cell["row"], {})[cell["column"]] = text
    if not values:
        return []
    records = []
    for i in range(1, max(values) + 1):
        row = values.get(i, {})
        records.append([row.get(j, "") for j in range(1, max(row, default=0) + 1)])
    return records


def _formulas(wb, sheet: str) -> dict:
    """``{(row, col): formula}`` of the formula cells of one sheet (1-based)."""
    return {(c["row"], c["column"]): str(c["value"])
            for c in _sheet_cells(wb, sheet, data_only=False) if c["data_type"] == "f"}


def _uncached_formulas(formulas, records, srel, problems):
    """A formula cell without a stored value is an error: its value cannot be read faithfully.

    openpyxl does not evaluate formulas; Excel and LibreOffice store the last
    computed value beside each formula when they save, and that is what is
    read. A workbook written by a program that stores only the formula would
    otherwise be read as empty cells.
    """
    from openpyxl.utils import get_column_letter

    header = [str(h).strip() for h in records[0]] if records else []
    for (i, j), formula in sorted(formulas.items()):
        cached = records[i - 1][j - 1] if i - 1 < len(records) and j - 1 < len(records[i - 1]) else ""
        if cached != "":
            continue
        column = header[j - 1] if j - 1 < len(header) and i > 1 else None
        problems.append(
            _problem(
                srel,
                i,
                column or get_column_letter(j),
                f"cell {get_column_letter(j)}{i} holds the formula {formula} without a stored "
                "value; open and save the workbook in Excel or LibreOffice (which store the "
                "computed values), or enter the number",
            )
        )


def _read_sheet(wb, sheet: str, srel: str, problems: list):
    """One sheet's ``(header, rows)``, or None when it is empty or cannot be read (then
    with the reason in ``problems``, naming the file and the sheet)."""
    try:
        records = _sheet_records(wb, sheet)
        formulas = _formulas(wb, sheet)
    except _Unreadable as err:
        problems.append(_problem(srel, None, None, f"cannot be read whole: {err}"))
        return None
    if not records:
        return None
    _uncached_formulas(formulas, records, srel, problems)
    return _table_from_records(records, srel, problems)


def _read_xlsx(path: Path, rel: str, problems: list):
    """The sheets of ``extraction.xlsx``, every row and column that holds a value (the
    ``<dimension>`` a writer records is not trusted), within the bounds of
    :data:`XLSX_MAX_ROWS`, :data:`XLSX_MAX_COLUMNS` and :data:`XLSX_MAX_PART_BYTES`."""
    import openpyxl

    try:
        _check_parts(path)
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except _Unreadable as err:
        problems.append(_problem(rel, None, None, str(err)))
        return {}
    except Exception as err:  # zipfile.BadZipFile, KeyError, InvalidFileException...
        problems.append(_problem(rel, None, None, f"cannot be read as an .xlsx workbook: {err}"))
        return {}
    out = {}
    try:
        for name in wb.sheetnames:
            state = getattr(wb[name], "sheet_state", "visible")
            if state != "visible":
                known = name in SHEETS + OPTIONAL_SHEETS
                what = "read as the" if known else "not read (only sheets"
                tail = f" {name} sheet" if known else " studies, outcomes and risk_of_bias are)"
                problems.append(
                    _problem(rel, None, None, f"sheet {name!r} is {state}: {what}{tail}", "warning")
                )
        for sheet in SHEETS:
            if sheet not in wb.sheetnames:
                problems.append(
                    _problem(
                        rel,
                        None,
                        None,
                        f"sheet '{sheet}' is missing (sheets found: {', '.join(wb.sheetnames)})",
                    )
                )
                continue
            srel = f"{rel}:{sheet}"
            before = len(problems)
            table = _read_sheet(wb, sheet, srel, problems)
            if table is not None:
                out[sheet] = table
            elif len(problems) == before:
                problems.append(_problem(srel, None, None, "sheet is empty (no header row)"))
        for sheet in OPTIONAL_SHEETS:
            if sheet in wb.sheetnames:
                table = _read_sheet(wb, sheet, f"{rel}:{sheet}", problems)
                if table is not None:
                    out[sheet] = table
    finally:
        wb.close()
    return out


#: libyaml's safe loader where PyYAML was built with it (same documents, same
#: marks, about ten times faster), else the pure-Python one.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read_input(path: Path, rel: str, limit: int, problems: list) -> str | None:
    """The text of a review file (a regular file of at most ``limit`` bytes, UTF-8), or None
    with the reason in ``problems`` (:func:`scimeta.limits.read_limited`)."""
    try:
        data = limits.read_limited(path, limit)
    except limits.InputError as err:
        problems.append(_problem(rel, None, None, str(err)))
        return None
    return _decode(data, rel, problems)


def _special_files(root: Path, problems: list) -> None:
    """Every FIFO, socket or device under ``data/raw/`` is an error naming it (never opened);
    so is a source text (``data/raw/sources/``) beyond its size, before the audit reads it."""
    top = root / "data/raw"
    if not top.is_dir():
        return
    for folder, dirs, files in os.walk(top):
        dirs.sort()
        for name in sorted(files) + dirs:
            path = Path(folder, name)
            try:
                mode = os.stat(path).st_mode
            except OSError:
                continue  # a link to nothing: not a file that could be read
            rel = path.relative_to(root).as_posix()
            if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                problems.append(_problem(rel, None, None,
                                         f"is {limits.file_kind(mode)}, not a regular file: "
                                         "not read (remove it from data/raw)"))
            elif (stat.S_ISREG(mode) and rel.startswith("data/raw/sources/")
                  and os.stat(path).st_size > limits.MAX_SOURCE_BYTES):
                problems.append(_problem(rel, None, None,
                                         limits.too_large(limits.MAX_SOURCE_BYTES)))


def _yaml_lines(text: str) -> tuple[dict, list]:
    """Map dotted key paths of a YAML mapping to their 1-based line numbers.

    Also returns the duplicated keys as ``(path, line, first_line)``: YAML
    loaders keep the last of two equal keys without a word, so a second
    ``prepost_r:`` would silently change the analysis.
    """
    lines: dict[str, int] = {}
    duplicates: list[tuple[str, int, int]] = []
    try:
        node = yaml.compose(text, Loader=_YAML_LOADER)
    except yaml.YAMLError:
        return lines, duplicates

    def walk(n, prefix):
        if isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                key = f"{prefix}.{k.value}" if prefix else str(k.value)
                if key in lines:
                    duplicates.append((key, k.start_mark.line + 1, lines[key]))
                    continue
                lines[key] = k.start_mark.line + 1
                walk(v, key)
        elif isinstance(n, yaml.SequenceNode):
            for i, v in enumerate(n.value):
                key = f"{prefix}.{i}"
                lines[key] = v.start_mark.line + 1
                walk(v, key)

    if node is not None:
        walk(node, "")
    return lines, duplicates


def read_raw(review_dir) -> RawReview:
    """Read the config and both sheets as text, collecting reading problems.

    Never raises for bad content (only for a missing folder); problems are
    returned in ``RawReview.problems``.
    """
    root = Path(review_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"review folder not found: {review_dir}")
    problems: list = []
    sources: dict[str, str] = {"config": CONFIG_FILE}

    config = None
    config_lines: dict = {}
    cfg_path = root / CONFIG_FILE
    _special_files(root, problems)
    if not cfg_path.exists():
        problems.append(_problem(CONFIG_FILE, None, None, "config file not found"))
    else:
        text = _read_input(cfg_path, CONFIG_FILE, limits.MAX_CONFIG_BYTES, problems)
        bounds = None if text is None else limits.yaml_bounds(text, _YAML_LOADER)
        if bounds is not None:
            problems.append(_problem(CONFIG_FILE, bounds[0], None, bounds[1]))
        elif text is not None:
            try:
                config = yaml.load(text, Loader=_YAML_LOADER)
            except yaml.YAMLError as err:
                mark = getattr(err, "problem_mark", None)
                problems.append(
                    _problem(
                        CONFIG_FILE,
                        mark.line + 1 if mark is not None else None,
                        str(mark.column + 1) if mark is not None else None,
                        f"not valid YAML: {getattr(err, 'problem', None) or err}",
                    )
                )
            config_lines, duplicates = _yaml_lines(text)
            for key, line, first in duplicates:
                problems.append(
                    _problem(
                        CONFIG_FILE,
                        line,
                        key,
                        f"duplicate key {key.rpartition('.')[2]!r} (first at line {first}); "
                        "YAML would keep only the last one",
                    )
                )
            if config is None and not any(p.file == CONFIG_FILE for p in problems):
                problems.append(_problem(CONFIG_FILE, None, None, "config file is empty"))

    headers: dict = {}
    rows: dict = {}
    csv_paths = [root / STUDIES_CSV, root / OUTCOMES_CSV]
    xlsx_path = root / EXTRACTION_XLSX
    has_csv = [p.is_file() for p in csv_paths]
    if xlsx_path.is_file() and any(has_csv):
        problems.append(
            _problem(
                "data/raw",
                None,
                None,
                f"both {EXTRACTION_XLSX} and CSV sheets are present; keep only one source "
                "(ambiguous input is never guessed)",
            )
        )
    elif xlsx_path.is_file():
        tables = _read_xlsx(xlsx_path, EXTRACTION_XLSX, problems)
        for sheet in SHEETS + OPTIONAL_SHEETS:
            if sheet in SHEETS or sheet in tables:
                sources[sheet] = f"{EXTRACTION_XLSX}:{sheet}"
            if sheet in tables:
                headers[sheet], rows[sheet] = tables[sheet]
    else:
        for sheet, rel, path, present in zip(
            SHEETS, (STUDIES_CSV, OUTCOMES_CSV), csv_paths, has_csv
        ):
            sources[sheet] = rel
            if not present:
                if not path.exists():  # else a FIFO, socket or device: _special_files said so
                    problems.append(
                        _problem(rel, None, None, f"file not found (nor {EXTRACTION_XLSX})")
                    )
                continue
            text = _read_input(path, rel, limits.MAX_SHEET_BYTES, problems)
            if text is None:
                continue
            header, recs = _read_csv_text(text, rel, problems)
            if header is not None:
                headers[sheet], rows[sheet] = header, recs
    rob_path = root / RISK_OF_BIAS_CSV
    if rob_path.is_file() and "risk_of_bias" in sources:
        problems.append(_problem("data/raw", None, None,
                                 f"both {RISK_OF_BIAS_CSV} and the risk_of_bias sheet of "
                                 f"{EXTRACTION_XLSX} are present; keep only one"))
    elif rob_path.is_file():
        sources["risk_of_bias"] = RISK_OF_BIAS_CSV
        text = _read_input(rob_path, RISK_OF_BIAS_CSV, limits.MAX_SHEET_BYTES, problems)
        if text is not None:
            header, recs = _read_csv_text(text, RISK_OF_BIAS_CSV, problems)
            if header is not None:
                headers["risk_of_bias"], rows["risk_of_bias"] = header, recs
    return RawReview(
        config=config,
        config_lines=config_lines,
        headers=headers,
        rows=rows,
        sources=sources,
        problems=problems,
    )


def read_review(review_dir) -> Review:
    """Read and validate a review folder.

    Returns
    -------
    Review

    Raises
    ------
    scimeta.validate.ReviewError
        Listing every error (``file:row:column: message``); nothing is written.
    """
    raw = read_raw(review_dir)
    return validate.build_review(raw, str(review_dir))


def validate_review(review_dir) -> list[Problem]:
    """Check config and sheets of a review folder without running anything.

    Returns
    -------
    list of Problem
        Errors and warnings (:func:`scimeta.validate.validate_raw`), sorted by
        file, row, column. Empty = clean. Reads only; writes nothing.
    """
    return validate.validate_raw(read_raw(review_dir))


# --------------------------------------------------------------------------- writing
def _format_column(s: pd.Series) -> list[str]:
    """The CSV text of every cell of a column (see :func:`write_csv`)."""
    if pd.api.types.is_bool_dtype(s):
        return ["true" if v else "false" for v in s.tolist()]
    if pd.api.types.is_integer_dtype(s):
        return [str(v) for v in s.tolist()]
    if pd.api.types.is_float_dtype(s):
        # repr() is the shortest string that round-trips the float exactly.
        return [repr(v) if v == v else "" for v in s.to_numpy(dtype=float, na_value=np.nan).tolist()]

    def cell(v):
        if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
            return ""
        if isinstance(v, (bool, np.bool_)):
            return "true" if v else "false"
        if isinstance(v, (float, np.floating)):
            return repr(float(v))
        return neutralise_cell(str(v))

    return [cell(v) for v in s.tolist()]


def _file_mode() -> int:
    """The mode a new file gets from the process umask (mkstemp would give 0600)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


_FILE_MODE = _file_mode()
#: Suffix of the short-lived name a finished file has just before its rename.
TEMP_SUFFIX = ".tmp"
#: A temporary name older than this (seconds) is a leftover of a killed writer.
STALE_TEMP_SECONDS = 60.0


def _remove_stale_temps(path: Path) -> None:
    """Delete leftovers ``.<name>.*.tmp`` of ``path`` from writers that were killed."""
    prefix = f".{path.name}."
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return
    now = time.time()
    for entry in entries:
        if entry.name.startswith(prefix) and entry.name.endswith(TEMP_SUFFIX):
            try:
                if now - entry.stat(follow_symlinks=False).st_mtime > STALE_TEMP_SECONDS:
                    os.unlink(entry.path)
            except OSError:
                pass


def _open_unnamed(folder: Path):
    """A file in ``folder`` without a name (Linux ``O_TMPFILE``), or None where unsupported."""
    flag = getattr(os, "O_TMPFILE", None)
    if flag is None or not os.path.isdir("/proc/self/fd"):
        return None
    try:
        return os.open(folder, flag | os.O_WRONLY, _FILE_MODE)
    except OSError:  # a file system without O_TMPFILE (EOPNOTSUPP, EISDIR, ...)
        return None


def _link_unnamed(fd: int, path: Path) -> str:
    """Give the unnamed file ``fd`` a fresh temporary name beside ``path``."""
    # linkat(2) with AT_SYMLINK_FOLLOW on /proc/self/fd/<fd>, as open(2) describes for
    # O_TMPFILE; os.link takes that path only when given a src_dir_fd
    proc = os.open("/proc/self/fd", os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        for _ in range(100):
            tmp = str(path.parent / f".{path.name}.{secrets.token_hex(4)}{TEMP_SUFFIX}")
            try:
                os.link(str(fd), tmp, src_dir_fd=proc, follow_symlinks=True)
            except FileExistsError:
                continue
            return tmp
    finally:
        os.close(proc)
    raise FileExistsError(f"no free temporary name for {path}")


def atomic_write(path, write) -> None:
    """Write a file so that no reader and no kill ever sees part of it.

    ``write(fh)`` gets a binary file object. Where the system allows it
    (Linux), the data go to a file without a name in the target's folder,
    which is given a short temporary name only once complete and then renamed
    over ``path``: a writer killed while writing leaves nothing behind.
    Elsewhere a hidden temporary file ``.<name>.XXXX.tmp`` is written and
    renamed (and deleted on any error). Leftovers of killed writers (older
    than :data:`STALE_TEMP_SECONDS`) are deleted at the next write of the
    same file. The file gets the mode the umask gives a new file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temps(path)
    fd = _open_unnamed(path.parent)
    tmp = None
    try:
        if fd is not None:
            with os.fdopen(fd, "wb", closefd=False) as fh:
                write(fh)
            tmp = _link_unnamed(fd, path)
        else:
            fd_named, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX,
                                             dir=path.parent)
            os.chmod(tmp, _FILE_MODE)
            with os.fdopen(fd_named, "wb") as fh:
                write(fh)
        os.replace(tmp, path)
    except BaseException:
        if tmp is not None and os.path.lexists(tmp):
            os.unlink(tmp)
        raise
    finally:
        if fd is not None:
            os.close(fd)


def write_text(text: str, path) -> None:
    """Write UTF-8 text with ``\\n`` line ends atomically (:func:`atomic_write`)."""
    data = text.encode("utf-8")
    atomic_write(path, lambda fh: fh.write(data))


def write_csv(df: pd.DataFrame, path, *, table: str | None = None) -> None:
    """Write a table deterministically and atomically.

    UTF-8 without BOM, ``\\n`` line ends, minimal quoting, floats as their
    exact shortest ``repr`` (never rounded), NaN as an empty cell, text cells
    and column names neutralised against formula injection
    (:func:`scimeta.safe.neutralise_cell`). Written with :func:`atomic_write`,
    so a reader never sees a half-written table. ``table``: the name of a
    declared output table (:data:`scimeta.tables.TABLES`); the frame is put
    in its columns (:func:`scimeta.tables.conform`; an undeclared column is
    an error) before it is written.
    """
    if table is not None:
        df = conform(table, df)
    header = [neutralise_cell(str(c)) for c in df.columns]
    columns = [_format_column(df.iloc[:, i]) for i in range(df.shape[1])]
    buf = _io.StringIO(newline="")
    # the csv module with pandas' to_csv dialect (minimal quoting), on text cells
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(zip(*columns))
    data = buf.getvalue().encode("utf-8")
    atomic_write(path, lambda fh: fh.write(data))
