"""``meshops plan FILE``: what ``meshops apply`` would change in the cluster, changing nothing."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, TextIO

from meshops.cli.files import add_command
from meshops.cli.output import add_output_option

__all__ = ["add_cluster_options", "add_parser", "run"]

_DESCRIPTION = """\
Compare the objects the platform file asks for (those 'meshops render' prints:
with an istio section, first the control plane istioctl generates from it, and
the Gateway API CRDs the cluster lacks) with what the cluster holds, and list
what 'meshops apply' would do to each: create, update, delete (with --prune),
or keep. Every create, update and delete is sent to the API server as a
server-side dry run, so the server's own checks (schemas, admission) run and
nothing is stored. Objects already as the file wants them are only counted.

The cluster is the one kubeconfig names (--kubeconfig, else $KUBECONFIG, else
~/.kube/config; --context, else its current context). Exits 0 when the
cluster would take every object, 1 when it would refuse some, 2 when the file
is invalid, no cluster can be reached or istioctl is missing (one line says
why)."""

_EPILOG = """\
examples:
  meshops plan examples/shop.yaml
  meshops plan examples/shop.yaml --context staging --prune
  meshops plan examples/shop.yaml --output json"""


def add_cluster_options(parser: argparse.ArgumentParser) -> None:
    """The options of a command that talks to a cluster: kubeconfig, prune, output."""
    parser.add_argument(
        "--kubeconfig",
        metavar="PATH",
        help="the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)",
    )
    parser.add_argument(
        "--context", metavar="NAME", help="the kubeconfig context (default: its current one)"
    )
    parser.add_argument(
        "--prune",
        action="store_true",
        help="delete the platform's objects the file no longer asks for (never Namespaces)",
    )
    add_istioctl_option(parser)
    parser.add_argument(
        "--adopt",
        action="store_true",
        help="take over objects of the platform's names that are not its own (made by "
        "hand or another tool): apply over them and label them the platform's; without "
        "it they are refused and left as they are (Namespaces are never taken over: "
        "only their mesh labels are written)",
    )
    add_output_option(parser)


def add_istioctl_option(parser: argparse.ArgumentParser) -> None:
    """``--istioctl PATH``: what generates the control plane of the file's istio section."""
    parser.add_argument(
        "--istioctl",
        metavar="PATH",
        type=Path,
        help="the istioctl that generates the control plane of the file's istio section "
        "(default: the one on PATH)",
    )


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``plan`` with the ``meshops`` subparsers."""
    parser = add_command(
        subparsers,
        "plan",
        help="show what apply would change in the cluster",
        description=_DESCRIPTION,
        epilog=_EPILOG,
    )
    add_cluster_options(parser)
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Plan ``args.file`` against the cluster.

    Returns:
        0, 1 when the cluster would refuse some object, 2 on a user or cluster error.
    """
    from meshops.cli.cluster import run_against_cluster  # loads lightkube: only when run

    return run_against_cluster(args, out, err, dry_run=True, command="plan")
