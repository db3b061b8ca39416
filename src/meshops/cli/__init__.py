"""The ``meshops`` command: a platform file validated, rendered, applied, checked, drawn.

Each subcommand lives in its own module with an ``add_parser`` that registers it and a
``run`` that does it; :mod:`meshops.cli.main` puts them together. Commands write their
output to stdout and their errors to stderr, and return the exit status:

* 0 — done (a call allowed, a request served);
* 1 — the answer is no: the cluster refused some object (``plan``, ``apply``), a call
  is denied (``check``), no route serves a request (``route``);
* 2 — the command line, the platform file or the cluster cannot be used (every error
  is printed, a file's each with its file, line and column).

Example:
    >>> main(["--version"])  # doctest: +SKIP
    meshops 0.1.0
    0
"""

from meshops.cli.main import EXIT_INVALID, EXIT_OK, build_parser, main

__all__ = ["EXIT_INVALID", "EXIT_OK", "build_parser", "main"]
