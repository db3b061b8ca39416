"""``meshops apply FILE``: make the cluster hold the objects the platform file asks for."""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from meshops.cli.files import add_command
from meshops.cli.plan import add_cluster_options

__all__ = ["add_parser", "run"]

_DESCRIPTION = """\
Server-side apply the objects the platform file asks for (those 'meshops
render' prints), through the reconciler the charms use. With an istio section,
the control plane comes first: istioctl (on PATH, or --istioctl PATH) generates
it from the section, as the istio-k8s charm does, and the Gateway API CRDs the
cluster lacks are installed; CRDs are never deleted. Only objects that changed since the last
apply are written; each is printed as it is made, and a summary at the end.

Every object written is labelled as the platform's. With --prune, the
platform's objects the file no longer asks for are deleted; without it they
are kept and listed. Namespaces are never deleted; one that exists and is not
the platform's only gets the mesh's labels, and is refused if another field
manager set one of them to another value. An object of the platform's name
that is not the platform's is never overwritten (refused).

Run 'meshops plan' first to see what will change. The cluster is the one
kubeconfig names (--kubeconfig, else $KUBECONFIG, else ~/.kube/config;
--context, else its current context). Exits 0 when the cluster took every
object, 1 when it refused some, 2 when the file is invalid or no cluster can be
reached or istioctl is missing (one line says why)."""

_EPILOG = """\
examples:
  meshops plan examples/shop.yaml && meshops apply examples/shop.yaml
  meshops apply examples/shop.yaml --context staging --prune"""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``apply`` with the ``meshops`` subparsers."""
    parser = add_command(
        subparsers,
        "apply",
        help="make the cluster hold the platform's objects",
        description=_DESCRIPTION,
        epilog=_EPILOG,
    )
    add_cluster_options(parser)
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Apply ``args.file`` to the cluster.

    Returns:
        0, 1 when the cluster refused some object, 2 on a user or cluster error.
    """
    from meshops.cli.cluster import run_against_cluster  # loads lightkube: only when run

    return run_against_cluster(args, out, err, dry_run=False, command="apply")
