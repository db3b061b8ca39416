"""``meshops render FILE [-o DIR]``: the objects a platform file asks for, as YAML."""

from __future__ import annotations

import argparse
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from meshops import platform_file
from meshops.cli.files import add_command, read_declaration
from meshops.cli.output import objects_yaml
from meshops.cli.plan import add_istioctl_option
from meshops.model.names import label_value
from meshops.model.ownership import stamp
from meshops.plan.istio import istio_operator

__all__ = [
    "APPLY_ORDER",
    "CONTROL_PLANE_DIR",
    "ISTIO_FILE",
    "OBJECTS_DIR",
    "add_parser",
    "checked_objects",
    "file_objects",
    "run",
    "write_dir",
]

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
Print, as multi-document YAML, everything the platform file asks for. First,
when the file has an istio section, the IstioOperator istioctl reads (it is not
applied with kubectl) and the control plane istioctl generates from it (with
istioctl on PATH or given with --istioctl; without it, one line says so and
only the IstioOperator is printed). Then every Kubernetes object, in the
order to apply them: the Namespaces (those on the ambient mesh labelled for it),
the Gateways (each namespace's waypoint, then the ingress gateway), the
ReferenceGrants and routes of the ingress, its DestinationRules, then the
AuthorizationPolicies (the mesh's, hardened mode's deny-all in Istio's root
namespace, the ingress gateway's). The TLS Secret the ingress names is not
printed: it must already exist. The same file always gives the same bytes.

With -o DIR, writes DIR/istio-operator.yaml and DIR/control-plane/ (when there
is an istio section) and DIR/objects/, one file per kind numbered in apply
order, for
'kubectl apply -f DIR/objects/'. Files a previous render left there are
replaced. Nothing is sent to a cluster. An invalid file prints one line per
error, each with its file, line and column, and exits with status 2."""

_EPILOG = """\
examples:
  meshops render examples/shop.yaml
  meshops render examples/shop.yaml -o out/
  kubectl apply --server-side -f out/control-plane/ -f out/objects/"""

#: The file -o DIR writes the IstioOperator to.
ISTIO_FILE = "istio-operator.yaml"
#: The folder -o DIR writes the Kubernetes objects to.
OBJECTS_DIR = "objects"
#: The folder -o DIR writes the control plane istioctl generated to.
CONTROL_PLANE_DIR = "control-plane"
_OBJECT_FILE = re.compile(r"[0-9]{2}-[a-z]+\.yaml")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``render`` with the ``meshops`` subparsers."""
    parser = add_command(
        subparsers,
        "render",
        help="print the Kubernetes objects a platform file asks for",
        description=_DESCRIPTION,
        epilog=_EPILOG,
    )
    parser.add_argument(
        "-o",
        "--output-dir",
        metavar="DIR",
        help="write files into DIR instead of printing (DIR is created if needed)",
    )
    add_istioctl_option(parser)
    parser.set_defaults(run=run)
    return parser


def file_objects(declaration: platform_file.Declaration) -> tuple[list[dict[str, Any]], list[str]]:
    """Every Kubernetes object a platform file asks for, in apply order, and the problems.

    The mesh's objects come from :func:`~meshops.plan.platform.platform_objects`, the
    ingress's from :func:`~meshops.plan.ingress.plan_ingress` (the declaration's plans,
    which checking the file made already); they are put in
    :data:`APPLY_ORDER` of their kinds, each kind keeping the order its plan gave (the
    mesh's first, then the ingress's, whose routes follow the file). The IstioOperator
    is not among them (:func:`~meshops.plan.istio.istio_operator`).

    Returns:
        The objects, and the problems as lines to print (none for a file that loaded:
        the loader reports each at its place).
    """
    mesh_objects, found = declaration.mesh_plan
    objects = list(mesh_objects)
    problems = [f"{p.field}: {p.message}" for p in found]
    plan = declaration.ingress_plan
    if plan is not None:
        objects += plan.objects
        problems += [str(p) for p in plan.problems] + [str(c) for c in plan.conflicts]
    rank = {kind: i for i, kind in enumerate(APPLY_ORDER)}
    objects.sort(key=lambda o: rank.get(str(o.get("kind")), len(APPLY_ORDER)))
    # Marked as meshops apply marks them, so that objects applied from render's output
    # (kubectl apply --server-side -f DIR/objects/) are the platform's to meshops apply.
    owner = platform_owner(declaration.platform.name)
    return [stamp(o, owner, PLATFORM_SCOPE) for o in objects], problems


#: The scope label value of a platform's objects.
PLATFORM_SCOPE = "platform"


def platform_owner(platform: str) -> str:
    """The owner label value (and field manager) of a platform's objects.

    Example:
        >>> platform_owner("shop")
        'meshops.shop'
    """
    return label_value("meshops", platform)


def checked_objects(
    declaration: platform_file.Declaration, file: str, err: TextIO
) -> list[dict[str, Any]] | None:
    """:func:`file_objects`, or None after printing each problem to ``err``.

    A file that loaded has none (the loader reports each at its place first); the check
    is kept so that no problem is ever silent.
    """
    objects, problems = file_objects(declaration)
    for problem in problems:
        print(f"{file}: {problem}", file=err)
    return None if problems else objects


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Render ``args.file`` to ``out`` (or ``args.output_dir``); errors go to ``err``.

    Returns:
        0, or 2 when the file is invalid or DIR cannot be written.
    """
    declaration = read_declaration(args.file, out, err, max_bytes=args.max_file_size)
    if declaration is None:
        return 2
    objects = checked_objects(declaration, args.file, err)
    if objects is None:
        return 2
    operator = istio_operator(declaration.platform)
    plane: list[dict[str, Any]] = []
    if operator is not None:
        found = _control_plane(args, declaration.platform, err)
        if found is None:
            return 2
        plane = found
    if args.output_dir is None:
        head = [operator, *plane] if operator is not None else []
        out.write(objects_yaml([*head, *objects]))
        return 0
    try:
        written = write_dir(Path(args.output_dir), operator, objects, plane)
    except OSError as e:
        print(f"meshops render: cannot write {args.output_dir!r}: {e.strerror or e}", file=err)
        return 2
    for path in written:
        print(path, file=out)
    return 0


def _control_plane(
    args: argparse.Namespace, platform: Any, err: TextIO
) -> list[dict[str, Any]] | None:
    """What istioctl generates for the istio section ([] without istioctl, saying so).

    None after one line saying why when it cannot (a given --istioctl missing, or failing).
    """
    # meshops.k8s loads lightkube: only for a file with an istio section
    from meshops.cli.control_plane import generate, istioctl_from
    from meshops.k8s.istioctl import IstioctlError, IstioctlMissing

    try:
        plane = generate(platform, istioctl_from(args))
    except IstioctlMissing as e:
        if args.istioctl is not None:
            print(f"meshops render: {e}", file=err)
            return None
        print(
            f"meshops render: {e}: the control plane is not rendered, only the "
            "IstioOperator istioctl reads (give --istioctl PATH)",
            file=err,
        )
        return []
    except IstioctlError as e:
        print(f"meshops render: {e}", file=err)
        return None
    return [] if plane is None else [*plane.crds, *plane.objects]


def write_dir(
    directory: Path,
    operator: Mapping[str, Any] | None,
    objects: Sequence[Mapping[str, Any]],
    control_plane: Sequence[Mapping[str, Any]] = (),
) -> list[Path]:
    """Write the IstioOperator, the control plane and the objects under ``directory``.

    One file per kind, numbered in apply order.

    Files an earlier render wrote there and that this one does not (a kind no longer
    asked for, an IstioOperator no longer described) are removed; nothing else is.

    Returns:
        The files written, in apply order (the IstioOperator first).
    """
    folder = directory / OBJECTS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    plane_folder = directory / CONTROL_PLANE_DIR
    files: dict[Path, str] = {}
    if operator is not None:
        files[directory / ISTIO_FILE] = objects_yaml([operator])
    for where, group in ((plane_folder, control_plane), (folder, objects)):
        by_kind: dict[str, list[Mapping[str, Any]]] = {}
        for obj in group:
            by_kind.setdefault(str(obj["kind"]), []).append(obj)
        for i, (kind, same) in enumerate(by_kind.items(), start=1):
            files[where / f"{i:02d}-{kind.lower()}.yaml"] = objects_yaml(same)
    if control_plane:
        plane_folder.mkdir(parents=True, exist_ok=True)
    stale = [p for p in folder.iterdir() if _OBJECT_FILE.fullmatch(p.name)]
    if plane_folder.is_dir():
        stale += [p for p in plane_folder.iterdir() if _OBJECT_FILE.fullmatch(p.name)]
    stale.append(directory / ISTIO_FILE)
    for path in stale:
        if path not in files:
            path.unlink(missing_ok=True)
    for path, text in files.items():
        path.write_text(text, encoding="utf-8")
    return list(files)
