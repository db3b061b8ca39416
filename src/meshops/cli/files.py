"""What every command shares: its parser with the FILE argument, and reading that file.

Reading reports every error, never a traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from typing import Any, TextIO

from meshops import spec
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
    return parser


def read_declaration(
    path: str | os.PathLike[str], out: TextIO, err: TextIO, *, output: str = "text"
) -> spec.Declaration | None:
    """The platform file's declaration, or None after reporting each error.

    With ``output="text"`` each error is one line on ``err``:
    ``FILE:LINE:COLUMN: FIELD: MESSAGE``. With ``output="json"`` they are one JSON
    document on ``out``: ``{"valid": false, "errors": [{"file": ..., "line": ...,
    "column": ..., "path": ..., "message": ...}]}``.
    """
    try:
        return spec.read_file(path)
    except spec.PlatformFileError as e:
        if output == "json":
            errors = [dataclasses.asdict(error) for error in e.errors]
            write_json({"valid": False, "errors": errors}, out)
        else:
            for error in e.errors:
                print(error, file=err)
        return None
