"""``meshops``: the argument parser and the dispatch to subcommands."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import os
import re
import sys
from collections.abc import Generator, Sequence
from typing import Any, TextIO

import meshops
from meshops.cli import apply, check, graph, plan, render, route, validate
from meshops.cli.parser import Parser, UsageError

__all__ = ["EXIT_INVALID", "EXIT_OK", "build_parser", "main"]

#: Exit status: done.
EXIT_OK = 0
#: Exit status: a wrong command line or an invalid platform file.
EXIT_INVALID = 2

#: The subcommands, in the order ``meshops --help`` lists them.
COMMANDS = (validate, render, plan, apply, route, check, graph)

_DESCRIPTION = """\
Istio ambient mesh and Gateway API ingress for Kubernetes, from one platform file.

A platform file declares Istio's install, namespaces, the apps in them, which apps
may call which, the ingress routes from outside to them, and whether the mesh
denies by default; meshops checks it, turns it into the IstioOperator, Namespaces,
waypoints, AuthorizationPolicies, Gateway and routes that enforce it -- the same
objects the istio-beacon-k8s and istio-ingress-k8s charms make under Juju --,
applies them to a cluster, explains who may call whom and which backend serves a
request, and draws it."""

_EPILOG = """\
examples:
  meshops validate examples/shop.yaml
  meshops render examples/shop.yaml
  meshops plan examples/shop.yaml && meshops apply examples/shop.yaml
  meshops check examples/shop.yaml --from frontend --to cart --method GET --path /cart
  meshops route examples/shop.yaml https://shop.example.com/products
  meshops graph examples/shop.yaml -o shop.svg

Run 'meshops COMMAND --help' for a command's options."""


def build_parser() -> argparse.ArgumentParser:
    """The ``meshops`` argument parser, with every subcommand registered."""
    parser = Parser(
        prog="meshops",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {meshops.__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND", dest="command_name")
    for command in COMMANDS:
        sub = command.add_parser(subparsers)
        if isinstance(sub, Parser):
            parser.known_options |= sub.known_options
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``meshops`` with ``argv`` (default: the process's arguments).

    Returns:
        The exit status: :data:`EXIT_OK`, :data:`EXIT_INVALID`, or a command's own
        (``plan`` and ``apply`` return 1 when the cluster refuses some object).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    as_json = _wants_json(argv)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help or --version (already printed)
        return e.code if isinstance(e.code, int) else EXIT_INVALID if e.code else EXIT_OK
    except UsageError as e:
        _report(str(e), as_json, e.prog, EXIT_INVALID)
        return EXIT_INVALID
    run = getattr(args, "run", None)
    if run is None:
        usage = " ".join(parser.format_usage().split()).removeprefix("usage: ")
        message = f"meshops: error: a command is required; see meshops --help (usage: {usage})"
        _report(message, as_json, "meshops", EXIT_INVALID)
        return EXIT_INVALID
    stdout: TextIO = sys.stdout
    collected = io.StringIO()  # with --output json, the errors to print as JSON
    err: TextIO = collected if as_json else sys.stderr
    try:
        with _library_logs_quiet():
            status: int = run(args, stdout, err)
        stdout.flush()
    except BrokenPipeError:  # the reader went away (e.g. `meshops render ... | head`)
        _silence(stdout)
        return 1
    if collected.getvalue():
        _report(collected.getvalue(), True, f"meshops {args.command_name}", status)
    return status


def _wants_json(argv: Sequence[str]) -> bool:
    """Whether the command line asks for ``--output json`` (read before parsing it)."""
    for i, arg in enumerate(argv):
        if arg == "--":
            break
        if arg == "--output=json" or (arg == "--output" and argv[i + 1 : i + 2] == ["json"]):
            return True
    return False


#: ``FILE:LINE:COL: FIELD: MESSAGE``, as platform file errors are printed.
_LOCATED = re.compile(r"^(?P<file>[^:\s][^:]*):(?P<line>\d+):(?P<column>\d+): (?P<rest>.*)$")


def _error_json(line: str, prog: str) -> dict[str, Any]:
    """One error line as JSON: its message, and file, line and column when it names them."""
    text = line.removeprefix(f"{prog}: ")
    located = _LOCATED.match(text)
    if located is None:
        return {"message": text}
    return {
        "file": located["file"],
        "line": int(located["line"]),
        "column": int(located["column"]),
        "message": located["rest"],
    }


def _report(text: str, as_json: bool, prog: str, status: int) -> None:
    """Print errors: as lines on stderr, or with ``--output json`` as JSON on stdout.

    JSON goes where a program reads the answer (as a file's errors already do).

    The JSON: ``{"command": "meshops check", "exit": 2, "errors": [{"message": ...}]}``,
    each error with ``file``, ``line`` and ``column`` when the line names them.
    """
    lines = [line for line in text.splitlines() if line.strip()]
    if not as_json:
        for line in lines:
            print(line, file=sys.stderr)
        return
    errors = [_error_json(line, prog) for line in lines]
    document = {"command": prog, "exit": status, "errors": errors}
    print(json.dumps(document, indent=2, ensure_ascii=False), file=sys.stdout)


@contextlib.contextmanager
def _library_logs_quiet() -> Generator[None, None, None]:
    """Keep the library's warnings off stderr while a command runs.

    Commands report what matters themselves; the warnings the library logs (for the
    charms' debug-log) would repeat it, through Python's last-resort handler.
    """
    logger = logging.getLogger("meshops")
    propagate = logger.propagate
    handler = logging.NullHandler()
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


def _silence(stream: TextIO) -> None:
    """Point ``stream``'s file at /dev/null, so that Python's exit flush cannot fail."""
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)
