"""What every command shares: its parser with the FILE argument, and reading that file.

Reading reports every error, never a traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
from typing import Any, TextIO

from meshops import platform_file
from meshops.cli.output import write_json

__all__ = ["add_command", "read_declaration"]


def add_command(
    subparsers: Any, name: str, *, help: str, description: str, epilog: str
) -> argparse.ArgumentParser:
    """Register command ``name`` and give it the FILE argument every command takes.

    Args:
        subparsers: the ``meshops`` subparsers.
        name: the command.
        help: its line in ``meshops --help``.
        description: what ``meshops NAME --help`` says it does.
        epilog: its examples, as written.
    """
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name,
        help=help,
        description=description,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("file", metavar="FILE", help="the platform file (YAML)")
    parser.add_argument(
        "--max-file-size",
        metavar="MB",
        type=_megabytes,
        default=platform_file.MAX_FILE_BYTES,
        help=(
            f"refuse, unread, a platform file larger than this many megabytes "
            f"(default: {platform_file.MAX_FILE_BYTES // 1_000_000}; 1 MB = 1,000,000 bytes)"
        ),
    )
    return parser


def _megabytes(text: str) -> int:
    """A ``--max-file-size`` value (megabytes, fractions allowed) in bytes."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of megabytes")
    return max(int(value * 1_000_000), 1)


def read_declaration(
    path: str | os.PathLike[str],
    out: TextIO,
    err: TextIO,
    *,
    output: str = "text",
    max_bytes: int = platform_file.MAX_FILE_BYTES,
) -> platform_file.Declaration | None:
    """The platform file's declaration, or None after reporting each error.

    With ``output="text"`` each error is one line on ``err``:
    ``FILE:LINE:COLUMN: FIELD: MESSAGE``. With ``output="json"`` they are one JSON
    document on ``out``: ``{"valid": false, "errors": [{"file": ..., "line": ...,
    "column": ..., "path": ..., "message": ...}]}``. A file larger than ``max_bytes`` is
    refused unread (``--max-file-size`` raises the limit).
    """
    try:
        return platform_file.read_file(path, max_bytes=max_bytes)
    except platform_file.FileTooLargeError as e:
        hint = "--max-file-size raises the limit"
        errors = [dataclasses.replace(x, message=f"{x.message} ({hint})") for x in e.errors]
    except platform_file.PlatformFileError as e:
        errors = list(e.errors)
    if output == "json":
        write_json({"valid": False, "errors": [dataclasses.asdict(x) for x in errors]}, out)
    else:
        for error in errors:
            print(error, file=err)
    return None
