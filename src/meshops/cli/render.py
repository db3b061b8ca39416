"""``meshops render FILE``: print the objects a platform file asks for, as YAML."""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from meshops import spec
from meshops.cli.output import objects_yaml
from meshops.plan.platform import platform_objects

__all__ = ["add_parser", "run"]

_DESCRIPTION = """\
Print, as multi-document YAML, every Kubernetes object the platform file asks
for, in the order to apply them: the Namespaces (those on the ambient mesh
labelled for it), their waypoint Gateways, then the AuthorizationPolicies.
Nothing is sent to a cluster. An invalid file prints one line per error, each
with its file, line and column, and exits with status 2."""

_EPILOG = """\
examples:
  meshops render examples/shop.yaml
  meshops render examples/shop.yaml | kubectl apply --server-side -f -"""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``render`` with the ``meshops`` subparsers."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "render",
        help="print the Kubernetes objects a platform file asks for",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("file", metavar="FILE", help="the platform file (YAML)")
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Render ``args.file`` to ``out``; errors go to ``err``.

    Returns:
        0, or 2 when the file is invalid.
    """
    try:
        platform = spec.load_file(args.file)
    except spec.PlatformFileError as e:
        for error in e.errors:
            print(error, file=err)
        return 2
    objects, problems = platform_objects(platform)
    if problems:  # load_file already reports these; kept so no problem is ever silent
        for problem in problems:
            print(f"{args.file}: {problem.field}: {problem.message}", file=err)
        return 2
    out.write(objects_yaml(objects))
    return 0
