"""``meshops validate FILE``: check a platform file, change nothing."""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from meshops.cli.files import add_command, read_declaration
from meshops.cli.output import add_output_option, write_json

__all__ = ["add_parser", "run"]

_DESCRIPTION = """\
Check a platform file as every other command does before it acts: its YAML, its
keys and values, and how its parts fit together (apps in declared namespaces,
callers that exist, ports the apps expose, routes that do not collide, Istio's
profile and watched namespaces). Exits 0 when the file is valid; otherwise
prints every error, each with its file, line, column, field and the rule it
breaks, and exits 2."""

_EPILOG = """\
examples:
  meshops validate examples/shop.yaml
  meshops validate examples/shop.yaml --output json"""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``validate`` with the ``meshops`` subparsers."""
    parser = add_command(
        subparsers,
        "validate",
        help="check a platform file",
        description=_DESCRIPTION,
        epilog=_EPILOG,
    )
    add_output_option(parser)
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Check ``args.file``; say so on ``out``, or report its errors.

    Returns:
        0 when the file is valid, else 2.
    """
    declaration = read_declaration(
        args.file, out, err, output=args.output, max_bytes=args.max_file_size
    )
    if declaration is None:
        return 2
    platform = declaration.platform
    ingress = declaration.ingress
    routes = sum(len(s.routes) for s in ingress.route_sets) if ingress is not None else 0
    summary: dict[str, object] = {
        "valid": True,
        "errors": [],
        "namespaces": len(platform.namespaces),
        "apps": len(platform.apps),
        "routes": routes,
        "hardened": platform.hardened,
    }
    if args.output == "json":
        write_json(summary, out)
    else:
        mode = ", deny by default" if platform.hardened else ""
        print(
            f"{args.file}: valid ({len(platform.namespaces)} namespaces, "
            f"{len(platform.apps)} apps, {routes} routes{mode})",
            file=out,
        )
    return 0
