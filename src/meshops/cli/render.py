"""``meshops render FILE``: print the objects a platform file asks for, as YAML."""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from meshops import spec
from meshops.cli.output import objects_yaml
from meshops.plan.ingress import plan_ingress
from meshops.plan.platform import platform_objects

__all__ = ["APPLY_ORDER", "add_parser", "file_objects", "run"]

#: Kinds in the order they are applied: :data:`meshops.k8s.kinds.APPLY_ORDER` by kind
#: name (a test keeps the two equal; importing meshops.k8s would load lightkube, which
#: rendering does not need).
APPLY_ORDER = (
    "Namespace",
    "ServiceAccount",
    "Secret",
    "ConfigMap",
    "Service",
    "GatewayClass",
    "Gateway",
    "ReferenceGrant",
    "HTTPRoute",
    "GRPCRoute",
    "TLSRoute",
    "TCPRoute",
    "DestinationRule",
    "RequestAuthentication",
    "AuthorizationPolicy",
)

_DESCRIPTION = """\
Print, as multi-document YAML, every Kubernetes object the platform file asks
for, in the order to apply them: the Namespaces (those on the ambient mesh
labelled for it), the Gateways (each namespace's waypoint, then the ingress
gateway), the ReferenceGrants and routes of the ingress, its DestinationRules,
then the AuthorizationPolicies (the mesh's, then the ingress gateway's).
The TLS Secret the ingress names is not printed: it must already exist.
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


def file_objects(declaration: spec.Declaration) -> tuple[list[dict[str, Any]], list[str]]:
    """Every object a platform file asks for, in apply order, and the problems found.

    The mesh's objects come from :func:`~meshops.plan.platform.platform_objects`, the
    ingress's from :func:`~meshops.plan.ingress.plan_ingress`; they are put in
    :data:`APPLY_ORDER` of their kinds, each kind keeping the order its plan gave (the
    mesh's first, then the ingress's, whose routes follow the file).

    Returns:
        The objects, and the problems as lines to print (none for a file that loaded:
        the loader reports each at its place).
    """
    objects, found = platform_objects(declaration.platform)
    problems = [f"{p.field}: {p.message}" for p in found]
    if declaration.ingress is not None:
        ingress = declaration.ingress
        plan = plan_ingress(ingress.gateway, ingress.route_sets, ingress.waypoints)
        objects += plan.objects
        problems += [str(p) for p in plan.problems] + [str(c) for c in plan.conflicts]
    rank = {kind: i for i, kind in enumerate(APPLY_ORDER)}
    objects.sort(key=lambda o: rank.get(str(o.get("kind")), len(APPLY_ORDER)))
    return objects, problems


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Render ``args.file`` to ``out``; errors go to ``err``.

    Returns:
        0, or 2 when the file is invalid.
    """
    try:
        declaration = spec.read_file(args.file)
    except spec.PlatformFileError as e:
        for error in e.errors:
            print(error, file=err)
        return 2
    objects, problems = file_objects(declaration)
    if problems:  # read_file already reports these; kept so no problem is ever silent
        for problem in problems:
            print(f"{args.file}: {problem}", file=err)
        return 2
    out.write(objects_yaml(objects))
    return 0
