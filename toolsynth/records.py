"""Records of `.jsonl` and `.json` input files, decoded within bounds, every problem located.

Shared by the seed reader (`toolsynth synth`, `toolsynth eval`) and `toolsynth validate`. A `.jsonl` file is
read as bytes and decoded one line at a time, so a line that is not UTF-8, not JSON, nested deeper than
`MAX_RECORD_DEPTH` or holding an integer too long for Python to convert becomes an `InputError` in its own
place and the other lines are still read. Blank lines are not records. A `.json` file is one JSON value (an
array of records, or one record) decoded as a whole, so a problem there stops the whole file. A file that
cannot be opened, is not a regular file, or holds no record raises `InputError` for the file.
"""

from __future__ import annotations

import json
import stat
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AnyStr

from toolsynth.validators.limits import long_integer_at, measure, nesting_excess_at

MAX_RECORD_DEPTH = 100
TOO_DEEP = f"nested deeper than {MAX_RECORD_DEPTH} levels"
WHOLE_FILE = "-"
_NOT_A_FIELD = ("(file)", "(line)")
_FILE_KINDS = {
    stat.S_IFIFO: "a FIFO",
    stat.S_IFSOCK: "a socket",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
}


class InputError(ValueError):
    """An input file, line or record that cannot be read: names the file, the line (or index) and the field.

    `where` is `line N` (`.jsonl`), `index N` (`.json`) or `-` (the file as a whole). `code` is what went
    wrong: `file`, `not_utf8`, `invalid_json`, `too_deep`, `number_too_long`, or `bad_record` for a decoded
    record whose fields are wrong.
    """

    def __init__(self, path: str, where: str, field: str, message: str, code: str = "bad_record") -> None:
        location = path if where == WHOLE_FILE else f"{path}:{where}"
        subject = "" if field in _NOT_A_FIELD else f"field '{field}': "
        super().__init__(f"{location}: {subject}{message}")
        self.path = path
        self.where = where
        self.field = field
        self.reason = message
        self.code = code

    def __reduce__(self) -> tuple[type[InputError], tuple[str, str, str, str, str]]:
        """Pickled by its fields (a process pool or a Ray actor gets the same error back)."""
        return type(self), (self.path, self.where, self.field, self.reason, self.code)


@dataclass(frozen=True)
class Record:
    """One decoded record: where it is (`line N` or `index N`), that line or index number, and its value."""

    where: str
    number: int
    value: Any


class _Undecodable(Exception):
    """Text that `_decode_json` refuses: `code`, a message, and the offset of the problem when known."""

    def __init__(self, code: str, message: str, offset: int | None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.offset = offset


def file_error(path: Path, message: str) -> InputError:
    return InputError(str(path), WHOLE_FILE, "(file)", message, "file")


def check_input_file(path: Path) -> None:
    """Raise `InputError` unless `path` is a regular file: says `no such file`, `is a directory`, and so on."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise file_error(path, "no such file") from None
    except OSError as exc:
        raise file_error(path, f"cannot be read: {exc.strerror or exc}") from None
    if stat.S_ISDIR(mode):
        raise file_error(path, "is a directory, not a file")
    if not stat.S_ISREG(mode):
        raise file_error(path, f"is not a regular file (it is {_FILE_KINDS.get(stat.S_IFMT(mode), 'special')})")


def read_records(path: Path) -> Iterator[Record | InputError]:
    """The records of `path` in file order (a `.json` file as a JSON document, anything else as JSON lines).

    The file is checked at once (`InputError` for the file); a line that cannot be decoded is yielded as its
    `InputError`; a file that turns out to hold no record raises `InputError` once it has been read.
    """
    check_input_file(path)
    return _file_records(path)


def _file_records(path: Path) -> Iterator[Record | InputError]:
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise file_error(path, f"cannot be read: {exc.strerror or exc}") from None
    with handle:
        if path.suffix == ".json":
            yield from _document_records(handle.read(), str(path))
        else:
            yield from _line_records(handle, str(path))


def records_in(data: bytes, name: str, suffix: str) -> Iterator[Record | InputError]:
    """The records of a file's contents, read like `read_records` reads the file `name`."""
    if suffix == ".json":
        return _document_records(data, name)
    return _line_records(data.splitlines(keepends=True), name)


def _no_records(name: str, why: str) -> InputError:
    return InputError(name, WHOLE_FILE, "(file)", f"holds no records ({why})", "file")


def _line_records(lines: Iterable[bytes], name: str) -> Iterator[Record | InputError]:
    count = 0
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        count += 1
        try:
            yield Record(f"line {number}", number, _decoded_line(raw))
        except _Undecodable as problem:
            where = problem.message if problem.offset is None else f"{problem.message} at column {problem.offset + 1}"
            yield InputError(name, f"line {number}", "(line)", where, problem.code)
    if count == 0:
        raise _no_records(name, "it is empty or has only blank lines")


def _decoded_line(raw: bytes) -> Any:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _Undecodable("not_utf8", _not_utf8_message(raw[exc.start], exc.start + 1), None) from None
    value = _decode_json(text, MAX_RECORD_DEPTH)
    if _too_deep(value):
        raise _Undecodable("too_deep", TOO_DEEP, nesting_excess_at(text, MAX_RECORD_DEPTH))
    return value


def _not_utf8_message(byte: int, byte_in_line: int) -> str:
    return f"not UTF-8: byte 0x{byte:02x} at byte {byte_in_line} of the line (the file must be UTF-8 encoded)"


def _document_records(data: bytes, name: str) -> Iterator[Record | InputError]:
    if not data.strip():
        raise _no_records(name, "it is empty")
    document = _decoded_document(data, name)
    records = document if isinstance(document, list) else [document]
    if not records:
        raise _no_records(name, "an empty array")
    for index, value in enumerate(records):
        if _too_deep(value):
            yield InputError(name, f"index {index}", "(record)", TOO_DEEP, "too_deep")
        else:
            yield Record(f"index {index}", index, value)


def _decoded_document(data: bytes, name: str) -> Any:
    """The JSON value of a whole `.json` file, or `InputError` at the line and column of the problem."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, byte = _line_and_column(data, exc.start, b"\n")
        raise InputError(name, f"line {line}", "(file)", _not_utf8_message(data[exc.start], byte), "not_utf8") from None
    holder_levels = 1 if text.lstrip().startswith("[") else 0  # the array holding the records is a level
    try:
        return _decode_json(text, MAX_RECORD_DEPTH + holder_levels)
    except _Undecodable as problem:
        if problem.offset is None:
            raise InputError(name, WHOLE_FILE, "(file)", problem.message, problem.code) from None
        line, column = _line_and_column(text, problem.offset, "\n")
        message = f"{problem.message} at column {column}"
        raise InputError(name, f"line {line}", "(file)", message, problem.code) from None


def _line_and_column(text: AnyStr, offset: int, newline: AnyStr) -> tuple[int, int]:
    """1-based line and column of `offset` in `text`."""
    line_start = text.rfind(newline, 0, offset) + 1
    return text.count(newline, 0, offset) + 1, offset - line_start + 1


def _decode_json(text: str, max_depth: int) -> Any:
    """`json.loads` that refuses what is not JSON, nests too deeply for the parser (located by the first
    bracket deeper than `max_depth`) or holds an integer longer than Python converts, with `_Undecodable`
    instead of `JSONDecodeError`, `RecursionError` or `ValueError`."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise _Undecodable("invalid_json", f"not valid JSON: {exc.msg}", exc.pos) from None
    except RecursionError:
        raise _Undecodable("too_deep", TOO_DEEP, nesting_excess_at(text, max_depth)) from None
    except ValueError as exc:  # an integer past sys.get_int_max_str_digits()
        limit = sys.get_int_max_str_digits()
        at = long_integer_at(text, limit) if limit else None
        if at is None:
            raise _Undecodable("invalid_json", f"not decodable: {exc}", None) from None
        raise _Undecodable("number_too_long", f"an integer with more than {limit} digits", at) from None


def _too_deep(value: Any) -> bool:
    return measure(value, MAX_RECORD_DEPTH, sys.maxsize, sys.maxsize).depth > MAX_RECORD_DEPTH
