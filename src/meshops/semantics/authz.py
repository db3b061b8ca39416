"""Istio AuthorizationPolicies, ambient and sidecar: would this call be allowed, and why.

A reference evaluator over plain Kubernetes objects (as ``meshops render`` prints them or
a cluster holds them). :meth:`Policies.check` follows one call the way Istio's ambient
data plane carries it and evaluates the AuthorizationPolicies at each enforcement point
on its way, in order:

1. the called Service's **waypoint**, if the call passes one. Policies *attached* there
   by ``targetRefs`` apply: to the called Service, to the waypoint's own Gateway, or
   (from the root namespace) to the ``istio-waypoint`` GatewayClass, i.e. every
   waypoint. All attributes, L7 included, are enforced;
2. the destination pods' **ztunnel**. Policies *targeted* at the pods apply: those with a
   ``selector`` matching the pods, namespace-wide ones (no selector, no targetRefs), and
   the same two kinds from the root namespace, which reach every namespace. ztunnel
   enforces L4 only, and after a waypoint it sees the waypoint's identity, never the
   caller's;
   or, when the destination pods run Istio's **sidecar** (:func:`~meshops.model.ambient.
   sidecar_injected`: sidecar injection takes precedence over the ambient labels), that
   sidecar instead: the same policies apply (those targeted at the pods), but an Envoy
   enforces them, every attribute, L7 and CUSTOM included, as a waypoint does. Policies
   attached to a Service never apply at a sidecar (Service ``targetRefs`` are for
   waypoints only).

At each point: a matching CUSTOM policy hands the call to its extension provider first
(we cannot know its answer: the hop records a :class:`Delegation` saying what follows
either answer, :attr:`Decision.conditions` lists it, and the evaluation goes on as if
the provider allowed); then any matching DENY rule denies; then, if no ALLOW policy
applies the call is allowed, else it is allowed only if some ALLOW rule matches. AUDIT
policies never change the decision.

Semantics, and where they come from (Istio 1.30):

* *Authorization Policy* reference (istio.io/docs/reference/config/security/
  authorization-policy/): the CUSTOM → DENY → ALLOW order; a policy without rules
  matches nothing (an ALLOW one so denies everything: ``spec: {}``), a rule ``{}``
  matches everything; a rule is from AND to AND when; ``from`` and ``to`` entries are
  ORed, the fields of one entry ANDed, the values of one field ORed, ``notX`` means no
  value matches; strings match exactly, by prefix ``abc*``, by suffix ``*abc`` or ``*``
  (any non-empty value; of a header or host, any value: istiod makes it Envoy's
  presence match), case-sensitively; paths may be templates with ``{*}`` (one path
  segment) and ``{**}`` (anything, only as the last operator); hosts match
  case-insensitively and exactly as the Host header is sent (``a.example.com`` does not
  match ``a.example.com:8080``; Istio advises also listing ``a.example.com:*``); for a
  non-HTTP call a waypoint drops an ALLOW rule that needs an HTTP attribute and treats
  HTTP attributes of a DENY rule as matching. Selector and root-namespace scope: a
  policy in the root namespace applies in every namespace.
* *Authorization Policy Conditions* (…/security/conditions/): the ``when`` keys.
* *Use Layer 4 security policy* (istio.io/docs/ambient/usage/l4-policy/) and *Use
  Layer 7 features* (…/ambient/usage/l7-features/): the enforcement-point table above,
  the L4 attribute list (principals, namespaces, ipBlocks, ports and the ``source.ip``,
  ``source.namespace``, ``source.principal``, ``destination.ip``, ``destination.port``
  conditions), and that an L7 policy enforced by ztunnel "fails safe". Exactly how, from
  istiod's ambient translation (``handleRule``) and ztunnel's ``rbac.rs``: in an ALLOW
  policy, a rule using any other attribute is left out (it never matches); in a DENY
  policy, the L7 attributes are dropped and the rest enforced, but a from/to entry or a
  condition left with nothing to check never matches (ztunnel skips empty matches, Istio
  issue #61126), so a DENY rule made only of L7 attributes denies nothing at ztunnel.
  ztunnel ignores CUSTOM and AUDIT policies.
* istiod's policy attachment (``WorkloadPolicyMatcher``): waypoints never use selector
  or namespace-wide policies; a Service targetRef is group ``""`` (or ``core``), a
  Gateway or GatewayClass targetRef group ``gateway.networking.k8s.io``.
* Waypoint use (istiod ``fetchWaypointForTarget``, *Configure waypoint proxies*): the
  Service's ``istio.io/use-waypoint`` label wins over its Namespace's, ``none`` opts
  out, ``istio.io/use-waypoint-namespace`` names another namespace; the Gateway must
  take service traffic (``istio.io/waypoint-for``: ``service``, the default, or
  ``all``) and allow the Service's namespace on its first HBONE listener on port 15008
  (``allowedRoutes``: ``Same`` by default or without such a listener; a ``Selector`` is
  asked of the waypoint's own namespace too). Only calls to a Service go through it;
  an ingress gateway sends straight to the pods unless the Service (or else its
  namespace) is labelled ``istio.io/ingress-use-waypoint=true``. A waypoint's identity
  is the service account named after its Gateway, in the Gateway's namespace.

Choices where the documents are silent (see also :class:`Call`):

* A waypoint named by a label but absent from the objects makes the call DENIED (a hop
  with action ``"missing"``). Istio itself would mark the Service ``WaypointIsNotReady``
  and send the traffic straight to the pods, skipping every policy attached to the
  Service; but from objects alone we cannot tell a missing waypoint from one that lives
  outside the set given, and a check should flag, not pass, a call whose enforcement
  point cannot be found. A Gateway that is present but does not take this Service
  (traffic type, ``allowedRoutes``) is treated as Istio does: no waypoint, with a note.
* A caller off the mesh (no identity) never passes a Service's waypoint: only ztunnel
  on the destination side sees it (waypoint redirection happens at the caller's
  ztunnel). Its principal, namespace and service account are absent.
* The caller's IP (:attr:`Call.source_ip`) is what ``ipBlocks`` and ``source.ip`` match,
  at ztunnel and at the waypoint alike: the waypoint sees it on the connection the
  caller's ztunnel tunnels, and ztunnel behind its own waypoint trusts the waypoint's
  ``Forwarded`` header for it (ztunnel's inbound). ``remoteIpBlocks`` and ``remote.ip``
  read the same address, as no trusted proxy is configured (``numTrustedProxies`` 0);
  they are L7 attributes, left out at ztunnel. Blocks are matched with :mod:`ipaddress`.
* The caller's JWT (:attr:`Call.jwt`) is taken as one a RequestAuthentication validated:
  ``requestPrincipals`` and ``request.auth.principal`` match ``<iss>/<sub>``,
  ``request.auth.audiences`` the ``aud`` claim, ``request.auth.presenter`` ``azp``,
  ``request.auth.claims[a][b]`` a (nested) string claim or any string of a list claim.
  A note says which RequestAuthentications among the objects accept the issuer (their
  attachment is not evaluated), or that none does. All are L7 attributes.
* Without an IP or a JWT, and always for ``destination.ip``, ``connection.sni`` and
  unknown keys, a positive match fails and the negative forms match; a note says so
  for the IP and the JWT. ``request.headers[...]`` reads :attr:`Call.headers`. A
  condition matches when its value is among ``values`` (if set) and not among
  ``notValues`` (if set).
* ``serviceAccounts`` are ``namespace/name`` (a bare name is in the policy's namespace);
  ``trustDomains`` compare with the trust domain given to :meth:`Policies.from_objects`
  and are taken to be L4 (peer-certificate) attributes at ztunnel.
* A destination is on the mesh when its pods run a sidecar (its pods' labels and its
  Namespace's, among the objects, ask for injection), or its pods' labels say
  ``istio.io/dataplane-mode: ambient``, or say nothing and its Namespace does; otherwise
  no proxy enforces anything there and the call is ALLOWED.
* The caller's mode does not change the path: a caller with a sidecar passes the called
  Service's waypoint as one on ztunnel does (sidecars send HBONE to waypoints and to
  ztunnel), and the destination's side enforces. A Service labelled for a waypoint whose
  pods run sidecars is reached through the waypoint, then the sidecar enforces the pods'
  policies (seeing the waypoint's identity).
* At the waypoint ports compare with the Service port called, at ztunnel with the pod
  port (the Service's numeric ``targetPort`` when the Service is among the objects).
* Objects are read by :mod:`meshops.semantics.authz_objects`; this module evaluates them.
* Malformed objects raise one :class:`ValueError` naming the object and the field and
  quoting the value: unknown fields, an unknown action, ports that are not strings of
  digits, invalid path templates, both ``selector`` and ``targetRefs``.

Example:
    >>> objects = [
    ...     {"apiVersion": "v1", "kind": "Namespace", "metadata": {
    ...         "name": "shop", "labels": {"istio.io/dataplane-mode": "ambient"}}},
    ...     {"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy",
    ...      "metadata": {"name": "db", "namespace": "shop"},
    ...      "spec": {"selector": {"matchLabels": {"app": "db"}}, "rules": [
    ...          {"from": [{"source": {"principals": ["cluster.local/ns/shop/sa/cart"]}}]}]}},
    ... ]
    >>> policies = Policies.from_objects(objects)
    >>> db = Workload("shop", "db", {"app": "db"})
    >>> policies.check(Call(Workload("shop", "cart"), db, "db", 5432)).verdict
    'ALLOWED'
    >>> print(policies.check(Call(Workload("shop", "web"), db, "db", 5432)).explanation)
    DENIED by ztunnel (pods app=db in shop): no rule of the ALLOW policies here (shop/db) matches
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, cast

import pydantic

from meshops.model.ambient import (
    DATAPLANE_MODE_LABEL,
    INGRESS_USE_WAYPOINT_LABEL,
    USE_WAYPOINT_LABEL,
    WAYPOINT_FOR_LABEL,
    sidecar_injected,
    waypoint_named,
)
from meshops.semantics import authz_objects

__all__ = ["Call", "Decision", "Delegation", "Hop", "Jwt", "Policies", "Workload"]

WAYPOINT_CLASS = "istio-waypoint"
GATEWAY_GROUP = "gateway.networking.k8s.io"
CLUSTER_DOMAIN = "cluster.local"
_NAME_LABEL = "kubernetes.io/metadata.name"


# --- the public values ------------------------------------------------------------------


_NO_LABELS: Mapping[str, str] = MappingProxyType({})


def _frozen_labels(labels: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(labels))


def _check_port(port: object) -> None:
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ValueError(f"port {port!r} must be 1-65535")


@dataclass(frozen=True)
class Workload:
    """Pods: a caller, or the pods behind the called Service.

    Attributes:
        namespace: The pods' namespace.
        service_account: The pods' ServiceAccount, which makes their mesh identity.
        labels: The pods' labels (what policy selectors match).
    """

    namespace: str
    service_account: str
    labels: Mapping[str, str] = field(default_factory=dict[str, str], hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "labels", _frozen_labels(self.labels))

    def principal(self, trust_domain: str = "cluster.local") -> str:
        """The SPIFFE identity Istio gives these pods, without ``spiffe://``.

        Example:
            >>> Workload("shop", "cart").principal()
            'cluster.local/ns/shop/sa/cart'
        """
        return f"{trust_domain}/ns/{self.namespace}/sa/{self.service_account}"


class _Claims(pydantic.BaseModel):
    """The claims of a JWT as Istio reads them: ``iss`` and ``sub`` make the principal."""

    model_config = pydantic.ConfigDict(frozen=True, extra="allow")

    iss: str = pydantic.Field(min_length=1)
    sub: str = pydantic.Field(min_length=1)


@dataclass(frozen=True)
class Jwt:
    """The JWT a caller presents, taken as one a RequestAuthentication validated.

    Istio sets ``request.auth.*`` (and so ``requestPrincipals``) only from a token that
    a RequestAuthentication accepted; the evaluator does not verify signatures, it says
    which RequestAuthentications among the objects name the issuer.

    Attributes:
        claims: Every claim of the token (``iss`` and ``sub`` included).
    """

    claims: Mapping[str, object] = field(hash=False)

    def __post_init__(self) -> None:
        try:
            _Claims.model_validate(dict(self.claims))
        except pydantic.ValidationError as e:
            first = e.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "claims"
            raise ValueError(f"JWT claim {where!r}: {first['msg']}") from None
        object.__setattr__(self, "claims", MappingProxyType(dict(self.claims)))

    @property
    def issuer(self) -> str:
        """The ``iss`` claim."""
        return str(self.claims["iss"])

    @property
    def subject(self) -> str:
        """The ``sub`` claim."""
        return str(self.claims["sub"])

    @property
    def principal(self) -> str:
        """``<iss>/<sub>``, what ``requestPrincipals`` and ``request.auth.principal`` match.

        Example:
            >>> Jwt({"iss": "https://id.example.com", "sub": "alice"}).principal
            'https://id.example.com/alice'
        """
        return f"{self.issuer}/{self.subject}"

    def claim(self, path: Sequence[str]) -> tuple[str, ...]:
        """The values of a (nested) claim: a string, or each string of a list; else none.

        Example:
            >>> Jwt({"iss": "i", "sub": "s", "org": {"teams": ["a", "b"]}}).claim(["org", "teams"])
            ('a', 'b')
        """
        value: object = self.claims
        for name in path:
            value = _member(value, name)
        if isinstance(value, str):
            return (value,)
        if isinstance(value, list):
            return tuple(v for v in cast("list[object]", value) if isinstance(v, str))
        return ()

    def to_dict(self) -> dict[str, Any]:
        """The token's principal and claims as JSON-ready values."""
        return {"principal": self.principal, "claims": dict(self.claims)}


def _member(value: object, name: str) -> object:
    """``value[name]`` when ``value`` is a mapping (a JSON object), else None."""
    if not isinstance(value, Mapping):
        return None
    return cast("Mapping[str, object]", value).get(name)


def _checked_ip(value: str | None) -> None:
    if value is None:
        return
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise ValueError(f"source IP {value!r} is not an IPv4 or IPv6 address") from None


@dataclass(frozen=True)
class Call:
    """One call to check.

    A call is HTTP when any of ``method``, ``path``, ``host`` or ``headers`` is given,
    plain TCP otherwise. Paths are taken as already normalized; a query string is not
    part of the path Istio matches and is dropped.

    Attributes:
        source: The caller, or None for a caller off the mesh (no identity).
        destination: The pods that serve the call.
        service: The Service called, in ``destination.namespace``; None when the caller
            dials a pod address directly (no waypoint sees that).
        port: The port called: the Service port, or the pod port when ``service`` is None.
        method: The HTTP method.
        path: The HTTP path.
        host: The Host header as sent; for an HTTP call to a Service it defaults to
            ``<service>.<namespace>.svc.cluster.local`` (add ``:port`` yourself if the
            client sends it).
        headers: HTTP request headers (names are case-insensitive).
        from_ingress: The caller is an ingress gateway.
        source_ip: The caller's IP address (what ``ipBlocks``, ``remoteIpBlocks``,
            ``source.ip`` and ``remote.ip`` match), or None when not known.
        jwt: The caller's JWT (what ``requestPrincipals`` and ``request.auth.*`` match),
            or None when it presents none.
    """

    source: Workload | None
    destination: Workload
    service: str | None
    port: int
    method: str | None = None
    path: str | None = None
    host: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict[str, str], hash=False)
    from_ingress: bool = False
    source_ip: str | None = None
    jwt: Jwt | None = None

    def __post_init__(self) -> None:
        _check_port(self.port)
        _checked_ip(self.source_ip)
        object.__setattr__(self, "headers", _frozen_labels(self.headers))

    @property
    def http(self) -> bool:
        """Whether the call is an HTTP request (else plain TCP); a JWT makes it HTTP."""
        given = (self.method, self.path, self.host, self.jwt)
        return any(v is not None for v in given) or bool(self.headers)


HopAction = Literal["DENY", "ALLOW", "default", "missing"]


@dataclass(frozen=True)
class Delegation:
    """A CUSTOM policy that hands the call to an external authorizer at one point.

    Istio asks the provider before any DENY or ALLOW policy there: if it denies, the
    call is denied at that point and nothing else is evaluated; if it allows, the DENY
    and then the ALLOW policies decide.

    Attributes:
        enforcer: Where (the waypoint; ztunnel ignores CUSTOM policies).
        provider: The extension provider named by ``spec.provider.name``, or None.
        policy: The CUSTOM policy as ``namespace/name``.
        rule: The index of its matching rule.
        then: What the DENY and ALLOW policies there decide should the provider allow.
    """

    enforcer: str
    provider: str | None
    policy: str
    rule: int
    then: str

    def __str__(self) -> str:
        provider = repr(self.provider) if self.provider else "(none named)"
        return (
            f"ext-authz provider {provider} allows the call"
            f" (CUSTOM policy {self.policy} rule {self.rule} matches at {self.enforcer})"
        )

    def explain(self) -> str:
        """One line: who decides first, and what follows either answer."""
        provider = repr(self.provider) if self.provider else "(none named)"
        return (
            f"extension provider {provider} decides first (CUSTOM policy {self.policy}"
            f" rule {self.rule}, at {self.enforcer}): if it denies, the call is DENIED"
            f" there, before any DENY or ALLOW policy; if it allows, {self.then}"
        )

    def to_dict(self) -> dict[str, Any]:
        """This delegation as plain JSON-ready values."""
        return {
            "enforcer": self.enforcer,
            "provider": self.provider,
            "policy": self.policy,
            "rule": self.rule,
            "if_denied": "DENIED at this point, before any DENY or ALLOW policy",
            "if_allowed": self.then,
            "explanation": self.explain(),
        }


@dataclass(frozen=True)
class Hop:
    """What one enforcement point decided.

    Attributes:
        enforcer: Who enforced, e.g. ``"waypoint shop/waypoint"``,
            ``"ztunnel (pods app=cart in shop)"`` or ``"sidecar (pods app=cart in shop)"``.
        allowed: Whether it let the call through.
        action: What decided: a ``"DENY"`` rule; an ``"ALLOW"`` rule (or, when denied
            with ``policy`` None, the lack of one among the ALLOW policies that apply);
            ``"default"`` (no ALLOW policy applies); ``"missing"`` (the waypoint the
            call must pass is not among the objects). A matching CUSTOM policy never
            decides here: see :attr:`Decision.conditions`.
        policy: The deciding policy as ``namespace/name``, or None.
        rule: The index of the deciding rule in that policy, or None.
        reason: One sentence saying why.
        notes: What else the reader should know about this point (ignored attributes,
            policies that apply elsewhere, the identity ztunnel sees).
        delegations: The CUSTOM policies matching here, whose providers are asked
            before this point's DENY and ALLOW policies.
    """

    enforcer: str
    allowed: bool
    action: HopAction
    policy: str | None
    rule: int | None
    reason: str
    notes: tuple[str, ...] = ()
    delegations: tuple[Delegation, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """This hop as plain JSON-ready values."""
        return {
            "enforcer": self.enforcer,
            "allowed": self.allowed,
            "action": self.action,
            "policy": self.policy,
            "rule": self.rule,
            "reason": self.reason,
            "notes": list(self.notes),
            "delegations": [d.to_dict() for d in self.delegations],
        }


@dataclass(frozen=True)
class Decision:
    """Whether a call is allowed, and which hop, policy and rule decided.

    Attributes:
        allowed: The verdict as a bool.
        hops: The enforcement points the call reached, in the order traffic passes
            them (waypoint, then the destination's ztunnel). Empty when nothing enforces.
        explanation: One line for a person.
        conditions: Things the verdict depends on that the objects cannot tell: each
            matching CUSTOM policy, whose external provider must also allow the call.
    """

    allowed: bool
    hops: tuple[Hop, ...]
    explanation: str
    conditions: tuple[str, ...] = ()

    @property
    def verdict(self) -> Literal["ALLOWED", "DENIED"]:
        """``"ALLOWED"`` or ``"DENIED"``."""
        return "ALLOWED" if self.allowed else "DENIED"

    @property
    def delegations(self) -> tuple[Delegation, ...]:
        """Every CUSTOM delegation on the call's way, in the order traffic meets them."""
        return tuple(d for hop in self.hops for d in hop.delegations)

    @property
    def deciding(self) -> Hop | None:
        """The hop that decided: the one that denied, else the last; None without hops."""
        for hop in self.hops:
            if not hop.allowed:
                return hop
        return self.hops[-1] if self.hops else None

    def to_dict(self) -> dict[str, Any]:
        """This decision as plain JSON-ready values (for ``--output json``)."""
        deciding = self.deciding
        return {
            "verdict": self.verdict,
            "allowed": self.allowed,
            "explanation": self.explanation,
            "conditions": list(self.conditions),
            "delegations": [d.to_dict() for d in self.delegations],
            "deciding_hop": None if deciding is None else self.hops.index(deciding),
            "hops": [hop.to_dict() for hop in self.hops],
        }

    def to_json(self) -> str:
        """This decision as a JSON document."""
        return json.dumps(self.to_dict(), indent=2)


# --- what an enforcement point sees -----------------------------------------------------


@dataclass(frozen=True)
class _Seen:
    """The request as one enforcement point sees it."""

    principal: str | None
    namespace: str | None
    service_account: str | None
    trust_domain: str | None
    port: int
    http: bool
    method: str | None
    path: str | None
    host: str | None
    headers: Mapping[str, str]
    source_ip: str | None = None
    remote_ip: str | None = None
    jwt: Jwt | None = None

    def values(self, attribute: str) -> tuple[str, ...]:
        """The values of ``attribute`` here: none when absent, several for list claims."""
        if attribute.startswith("header:"):
            value = self.headers.get(attribute[len("header:") :])
        elif attribute == "port":
            value = str(self.port)
        elif attribute == authz_objects.ABSENT:
            value = None
        elif attribute == authz_objects.REQUEST_PRINCIPAL:
            value = None if self.jwt is None else self.jwt.principal
        elif attribute.startswith(authz_objects.CLAIM):
            path = attribute[len(authz_objects.CLAIM) :].split(authz_objects.CLAIM_SEP)
            return () if self.jwt is None else self.jwt.claim(path)
        else:
            value = cast("str | None", getattr(self, attribute))
        return () if value is None else (value,)


def _test_passes(test: authz_objects.FieldTest, seen: _Seen) -> bool:
    values = seen.values(test.spec.attribute)
    hit = any(p.matches(v) for v in values for p in test.patterns)
    return not hit if test.negative else hit


def _unsupported(test: authz_objects.FieldTest, seen: _Seen, at_ztunnel: bool) -> bool:
    """Whether this point cannot evaluate ``test``: L7 at ztunnel, HTTP-only on TCP."""
    if at_ztunnel:
        return not test.spec.l4
    return test.spec.http_only and not seen.http


def _entry_matches(entry: authz_objects.Entry, seen: _Seen, at_ztunnel: bool) -> bool:
    kept = [t for t in entry if not _unsupported(t, seen, at_ztunnel)]
    if not kept:
        # ztunnel skips a match with nothing to check; Envoy treats it as matching anything.
        return not at_ztunnel
    return all(_test_passes(t, seen) for t in kept)


def _dropped(rule: authz_objects.Rule, seen: _Seen, at_ztunnel: bool) -> list[str]:
    """The fields of ``rule`` this point cannot evaluate, each named once."""
    names = [t.name for t in rule.tests() if _unsupported(t, seen, at_ztunnel)]
    return list(dict.fromkeys(names))


def _rule_matches(
    rule: authz_objects.Rule, action: authz_objects.Action, seen: _Seen, at_ztunnel: bool
) -> bool:
    if action != "DENY" and _dropped(rule, seen, at_ztunnel):
        return False  # a rule that needs what this point cannot see never allows
    sources_ok = not rule.sources or any(_entry_matches(e, seen, at_ztunnel) for e in rule.sources)
    operations_ok = not rule.operations or any(
        _entry_matches(e, seen, at_ztunnel) for e in rule.operations
    )
    return (
        sources_ok
        and operations_ok
        and all(_entry_matches(c, seen, at_ztunnel) for c in rule.conditions)
    )


def _first_match(policy: authz_objects.Policy, seen: _Seen, at_ztunnel: bool) -> int | None:
    for i, rule in enumerate(policy.rules):
        if _rule_matches(rule, policy.action, seen, at_ztunnel):
            return i
    return None


def _dropped_notes(policy: authz_objects.Policy, seen: _Seen, at_ztunnel: bool) -> list[str]:
    notes: list[str] = []
    for i, rule in enumerate(policy.rules):
        fields = ", ".join(_dropped(rule, seen, at_ztunnel))
        if not fields:
            continue
        where = f"rule {i} of {policy.key}"
        if at_ztunnel and policy.action == "DENY":
            notes.append(
                f"L7 fields ({fields}) of {where} ignored: ztunnel enforces L4 only"
                " (a from/to entry or condition left with nothing to check never matches)"
            )
        elif at_ztunnel:
            notes.append(
                f"{where} left out: it uses L7 fields ({fields}) and ztunnel enforces L4 only"
            )
        elif policy.action == "DENY":
            notes.append(f"HTTP fields ({fields}) of {where} count as matching: not an HTTP call")
        else:
            notes.append(
                f"{where} cannot match: it needs HTTP fields ({fields}), not an HTTP call"
            )
    return notes


_IP_ATTRIBUTES = (authz_objects.SOURCE_IP, authz_objects.REMOTE_IP)


def _needs_jwt(attribute: str) -> bool:
    return attribute == authz_objects.REQUEST_PRINCIPAL or attribute.startswith(
        authz_objects.CLAIM
    )


def _absent_notes(policy: authz_objects.Policy, seen: _Seen, at_ztunnel: bool) -> list[str]:
    """What rules of ``policy`` read that this call does not carry: an IP, a JWT."""
    wants_ip = seen.source_ip is None and not policy.reads.isdisjoint(_IP_ATTRIBUTES)
    wants_jwt = seen.jwt is None and any(_needs_jwt(a) for a in policy.reads)
    if not (wants_ip or wants_jwt):
        return []  # the common case, checked once per policy rather than per test
    notes: list[str] = []
    for i, rule in enumerate(policy.rules):
        tests = [t for t in rule.tests() if not _unsupported(t, seen, at_ztunnel)]
        where = f"rule {i} of {policy.key}"
        ips = [t.name for t in tests if t.spec.attribute in _IP_ATTRIBUTES]
        if ips and seen.source_ip is None:
            fields = ", ".join(dict.fromkeys(ips))
            notes.append(
                f"{where} reads the caller's IP ({fields}) and none is given (--source-ip):"
                " a block never matches, a not-block always does"
            )
        jwts = [t.name for t in tests if _needs_jwt(t.spec.attribute)]
        if jwts and seen.jwt is None:
            fields = ", ".join(dict.fromkeys(jwts))
            notes.append(
                f"{where} reads a JWT ({fields}): Istio sets it only from a token that a"
                " RequestAuthentication validated, and this call presents none"
                " (--jwt-claims or --jwt-file)"
            )
    return notes


@dataclass(frozen=True)
class _Outcome:
    allowed: bool
    action: HopAction
    reason: str
    policy: str | None = None
    rule: int | None = None


def _outcome(
    denies: Sequence[authz_objects.Policy],
    allows: Sequence[authz_objects.Policy],
    seen: _Seen,
    at_ztunnel: bool,
) -> _Outcome:
    """DENY, then ALLOW: what one enforcement point decides."""
    for policy in denies:
        rule = _first_match(policy, seen, at_ztunnel)
        if rule is not None:
            reason = f"rule {rule} of DENY policy {policy.key} matches"
            return _Outcome(False, "DENY", reason, policy.key, rule)
    if not allows:
        return _Outcome(True, "default", "no ALLOW policy applies here: allowed by default")
    for policy in allows:
        rule = _first_match(policy, seen, at_ztunnel)
        if rule is not None:
            reason = f"rule {rule} of ALLOW policy {policy.key} matches"
            return _Outcome(True, "ALLOW", reason, policy.key, rule)
    keys = ", ".join(p.key for p in allows)
    return _Outcome(False, "ALLOW", f"no rule of the ALLOW policies here ({keys}) matches")


def _delegations(
    customs: Sequence[authz_objects.Policy], seen: _Seen, enforcer: str, then: _Outcome
) -> list[Delegation]:
    """One delegation per matching CUSTOM policy: its provider must allow the call too."""
    verdict = "allowed" if then.allowed else "denied"
    after = f"DENY then ALLOW policies decide: {verdict} ({then.reason})"
    found: list[Delegation] = []
    for policy in customs:
        rule = _first_match(policy, seen, at_ztunnel=False)
        if rule is not None:
            found.append(Delegation(enforcer, policy.provider, policy.key, rule, after))
    return found


def _enforce(
    enforcer: str,
    policies: Iterable[authz_objects.Policy],
    seen: _Seen,
    at_ztunnel: bool,
    notes: list[str],
) -> tuple[Hop, list[str]]:
    """CUSTOM, then DENY, then ALLOW at one point. Returns the hop and its conditions."""
    by_action: dict[str, list[authz_objects.Policy]] = {a: [] for a in authz_objects.ACTIONS}
    for policy in sorted(policies, key=lambda p: p.key):
        by_action[policy.action].append(policy)
    customs, denies, allows = by_action["CUSTOM"], by_action["DENY"], by_action["ALLOW"]
    if at_ztunnel:
        for policy in customs + by_action["AUDIT"]:
            notes.append(
                f"{policy.key} ignored: ztunnel does not support the {policy.action} action"
            )
    for policy in (*customs, *denies, *allows):
        notes.extend(_dropped_notes(policy, seen, at_ztunnel))
        notes.extend(_absent_notes(policy, seen, at_ztunnel))
    o = _outcome(denies, allows, seen, at_ztunnel)
    delegations = [] if at_ztunnel else _delegations(customs, seen, enforcer, o)
    for policy in customs:
        if not at_ztunnel and not any(d.policy == policy.key for d in delegations):
            notes.append(f"CUSTOM policy {policy.key} applies here, but no rule of it matches")
    hop = Hop(
        enforcer,
        o.allowed,
        o.action,
        o.policy,
        o.rule,
        o.reason,
        tuple(dict.fromkeys(notes)),
        tuple(delegations),
    )
    return hop, [str(d) for d in delegations]


# --- the evaluator ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Route:
    """Whether a call passes a waypoint."""

    waypoint: authz_objects.Gateway | None = None
    missing: str | None = None  # the waypoint the call must pass, not among the objects
    reason: str = ""
    notes: tuple[str, ...] = ()


class Policies:
    """AuthorizationPolicies and the objects that decide where they apply, indexed.

    Build one with :meth:`from_objects`, then :meth:`check` as many calls as needed: each
    check looks only at the policies of the namespaces involved.
    """

    def __init__(
        self,
        *,
        root_namespace: str,
        trust_domain: str,
        namespaces: Mapping[str, Mapping[str, str]],
        services: Mapping[tuple[str, str], authz_objects.Service],
        gateways: Mapping[tuple[str, str], authz_objects.Gateway],
        class_labels: Mapping[str, Mapping[str, str]],
        policies: Iterable[authz_objects.Policy],
        issuers: Mapping[str, Sequence[tuple[str, tuple[str, ...]]]] | None = None,
    ) -> None:
        """Index parsed objects; use :meth:`from_objects` instead."""
        self.root_namespace = root_namespace
        # RequestAuthentications by namespace: (name, the issuers of its jwtRules)
        self._issuers = issuers or {}
        self.trust_domain = trust_domain
        self._namespaces = namespaces
        self._services = services
        self._gateways = gateways
        self._class_labels = class_labels
        self._pods: dict[str, list[authz_objects.Policy]] = {}  # by namespace: ztunnel's
        self._by_service: dict[tuple[str, str], list[authz_objects.Policy]] = {}
        self._by_gateway: dict[tuple[str, str], list[authz_objects.Policy]] = {}
        self._every_waypoint: list[authz_objects.Policy] = []
        for policy in policies:
            self._index(policy)

    def _index(self, policy: authz_objects.Policy) -> None:
        if not policy.targets:
            self._pods.setdefault(policy.namespace, []).append(policy)
        for target in policy.targets:
            key = (policy.namespace, target.name)
            if target.kind == "Service" and target.group in ("", "core"):
                self._by_service.setdefault(key, []).append(policy)
            elif target.group != GATEWAY_GROUP:
                continue
            elif target.kind == "Gateway":
                self._by_gateway.setdefault(key, []).append(policy)
            elif (
                target.kind == "GatewayClass"
                and target.name == WAYPOINT_CLASS
                and policy.namespace == self.root_namespace
            ):
                self._every_waypoint.append(policy)

    @classmethod
    def from_objects(
        cls,
        objects: Iterable[Mapping[str, Any]],
        *,
        root_namespace: str = "istio-system",
        trust_domain: str = "cluster.local",
    ) -> Policies:
        """Read AuthorizationPolicies, Namespaces, Services, Gateways and GatewayClasses.

        RequestAuthentications are read for their issuers only, to say whether one
        accepts a caller's JWT.

        Other kinds are ignored.

        Args:
            objects: Kubernetes objects as mappings.
            root_namespace: Istio's root namespace: its policies apply mesh-wide.
            trust_domain: The mesh's trust domain, which starts every principal.

        Raises:
            ValueError: An object is malformed; the message names it and the field.
        """
        namespaces: dict[str, dict[str, str]] = {}
        services: dict[tuple[str, str], authz_objects.Service] = {}
        gateways: dict[tuple[str, str], authz_objects.Gateway] = {}
        class_labels: dict[str, dict[str, str]] = {}
        policies: list[authz_objects.Policy] = []
        issuers: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
        for i, value in enumerate(objects):
            obj = authz_objects.as_mapping(value, f"object {i}")
            kind, group = obj.get("kind"), str(obj.get("apiVersion", "")).rpartition("/")[0]
            meta = authz_objects.as_mapping(obj.get("metadata"), f"object {i} ({kind}): metadata")
            name = authz_objects.as_string(meta.get("name"), f"object {i} ({kind}): metadata.name")
            where = f"{kind} {name}"
            if kind == "Namespace" and group == "":
                namespaces[name] = authz_objects.read_labels(
                    meta.get("labels"), f"{where}: metadata.labels"
                )
                namespaces[name].setdefault(_NAME_LABEL, name)
                continue
            if kind == "GatewayClass" and group == GATEWAY_GROUP:
                class_labels[name] = authz_objects.read_labels(
                    meta.get("labels"), f"{where}: metadata.labels"
                )
                continue
            if (kind, group) not in (
                ("Service", ""),
                ("Gateway", GATEWAY_GROUP),
                ("AuthorizationPolicy", "security.istio.io"),
                ("RequestAuthentication", "security.istio.io"),
            ):
                continue
            namespace = authz_objects.as_string(
                meta.get("namespace"), f"{where}: metadata.namespace"
            )
            where = f"{kind} {namespace}/{name}"
            if kind == "RequestAuthentication":
                found = authz_objects.read_issuers(obj.get("spec"), where)
                issuers.setdefault(namespace, []).append((name, found))
            elif kind == "Service":
                services[namespace, name] = authz_objects.read_service(
                    meta, obj.get("spec"), where
                )
            elif kind == "Gateway":
                gateways[namespace, name] = authz_objects.read_gateway(
                    namespace, name, meta, obj.get("spec"), where
                )
            else:
                policies.append(authz_objects.read_policy(namespace, name, obj.get("spec"), where))
        return cls(
            root_namespace=root_namespace,
            trust_domain=trust_domain,
            namespaces=namespaces,
            services=services,
            gateways=gateways,
            class_labels=class_labels,
            policies=policies,
            issuers=issuers,
        )

    # -- checking ----------------------------------------------------------------------

    def check(self, call: Call) -> Decision:
        """Whether ``call`` would be allowed, and which hop, policy and rule decided."""
        sidecar = self._has_sidecar(call.destination)
        off_mesh = None if sidecar else self._off_mesh(call.destination)
        if off_mesh is not None:
            return Decision(True, (), f"ALLOWED: {off_mesh}: nothing enforces policy there")
        route = self._route(call)
        if route.missing is not None:
            hop = Hop(f"waypoint {route.missing}", False, "missing", None, None, route.reason)
            return _decision([hop], [])
        hops: list[Hop] = []
        conditions: list[str] = []
        source = call.source
        notes = list(route.notes)
        if route.waypoint is not None:
            hop, found = self._at_waypoint(call, route.waypoint)
            hops.append(hop)
            conditions += found
            if not hop.allowed:
                return _decision(hops, conditions)
            source = _waypoint_workload(route.waypoint)
            notes.append(
                f"{'the sidecar' if sidecar else 'ztunnel'} sees the waypoint's identity"
                f" {source.principal(self.trust_domain)}, not the caller's"
            )
        hop, found = self._at_pods(call, source, route.waypoint is not None, notes, sidecar)
        hops.append(hop)
        return _decision(hops, conditions + found)

    def _has_sidecar(self, pods: Workload) -> bool:
        """Whether ``pods`` run Istio's sidecar, by their labels and their Namespace's."""
        return sidecar_injected(pods.labels, self._namespaces.get(pods.namespace, _NO_LABELS))

    def _off_mesh(self, pods: Workload) -> str | None:
        """Why ``pods`` are off the ambient mesh, or None when they are on it."""
        mode = pods.labels.get(DATAPLANE_MODE_LABEL)
        if mode == "ambient":
            return None
        if mode is not None:
            return f"the pods are labelled {DATAPLANE_MODE_LABEL}={mode}, off the ambient mesh"
        labels = self._namespaces.get(pods.namespace)
        if labels is None:
            return f"Namespace {pods.namespace} is not among the objects: taken as off the mesh"
        if labels.get(DATAPLANE_MODE_LABEL) != "ambient":
            return (
                f"Namespace {pods.namespace} is not on the ambient mesh"
                f" (no label {DATAPLANE_MODE_LABEL}=ambient)"
            )
        return None

    def _use_waypoint(self, call: Call) -> tuple[str, str, str] | None:
        """The waypoint the called Service names: (namespace, name, which label says so)."""
        if call.service is None:
            return None
        namespace = call.destination.namespace
        service = self._services.get((namespace, call.service))
        for labels, owner in (
            (service.labels if service else _NO_LABELS, f"Service {namespace}/{call.service}"),
            (self._namespaces.get(namespace, _NO_LABELS), f"Namespace {namespace}"),
        ):
            if USE_WAYPOINT_LABEL not in labels:
                continue  # the namespace decides
            named = waypoint_named(labels, namespace)
            if named is None:
                return None  # opted out
            where, name = named
            return where, name, f"label {USE_WAYPOINT_LABEL}={name} on {owner}"
        return None

    def _ingress_uses_waypoint(self, call: Call) -> bool:
        namespace = call.destination.namespace
        service = self._services.get((namespace, str(call.service)))
        value = service.labels.get(INGRESS_USE_WAYPOINT_LABEL) if service else None
        if value is None:
            value = self._namespaces.get(namespace, _NO_LABELS).get(INGRESS_USE_WAYPOINT_LABEL)
        return (value or "").lower() == "true"

    def _route(self, call: Call) -> _Route:
        named = self._use_waypoint(call)
        if named is None:
            return _Route()
        namespace, name, why = named
        key = f"{namespace}/{name}"
        if call.source is None:
            return _Route(
                notes=(
                    f"a caller off the mesh reaches the pods directly: it skips waypoint {key}",
                )
            )
        if call.from_ingress and not self._ingress_uses_waypoint(call):
            return _Route(
                notes=(
                    f"an ingress gateway sends straight to the pods, skipping waypoint {key}"
                    f" (label the Service or its namespace {INGRESS_USE_WAYPOINT_LABEL}=true"
                    " to send it through)",
                )
            )
        gateway = self._gateways.get((namespace, name))
        if gateway is None:
            return _Route(missing=key, reason=f"{why}, but no Gateway {key} is among the objects")
        refusal = self._refusal(gateway, call.destination.namespace)
        if refusal is not None:
            return _Route(
                notes=(f"{why}, but {refusal}: Istio sends the call straight to the pods",)
            )
        return _Route(waypoint=gateway)

    def _refusal(self, gateway: authz_objects.Gateway, namespace: str) -> str | None:
        """Why ``gateway`` does not take service traffic from ``namespace``, or None."""
        kind = gateway.labels.get(WAYPOINT_FOR_LABEL)
        if kind is None:
            kind = self._class_labels.get(gateway.class_name, {}).get(
                WAYPOINT_FOR_LABEL, "service"
            )
        if kind not in ("service", "all"):
            return f"waypoint {gateway.key} is for {kind} traffic ({WAYPOINT_FOR_LABEL})"
        match gateway.allowed:
            case "All":
                return None
            case "Same":
                allowed = namespace == gateway.namespace
            case selector:  # Istio asks the selector, even of the waypoint's own namespace
                labels = self._namespaces.get(namespace, {_NAME_LABEL: namespace})
                allowed = selector.matches(labels)
        if allowed:
            return None
        return f"waypoint {gateway.key} does not allow namespace {namespace} (allowedRoutes)"

    def _seen(self, source: Workload | None, call: Call, port: int) -> _Seen:
        host = call.host
        if host is None and call.http and call.service is not None:
            host = f"{call.service}.{call.destination.namespace}.svc.{CLUSTER_DOMAIN}"
        path = None if call.path is None else call.path.split("?", 1)[0].split("#", 1)[0]
        principal = namespace = service_account = trust_domain = None
        if source is not None:
            principal = source.principal(self.trust_domain)
            namespace, trust_domain = source.namespace, self.trust_domain
            service_account = f"{source.namespace}/{source.service_account}"
        return _Seen(
            principal=principal,
            namespace=namespace,
            service_account=service_account,
            trust_domain=trust_domain,
            port=port,
            http=call.http,
            method=call.method,
            path=path,
            host=host,
            headers={k.lower(): v for k, v in call.headers.items()},
            # The caller's address at both points: a waypoint sees it on the connection
            # its ztunnel tunnels, and ztunnel behind its own waypoint trusts the
            # waypoint's Forwarded header for it. No trusted proxies are configured
            # (numTrustedProxies 0), so the remote IP is that same address.
            source_ip=call.source_ip,
            remote_ip=call.source_ip,
            jwt=call.jwt,
        )

    def _jwt_note(self, jwt: Jwt, namespace: str) -> str:
        """Which RequestAuthentications among the objects accept the token's issuer."""
        spaces = dict.fromkeys((namespace, self.root_namespace))
        accepting = [
            f"{ns}/{name}"
            for ns in spaces
            for name, issuers in self._issuers.get(ns, ())
            if jwt.issuer in issuers
        ]
        if accepting:
            return (
                f"the JWT of issuer {jwt.issuer!r} is taken as valid:"
                f" RequestAuthentication {', '.join(accepting)} accepts that issuer"
            )
        return (
            f"the JWT of issuer {jwt.issuer!r} is taken as valid, but no RequestAuthentication"
            f" among the objects (in {' or '.join(spaces)}) accepts that issuer:"
            " without one Istio reads no request.auth.* from it"
        )

    def _at_waypoint(self, call: Call, gateway: authz_objects.Gateway) -> tuple[Hop, list[str]]:
        namespace = call.destination.namespace
        attached = {
            p.key: p
            for p in (
                *self._by_service.get((namespace, str(call.service)), ()),
                *self._by_gateway.get((gateway.namespace, gateway.name), ()),
                *self._every_waypoint,
            )
        }
        seen = self._seen(call.source, call, call.port)
        notes = [] if call.jwt is None else [self._jwt_note(call.jwt, namespace)]
        return _enforce(f"waypoint {gateway.key}", list(attached.values()), seen, False, notes)

    def _pod_port(self, call: Call, notes: list[str]) -> int:
        if call.service is None:
            return call.port
        service = self._services.get((call.destination.namespace, call.service))
        target = None if service is None else service.target_ports.get(call.port)
        if isinstance(target, str):
            notes.append(f"targetPort {target!r} is named: the pod port is taken as {call.port}")
            return call.port
        return call.port if target is None else target

    def _at_pods(
        self,
        call: Call,
        source: Workload | None,
        via_waypoint: bool,
        notes: list[str],
        sidecar: bool,
    ) -> tuple[Hop, list[str]]:
        """The pods' own enforcement point: their sidecar, else their ztunnel."""
        pods = call.destination
        applicable = [p for p in self._pods.get(pods.namespace, ()) if p.selects(pods.labels)]
        if pods.namespace != self.root_namespace:
            root = self._pods.get(self.root_namespace, ())
            applicable += [p for p in root if p.selects(pods.labels)]
        if call.service is not None and not via_waypoint:
            skipped = self._by_service.get((pods.namespace, call.service), [])
            if skipped:
                keys = ", ".join(sorted(p.key for p in skipped))
                notes.append(
                    f"policies attached to Service {pods.namespace}/{call.service} ({keys}) are"
                    " enforced only by a waypoint, and this call passes none"
                    + (" (a sidecar ignores them)" if sidecar else "")
                )
        seen = self._seen(source, call, self._pod_port(call, notes))
        if sidecar and call.jwt is not None:
            notes.insert(0, self._jwt_note(call.jwt, pods.namespace))
        labels = ",".join(f"{k}={v}" for k, v in sorted(pods.labels.items()))
        which = f"pods {labels} in" if labels else "pods in"
        enforcer = "sidecar" if sidecar else "ztunnel"
        at_ztunnel = not sidecar
        return _enforce(
            f"{enforcer} ({which} {pods.namespace})", applicable, seen, at_ztunnel, notes
        )


def _waypoint_workload(gateway: authz_objects.Gateway) -> Workload:
    """The waypoint's own pods: their ServiceAccount is named after the Gateway."""
    return Workload(gateway.namespace, gateway.name)


def _decision(hops: list[Hop], conditions: list[str]) -> Decision:
    last = hops[-1]
    if not last.allowed:
        explanation = f"DENIED by {last.enforcer}: {last.reason}"
    else:
        explanation = "ALLOWED: " + "; then ".join(f"{h.enforcer}: {h.reason}" for h in hops)
    if conditions:
        explanation += f" (provided {len(conditions)} CUSTOM provider check(s) allow it)"
    return Decision(last.allowed, tuple(hops), explanation, tuple(conditions))
