"""The ``meshops`` command: a platform file rendered (later checked, drawn, applied).

Each subcommand lives in its own module with an ``add_parser`` that registers it and a
``run`` that does it; :mod:`meshops.cli.main` puts them together. Commands write their
output to stdout and their errors to stderr, and return the exit status:

* 0 — done;
* 2 — the command line or the platform file is wrong (every error is printed, each
  with its file, line and column).

Example:
    >>> main(["--version"])  # doctest: +SKIP
    meshops 0.1.0
    0
"""

from meshops.cli.main import EXIT_INVALID, EXIT_OK, build_parser, main

__all__ = ["EXIT_INVALID", "EXIT_OK", "build_parser", "main"]
