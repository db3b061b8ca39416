"""Reading the platform file for a command: every error reported, never a traceback."""

from __future__ import annotations

import dataclasses
import os
from typing import TextIO

from meshops import spec
from meshops.cli.output import write_json

__all__ = ["read_declaration"]


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
