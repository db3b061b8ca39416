"""``meshops``: the argument parser and the dispatch to subcommands."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Generator, Sequence
from typing import TextIO

import meshops
from meshops.cli import apply, check, graph, plan, render, route, validate

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
    parser = argparse.ArgumentParser(
        prog="meshops",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {meshops.__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``meshops`` with ``argv`` (default: the process's arguments).

    Returns:
        The exit status: :data:`EXIT_OK`, :data:`EXIT_INVALID`, or a command's own
        (``plan`` and ``apply`` return 1 when the cluster refuses some object).
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help, --version, or a usage error (already printed)
        return e.code if isinstance(e.code, int) else EXIT_INVALID if e.code else EXIT_OK
    run = getattr(args, "run", None)
    if run is None:
        parser.print_usage(sys.stderr)
        print("meshops: error: a command is required (see meshops --help)", file=sys.stderr)
        return EXIT_INVALID
    stdout: TextIO = sys.stdout
    try:
        with _library_logs_quiet():
            status: int = run(args, stdout, sys.stderr)
        stdout.flush()
    except BrokenPipeError:  # the reader went away (e.g. `meshops render ... | head`)
        _silence(stdout)
        return 1
    return status


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
