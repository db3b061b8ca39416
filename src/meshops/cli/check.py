"""``meshops check FILE --from APP --to APP[:PORT]``: would this call be allowed, and why."""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO, cast

from meshops import platform_file
from meshops.cli.files import add_command, read_declaration
from meshops.cli.output import add_output_option, write_json
from meshops.cli.render import checked_objects
from meshops.model.ingress import GatewayConfig
from meshops.model.mesh import Method, check_method
from meshops.model.paths import check_path
from meshops.model.platform import App, Platform
from meshops.model.problems import did_you_mean
from meshops.semantics.authz import Call, Decision, Jwt, Policies, Workload

__all__ = ["APP_LABEL", "add_parser", "run"]

#: The label that selects an app's pods (and names its Service's app).
APP_LABEL = "app.kubernetes.io/name"
#: The label Istio puts on a Gateway's pods.
_GATEWAY_POD_LABEL = "gateway.networking.k8s.io/gateway-name"

_DESCRIPTION = """\
Say whether a call from one app to another would be ALLOWED or DENIED by the
AuthorizationPolicies the platform file renders, and which policy and rule
decided, at each place Istio's ambient mesh enforces them: the destination's
waypoint (for calls through its Service: every field, methods and paths
included), then ztunnel at the destination's pods (ports and identities
only). Each follows Istio's order: CUSTOM, then DENY, then ALLOW; with no
ALLOW policy a call is allowed, with ALLOW policies only a call one of their
rules matches is.

The answer comes from the rendered objects, not from the file's accepts: it is
what the cluster would do. --from also takes the ingress gateway's name (its
calls go straight to the pods); --from-outside is a caller off the mesh (no
identity: it reaches the pods directly). --direct calls a pod address rather
than the Service: no waypoint sees it, only ztunnel's L4 policies apply.
--source-ip gives the caller's address (ipBlocks, remoteIpBlocks, source.ip,
remote.ip); --jwt-claims or --jwt-file the JWT it presents (requestPrincipals,
request.auth.*), taken as one a RequestAuthentication validated. A CUSTOM
policy that matches hands the call to its extension provider first: the
answer then says what follows either way. Without --method and --path the
call is a plain connection (TCP). Exits 0 when ALLOWED, 1 when DENIED, 2 on an
error."""

_EPILOG = """\
examples:
  meshops check examples/shop.yaml --from frontend --to cart --method POST --path /cart
  meshops check examples/shop.yaml --from shop/cart --to cart-db:5432
  meshops check examples/shop.yaml --from edge --to frontend --output json
  meshops check examples/shop.yaml --from-outside --to cart --direct --source-ip 192.0.2.7
  meshops check examples/shop.yaml --from frontend --to cart --path /cart \
      --jwt-claims '{"iss": "https://id.example.com", "sub": "alice"}'"""


class _UsageError(Exception):
    """A --from or --to that names nothing the file declares."""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``check`` with the ``meshops`` subparsers."""
    parser = add_command(
        subparsers,
        "check",
        help="would a call from one app to another be allowed, and why",
        description=_DESCRIPTION,
        epilog=_EPILOG,
    )
    caller = parser.add_mutually_exclusive_group(required=True)
    caller.add_argument(
        "--from",
        dest="source",
        metavar="APP",
        help="the caller: APP or NAMESPACE/APP, or the ingress gateway's name",
    )
    caller.add_argument(
        "--from-outside",
        action="store_true",
        help="the caller is off the mesh: no identity, and it reaches the pods directly",
    )
    parser.add_argument(
        "--to",
        dest="target",
        metavar="APP[:PORT]",
        required=True,
        help="the app called, and the port (needed when the app has several)",
    )
    parser.add_argument("--method", metavar="M", help="the HTTP method (e.g. GET)")
    parser.add_argument("--path", metavar="P", help="the HTTP path (e.g. /cart)")
    parser.add_argument("--host", metavar="H", help="the Host header (default: the Service's)")
    parser.add_argument(
        "--direct",
        action="store_true",
        help="call a pod address, not the Service: no waypoint, only ztunnel's L4 policies",
    )
    parser.add_argument(
        "--source-ip", metavar="IP", help="the caller's IP address (for ipBlocks, source.ip)"
    )
    token = parser.add_mutually_exclusive_group()
    token.add_argument(
        "--jwt-claims",
        metavar="JSON",
        help="the caller's JWT claims as a JSON object, iss and sub included",
    )
    token.add_argument(
        "--jwt-file",
        metavar="FILE",
        help="a file holding the caller's JWT (compact form; its signature is not checked)",
    )
    add_output_option(parser)
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Check one call.

    Returns:
        0 when it would be allowed, 1 when denied, 2 on an error.
    """
    declaration = read_declaration(
        args.file, out, err, output=args.output, max_bytes=args.max_file_size
    )
    if declaration is None:
        return 2
    try:
        call, caller, callee = _call(declaration, args)
    except _UsageError as e:
        print(f"meshops check: {e}", file=err)
        return 2
    objects = checked_objects(declaration, args.file, err)
    if objects is None:
        return 2
    policies = Policies.from_objects(objects, root_namespace=declaration.platform.root_namespace)
    decision = policies.check(call)
    if args.output == "json":
        write_json(
            {"from": caller, "to": callee, "call": _call_json(call), **decision.to_dict()}, out
        )
    else:
        out.write(_text(decision, caller, callee, call))
    return 0 if decision.allowed else 1


def _call(
    declaration: platform_file.Declaration, args: argparse.Namespace
) -> tuple[Call, str, str]:
    """The call ``args`` describes, and how to name its two ends."""
    platform = declaration.platform
    gateway = declaration.ingress.gateway if declaration.ingress is not None else None
    target, _, port_text = str(args.target).partition(":")
    callee = _app(platform, target, "--to")
    port = _port(callee, port_text)
    jwt = _jwt(args)
    source: Workload | None
    if args.from_outside:
        source, caller = None, "outside the mesh"
    elif (source := _gateway_workload(gateway, args.source)) is not None:
        caller = f"gateway {source.namespace}/{args.source.rpartition('/')[2]}"
    else:
        app = _app(platform, args.source, "--from", gateway)
        source = _workload(app)
        caller = f"{app.namespace}/{app.name}"
    if args.direct and args.host is not None:
        raise _UsageError("--host names a Service's host: a call with --direct has none")
    given = (args.method, args.path, args.host, jwt)
    http = any(v is not None for v in given)
    protocol = next(p.protocol for p in callee.ports if p.port == port) if callee.ports else None
    if http and protocol is not None and not protocol.is_l7:
        what = (
            "a JWT needs"
            if given[:3] == (None, None, None)
            else "--method, --path and --host need"
        )
        raise _UsageError(
            f"port {port} of app {callee.name!r} is {protocol.value}: {what} an http or grpc port"
        )
    try:
        call = Call(
            source=source,
            destination=_workload(callee),
            service=None if args.direct else callee.name,
            port=port,
            method=_method(args.method) if args.method is not None else ("GET" if http else None),
            path=_path(args.path) if args.path is not None else ("/" if http else None),
            host=args.host,
            from_ingress=(
                gateway is not None
                and source is not None
                and source.service_account == gateway.service_account
            ),
            source_ip=args.source_ip,
            jwt=jwt,
        )
    except ValueError as e:
        raise _UsageError(str(e)) from None  # only the source IP can be wrong here
    where = "pods of " if args.direct else ""
    return call, caller, f"{where}{callee.namespace}/{callee.name}:{port}"


def _jwt(args: argparse.Namespace) -> Jwt | None:
    """The JWT ``--jwt-claims`` or ``--jwt-file`` gives, or None."""
    if args.jwt_claims is not None:
        option, text = "--jwt-claims", str(args.jwt_claims)
        try:
            claims: object = json.loads(text)
        except json.JSONDecodeError as e:
            raise _UsageError(f"--jwt-claims {text!r} is not JSON: {e.msg}") from None
    elif args.jwt_file is not None:
        option = f"--jwt-file {args.jwt_file!r}"
        claims = _token_claims(Path(args.jwt_file), option)
    else:
        return None
    if not isinstance(claims, Mapping):
        raise _UsageError(f"{option}: the claims must be a JSON object, got {claims!r}")
    try:
        return Jwt(cast("Mapping[str, object]", claims))
    except ValueError as e:
        raise _UsageError(f"{option}: {e}") from None


def _token_claims(path: Path, option: str) -> object:
    """The claims of the compact JWT in ``path``, decoded by PyJWT, the signature unchecked.

    Checking it is the RequestAuthentication's work (with the issuer's keys), which the
    evaluator assumes done; the claims alone decide what the policies match.
    """
    try:
        import jwt  # the optional 'jwt' extra: only --jwt-file needs it
    except ImportError:
        raise _UsageError(
            f"{option} needs PyJWT, which meshops does not install by default:"
            " pip install 'meshops[jwt]' (or pass the claims with --jwt-claims)"
        ) from None
    try:
        token = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as e:
        raise _UsageError(f"{option} cannot be read: {e}") from None
    try:
        return jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError as e:
        raise _UsageError(f"{option} holds no valid JWT: {e}") from None


def _method(text: str) -> str:
    """``--method``: an HTTP method, in any case (``post`` is POST), or a usage error."""
    try:
        return check_method(text.upper(), "--method").value
    except ValueError as e:
        raise _UsageError(f"{e}{did_you_mean(text, [m.value for m in Method])}") from None


def _path(text: str) -> str:
    """``--path``: a path by the one rule for paths (as routes and policies), or a usage error."""
    try:
        return check_path(text, "--path")
    except ValueError as e:
        raise _UsageError(str(e)) from None


def _app(platform: Platform, ref: str, option: str, gateway: GatewayConfig | None = None) -> App:
    """The app ``ref`` (``app`` or ``namespace/app``) names, or a usage error."""
    namespace, slash, name = ref.rpartition("/")
    found = [
        a for a in platform.apps if a.name == name and (not slash or a.namespace == namespace)
    ]
    if len(found) == 1:
        return found[0]
    if found:
        where = ", ".join(f"{a.namespace}/{a.name}" for a in found)
        raise _UsageError(f"{option} {ref!r} is ambiguous: say which of {where}")
    known = [f"{a.namespace}/{a.name}" for a in platform.apps] + [a.name for a in platform.apps]
    if gateway is not None:
        known.append(gateway.name)
    hint = did_you_mean(ref, known)
    raise _UsageError(f"{option} {ref!r} is not an app of the platform file{hint}")


def _port(app: App, text: str) -> int:
    ports = [p.port for p in app.ports]
    listed = ", ".join(str(p) for p in ports)
    if not text:
        if len(ports) == 1:
            return ports[0]
        if not ports:
            raise _UsageError(f"app {app.name!r} declares no ports: say which (--to APP:PORT)")
        raise _UsageError(f"app {app.name!r} has ports {listed}: say which (--to {app.name}:PORT)")
    if not text.isdigit() or int(text) not in ports:
        raise _UsageError(f"port {text!r} is not a port of app {app.name!r} (its ports: {listed})")
    return int(text)


def _workload(app: App) -> Workload:
    return Workload(app.namespace, app.account, {APP_LABEL: app.name})


def _gateway_workload(gateway: GatewayConfig | None, ref: str) -> Workload | None:
    """The ingress gateway's pods, if ``ref`` names the gateway (``name`` or ``ns/name``)."""
    if gateway is None or ref not in (gateway.name, f"{gateway.namespace}/{gateway.name}"):
        return None
    return Workload(gateway.namespace, gateway.service_account, {_GATEWAY_POD_LABEL: gateway.name})


def _call_json(call: Call) -> dict[str, Any]:
    """What the call carries, as the evaluator was given it (for ``--output json``)."""
    return {
        "service": call.service,
        "direct": call.service is None,
        "from_outside": call.source is None,
        "port": call.port,
        "http": call.http,
        "method": call.method,
        "path": call.path,
        "host": call.host,
        "source_ip": call.source_ip,
        "jwt": None if call.jwt is None else call.jwt.to_dict(),
    }


def _text(decision: Decision, caller: str, callee: str, call: Call) -> str:
    """The decision for people: the verdict, then each enforcement point."""
    request = f" ({call.method} {call.path})" if call.method is not None else " (TCP)"
    lines = [f"{decision.verdict}: {caller} -> {callee}{request}"]
    carried = [f"IP {call.source_ip}"] if call.source_ip is not None else []
    carried += [f"JWT {call.jwt.principal}"] if call.jwt is not None else []
    if carried:
        lines.append(f"  caller: {', '.join(carried)}")
    for i, hop in enumerate(decision.hops, start=1):
        outcome = "allowed" if hop.allowed else "denied"
        lines.append(f"  {i}. {hop.enforcer}: {outcome}: {hop.reason}")
        lines += [f"     delegated: {d.explain()}" for d in hop.delegations]
        lines += [f"     note: {note}" for note in hop.notes]
    lines += [f"  if: {condition}" for condition in decision.conditions]
    return "\n".join(lines) + "\n"
