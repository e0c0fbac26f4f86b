"""The bounds on what a review's files may hold, and the readers that keep to them.

A file of a review is read only when it is a regular file (a FIFO would block
the reader for ever, a device would never end) and only up to a size: beyond
it the file is refused with a message naming it, never read into memory.
The config is YAML, whose anchors and aliases (``&a`` and ``*a``) let a
file of a few hundred bytes stand for billions of values; it is scanned
event by event (no recursion, nothing expanded) and refused at the line
where its expansion passes :data:`MAX_CONFIG_VALUES` or its nesting
:data:`MAX_CONFIG_DEPTH`, before anything (the checks, Snakemake) expands it.

The limits are far above what a review needs and are stated in
``docs/contract.md``.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import yaml

__all__ = [
    "InputError",
    "MAX_CONFIG_BYTES",
    "MAX_CONFIG_DEPTH",
    "MAX_CONFIG_VALUES",
    "MAX_SHEET_BYTES",
    "MAX_SOURCE_BYTES",
    "file_kind",
    "read_limited",
    "too_large",
    "yaml_bounds",
]

#: Largest ``config/config.yaml`` read, in bytes (1 MiB; a full config is a few KB).
MAX_CONFIG_BYTES = 1 << 20
#: Most values (scalars, lists and mappings) the config may hold with its aliases expanded.
MAX_CONFIG_VALUES = 100_000
#: Deepest nesting of lists and mappings in the config.
MAX_CONFIG_DEPTH = 64
#: Largest CSV sheet read, in bytes (64 MiB, about 300,000 rows).
MAX_SHEET_BYTES = 64 << 20
#: Largest source text (``data/raw/sources/``) read, in bytes (32 MiB).
MAX_SOURCE_BYTES = 32 << 20
#: Bytes read at a time.
_CHUNK = 1 << 20


class InputError(ValueError):
    """A file that is not read: not a regular file, or larger than its limit."""


def file_kind(mode: int) -> str:
    """What a file of this ``st_mode`` is, in words (for messages)."""
    for test, word in ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISDIR, "a folder")):
        if test(mode):
            return word
    return "not a regular file"


def read_limited(path, limit: int) -> bytes:
    """The bytes of ``path``, a regular file of at most ``limit`` bytes, read in chunks.

    Raises
    ------
    InputError
        When ``path`` is not a regular file (checked before it is opened, so a
        FIFO never blocks) or holds more than ``limit`` bytes (at most
        ``limit`` + 1 of them are read).
    """
    path = Path(path)
    mode = os.stat(path).st_mode
    if not stat.S_ISREG(mode):
        raise InputError(f"is {file_kind(mode)}, not a regular file: not read")
    # O_NONBLOCK: should the file be swapped for a FIFO after the check, open() still returns
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            raise InputError("is not a regular file: not read")
        parts, size = [], 0
        while size <= limit:
            chunk = fh.read(min(_CHUNK, limit + 1 - size))
            if not chunk:
                break
            parts.append(chunk)
            size += len(chunk)
    if size > limit:
        raise InputError(too_large(limit))
    return b"".join(parts)


def too_large(limit: int) -> str:
    """The message for a file of more than ``limit`` bytes."""
    return f"is larger than {_size(limit)}: not read (the limit of its kind)"


def _size(n: int) -> str:
    return f"{n >> 20} MiB" if n >= 1 << 20 else f"{n:,} bytes"


def yaml_bounds(text: str, loader=yaml.SafeLoader) -> tuple[int, str] | None:
    """``(line, message)`` when YAML ``text`` expands beyond the limits, else None.

    Counts the values of the document as its aliases would expand them
    (each alias standing for its anchor's whole value) and the depth of its
    nesting, event by event. A text that is not valid YAML returns None: the
    loader reports it with its own message.
    """
    sizes: dict[str, int] = {}
    open_anchors: set[str] = set()
    stack: list[list] = []  # [anchor, values so far] of each open list or mapping
    total = 0
    try:
        for event in yaml.parse(text, Loader=loader):
            line = event.start_mark.line + 1 if event.start_mark else None
            if isinstance(event, yaml.AliasEvent):
                if event.anchor in open_anchors:
                    return line, (f"alias *{event.anchor} refers to the value that holds it "
                                  "(a recursive alias): write the values out")
                n = sizes.get(event.anchor, 1)
            elif isinstance(event, (yaml.ScalarEvent, yaml.CollectionStartEvent)):
                n = 1
                if isinstance(event, yaml.CollectionStartEvent):
                    if len(stack) >= MAX_CONFIG_DEPTH:
                        return line, (f"lists and mappings nested more than {MAX_CONFIG_DEPTH} "
                                      "deep: not read")
                    stack.append([event.anchor, 1])
                    if event.anchor is not None:
                        open_anchors.add(event.anchor)
                    total += 1
                    continue
                if event.anchor is not None:
                    sizes[event.anchor] = 1
            elif isinstance(event, yaml.CollectionEndEvent):
                anchor, n = stack.pop()
                if anchor is not None:
                    sizes[anchor] = n
                    open_anchors.discard(anchor)
                if stack:
                    stack[-1][1] += n
                continue
            else:
                continue
            total += n
            if stack:
                stack[-1][1] += n
            if total > MAX_CONFIG_VALUES:
                how = (" once its YAML aliases (*name) are expanded: not read (write the values "
                       "out without aliases)" if sizes or isinstance(event, yaml.AliasEvent)
                       else ": not read")
                return line, f"the config holds more than {MAX_CONFIG_VALUES:,} values{how}"
    except yaml.YAMLError:
        return None
    return None
