"""``x-kubernetes-validations`` CEL rules and the Kubernetes CEL function libraries.

Covers rules of the real CRDs rejecting real invalid objects (HTTPRoute PathPrefix not
starting with '/', Gateway listeners with the same name, TLS listener without a TLS
mode, AuthorizationPolicy with both selector and targetRef, a RequestAuthentication
jwksUri without http(s), a too-short Istio duration, a TLSRoute hostname that is an IP)
and accepting the valid ones; transition rules (``oldSelf``, skipped on create);
``message``/``messageExpression``/``fieldPath``/``reason``; rules skipped after type
errors; and the Kubernetes library functions (strings, lists, regex, URLs, IPs, CIDRs)
against cel-go's documented results.
"""

from __future__ import annotations

from typing import Any

import pytest

from meshops.testing import FakeKubernetes, StatusError
from meshops.testing.fake_kubernetes.cel_rules import (
    CelRuleError,
    compile_rule,
    evaluate_rules,
    projection,
)
from meshops.testing.fake_kubernetes.errors import FieldError


def rejects(fake: FakeKubernetes, obj: dict[str, Any]) -> list[dict[str, str]]:
    with pytest.raises(StatusError) as e:
        fake.add(obj)
    assert e.value.code == 422
    return e.value.causes


def route(path_type: str, value: str) -> dict[str, Any]:
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "r", "namespace": "apps"},
        "spec": {
            "parentRefs": [{"name": "gw"}],
            "rules": [{"matches": [{"path": {"type": path_type, "value": value}}]}],
        },
    }


def gateway(*listeners: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {"name": "gw", "namespace": "apps"},
        "spec": {"gatewayClassName": "istio", "listeners": list(listeners)},
    }


def policy(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "security.istio.io/v1",
        "kind": "AuthorizationPolicy",
        "metadata": {"name": "p", "namespace": "apps"},
        "spec": spec,
    }


def test_path_prefix_must_start_with_a_slash(fake: FakeKubernetes) -> None:
    found = rejects(fake, route("PathPrefix", "api"))
    assert {
        "reason": "FieldValueInvalid",
        # a failed rule on an object or a list quotes no value
        "message": "Invalid value: value must be an absolute path and start with "
        "'/' when type one of ['Exact', 'PathPrefix']",
        "field": "spec.rules[0].matches[0].path",
    } in found
    fake.add(route("PathPrefix", "/api"))
    fake.add(route("RegularExpression", "api.*"))


def test_path_with_invalid_characters(fake: FakeKubernetes) -> None:
    found = rejects(fake, route("Exact", "/a b"))
    assert any("must only contain valid characters" in c["message"] for c in found)


def test_listener_names_must_be_unique(fake: FakeKubernetes) -> None:
    found = rejects(
        fake,
        gateway(
            {"name": "web", "port": 80, "protocol": "HTTP"},
            {"name": "web", "port": 81, "protocol": "HTTP"},
        ),
    )
    assert found == [
        # the list is keyed by name: the duplicate key itself, then the CEL rule
        {
            "reason": "FieldValueDuplicate",
            "message": 'Duplicate value: {"name":"web"}',
            "field": "spec.listeners[1]",
        },
        {
            "reason": "FieldValueInvalid",
            "message": "Invalid value: Listener name must be unique within the Gateway",
            "field": "spec.listeners",
        },
    ]


def test_tls_listener_needs_a_mode(fake: FakeKubernetes) -> None:
    found = rejects(
        fake, gateway({"name": "tls", "port": 443, "protocol": "TLS", "hostname": "a.example"})
    )
    assert any(c["message"].endswith("tls mode must be set for protocol TLS") for c in found), (
        found
    )
    fake.add(
        gateway(
            {
                "name": "tls",
                "port": 443,
                "protocol": "TLS",
                "hostname": "a.example",
                "tls": {"mode": "Passthrough"},
            }
        )
    )


def test_https_listener_terminate_needs_certificates(fake: FakeKubernetes) -> None:
    # Neither field is set, so evaluating the rule fails (cel-go reports "no such key" too).
    found = rejects(
        fake,
        gateway({"name": "https", "port": 443, "protocol": "HTTPS", "tls": {"mode": "Terminate"}}),
    )
    assert [c["field"] for c in found] == ["spec.listeners[0].tls"]
    found = rejects(
        fake,
        gateway(
            {
                "name": "https",
                "port": 443,
                "protocol": "HTTPS",
                "tls": {"mode": "Terminate", "certificateRefs": [], "options": {}},
            }
        ),
    )
    assert any("certificateRefs or options must be specified" in c["message"] for c in found), (
        found
    )
    tls = {"mode": "Terminate", "certificateRefs": [{"name": "cert"}]}
    fake.add(gateway({"name": "https", "port": 443, "protocol": "HTTPS", "tls": tls}))


def test_authorization_policy_selector_or_target(fake: FakeKubernetes) -> None:
    found = rejects(
        fake,
        policy(
            selector={"matchLabels": {"app": "web"}},
            targetRef={"kind": "Service", "group": "", "name": "web"},
        ),
    )
    assert {
        "reason": "FieldValueInvalid",
        "message": "Invalid value: only one of targetRefs or selector can be set",
        "field": "spec",
    } in found
    fake.add(
        policy(
            action="ALLOW",
            targetRefs=[{"kind": "Service", "group": "", "name": "web"}],
            rules=[
                {
                    "from": [{"source": {"principals": ["cluster.local/ns/apps/sa/client"]}}],
                    "to": [
                        {"operation": {"ports": ["8080"], "methods": ["GET"], "paths": ["/api/*"]}}
                    ],
                }
            ],
        )
    )


def test_authorization_policy_label_wildcards(fake: FakeKubernetes) -> None:
    found = rejects(fake, policy(selector={"matchLabels": {"app": "web*"}}))
    assert found == [
        {
            "reason": "FieldValueInvalid",
            # a failed rule on a string quotes the string; a map key is named [key]
            "message": 'Invalid value: "web*": wildcard not allowed in label value match',
            "field": "spec.selector.matchLabels[app]",
        }
    ]


def test_request_authentication_jwks_uri_scheme(fake: FakeKubernetes) -> None:
    def authn(uri: str) -> dict[str, Any]:
        return {
            "apiVersion": "security.istio.io/v1",
            "kind": "RequestAuthentication",
            "metadata": {"name": "a", "namespace": "apps"},
            "spec": {"jwtRules": [{"issuer": "me", "jwksUri": uri}]},
        }

    found = rejects(fake, authn("ftp://keys.example/jwks.json"))
    assert any(c["message"].endswith("url must have scheme http:// or https://") for c in found), (
        found
    )
    assert found[0]["field"] == "spec.jwtRules[0].jwksUri"
    fake.add(authn("https://keys.example/jwks.json"))


def test_istio_durations(fake: FakeKubernetes) -> None:
    def rule(timeout: str) -> dict[str, Any]:
        return {
            "apiVersion": "networking.istio.io/v1",
            "kind": "DestinationRule",
            "metadata": {"name": "d", "namespace": "apps"},
            "spec": {
                "host": "web",
                "trafficPolicy": {"connectionPool": {"tcp": {"connectTimeout": timeout}}},
            },
        }

    found = rejects(fake, rule("500us"))
    assert found[0]["field"] == "spec.trafficPolicy.connectionPool.tcp.connectTimeout"
    assert (
        found[0]["message"] == 'Invalid value: "500us": must be a valid duration greater than 1ms'
    )
    fake.add(rule("1.5s"))


def test_tls_route_hostnames_cannot_be_ips(fake: FakeKubernetes) -> None:
    def tls_route(host: str) -> dict[str, Any]:
        return {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "TLSRoute",
            "metadata": {"name": "t", "namespace": "apps"},
            "spec": {
                "hostnames": [host],
                "rules": [{"backendRefs": [{"name": "svc", "port": 443}]}],
            },
        }

    found = rejects(fake, tls_route("10.0.0.1"))
    assert any(c["message"].endswith("Hostnames cannot contain an IP") for c in found), found
    fake.add(tls_route("secure.example.com"))


def test_escaped_property_names(fake: FakeKubernetes) -> None:
    """``p.__namespace__`` in a rule reads the property ``namespace`` (Kubernetes escaping)."""

    def route_with(*parents: dict[str, str]) -> dict[str, Any]:
        return {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "HTTPRoute",
            "metadata": {"name": "r", "namespace": "apps"},
            "spec": {"parentRefs": list(parents)},
        }

    fake.add(route_with({"name": "gw", "namespace": "a"}, {"name": "gw", "namespace": "b"}))
    found = rejects(
        fake, route_with({"name": "gw", "namespace": "a"}, {"name": "gw", "namespace": "a"})
    )
    assert any("2 or more references to the same parent" in c["message"] for c in found), found
    with pytest.raises(CelRuleError, match="escaped property name"):
        compile_rule({"rule": "self.__dash__ == 1"}, "spec")


def test_transition_rules_use_old_self(fake: FakeKubernetes) -> None:
    def gateway_class(controller: str) -> dict[str, Any]:
        return {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "GatewayClass",
            "metadata": {"name": "istio"},
            "spec": {"controllerName": controller},
        }

    fake.add(gateway_class("istio.io/gateway-controller"))
    fake.add(gateway_class("istio.io/gateway-controller"))
    found = rejects(fake, gateway_class("example.com/other"))
    assert found == [
        {
            "reason": "FieldValueInvalid",
            "message": 'Invalid value: "example.com/other": Value is immutable',
            "field": "spec.controllerName",
        }
    ]


def test_rules_are_skipped_when_types_are_wrong(fake: FakeKubernetes) -> None:
    obj = route("PathPrefix", "api")
    obj["spec"]["rules"][0]["matches"][0]["path"]["value"] = 5
    found = rejects(fake, obj)
    assert found[0]["reason"] == "FieldValueTypeInvalid"
    assert found[-1]["message"].endswith(
        "some validation rules were not checked because the object was invalid; "
        "correct the existing errors to "
        "complete validation"
    )


# --- rule options, on a synthetic CRD -----------------------------------------------------


def crd_with_rules(*rules: dict[str, Any]) -> dict[str, Any]:
    # Strings have a maxLength: a real server refuses rules whose estimated cost (which
    # grows with the longest string a rule may see) is over its budget.
    schema = {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "x-kubernetes-validations": list(rules),
                "properties": {
                    "min": {"type": "integer"},
                    "max": {"type": "integer"},
                    "ratio": {"type": "number"},
                    "name": {"type": "string", "maxLength": 64},
                    "label": {"type": "string", "maxLength": 16},
                },
            }
        },
    }
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "ranges.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": {"kind": "Range", "plural": "ranges"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": schema},
                }
            ],
        },
    }


def ranged(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "example.com/v1",
        "kind": "Range",
        "metadata": {"name": "r", "namespace": "apps"},
        "spec": spec,
    }


def test_message_expression_field_path_and_reason(fake: FakeKubernetes) -> None:
    fake.install_crd(
        crd_with_rules(
            {
                "rule": "self.min <= self.max",
                "messageExpression": "'min exceeds max in ' + self.label",
                "fieldPath": ".min",
            },
            {
                "rule": "has(self.name)",
                "message": "name is required",
                "reason": "FieldValueRequired",
                "fieldPath": ".name",
            },
            {
                # without a label the messageExpression fails: the message is used
                "rule": "self.min >= 0",
                "messageExpression": "'negative in ' + self.label",
                "message": "fallback message",
            },
            {"rule": "self.ratio < 1.5"},
        )
    )
    found = rejects(fake, ranged(min=5, max=1, ratio=2, label="r1"))
    assert found == [
        {
            "reason": "FieldValueInvalid",
            "message": "Invalid value: min exceeds max in r1",
            "field": "spec.min",
        },
        {
            "reason": "FieldValueRequired",
            "message": "Required value: name is required",
            "field": "spec.name",
        },
        {
            "reason": "FieldValueInvalid",
            "message": "Invalid value: failed rule: self.ratio < 1.5",
            "field": "spec",
        },
    ]
    found = rejects(fake, ranged(min=-1, max=1, name="n", ratio=1))
    assert found == [
        {
            "reason": "FieldValueInvalid",
            "message": "Invalid value: fallback message",
            "field": "spec",
        }
    ]
    fake.add(ranged(min=1, max=2, name="n", ratio=1))


def test_evaluation_errors_are_reported(fake: FakeKubernetes) -> None:
    fake.install_crd(crd_with_rules({"rule": "self.min > 0", "message": "positive"}))
    found = rejects(fake, ranged(max=1))
    # an evaluation error quotes the node's type and names the rule by its message
    assert found == [
        {
            "reason": "FieldValueInvalid",
            "message": 'Invalid value: "object": no such key: min evaluating rule: positive',
            "field": "spec",
        }
    ]


def test_unsupported_reasons_fail_at_install(fake: FakeKubernetes) -> None:
    with pytest.raises(StatusError) as e:
        fake.install_crd(crd_with_rules({"rule": "true", "reason": "Sometimes"}))
    assert e.value.code == 422
    assert e.value.causes == [
        {
            "reason": "FieldValueNotSupported",
            "message": 'Unsupported value: "Sometimes": supported values: "FieldValueDuplicate", '
            '"FieldValueForbidden", "FieldValueInvalid", "FieldValueRequired"',
            "field": "spec.validation.openAPIV3Schema.properties[spec]"
            ".x-kubernetes-validations[0].reason",
        }
    ]


@pytest.mark.fake_only("optionalOldSelf is a real server's feature the fake refuses at install")
def test_optional_old_self_fails_at_install_on_the_fake(fake: FakeKubernetes) -> None:
    with pytest.raises(StatusError, match="optionalOldSelf"):
        fake.install_crd(
            crd_with_rules({"rule": "!oldSelf.hasValue() || true", "optionalOldSelf": True})
        )


# --- the function libraries ----------------------------------------------------------------


def holds(expression: str, value: Any = None) -> bool:
    rule = compile_rule({"rule": expression}, "")
    assert rule is not None
    errors: list[FieldError] = []
    evaluate_rules([rule], rule.projection, value, None, False, (), "object", errors)
    if errors and "evaluating rule" in errors[0].detail:
        raise AssertionError(errors[0].detail)
    return not errors


@pytest.mark.parametrize(
    "expression",
    [
        # strings
        "'a/b/c'.split('/') == ['a', 'b', 'c']",
        "'a/b/c'.split('/', 2) == ['a', 'b/c']",
        "'hello'.substring(1) == 'ello'",
        "'hello'.substring(1, 3) == 'el'",
        "'MiXeD'.lowerAscii() == 'mixed'",
        "'MiXeD'.upperAscii() == 'MIXED'",
        "'  x  '.trim() == 'x'",
        "'aaa'.replace('a', 'b') == 'bbb'",
        "'aaa'.replace('a', 'b', 1) == 'baa'",
        "'hello'.indexOf('l') == 2",
        "'hello'.lastIndexOf('l') == 3",
        "'hello'.charAt(1) == 'e'",
        "['a', 'b'].join('-') == 'a-b'",
        "strings.quote('a\"b') == '\"a\\\\\"b\"'",
        # lists
        "[1, 2, 3].isSorted()",
        "![3, 1].isSorted()",
        "[1, 2, 3].sum() == 6",
        "[3, 1, 2].min() == 1",
        "[3, 1, 2].max() == 3",
        "['a', 'b', 'a'].indexOf('a') == 0",
        "['a', 'b', 'a'].lastIndexOf('a') == 2",
        "sets.contains([1, 2, 3], [1, 2])",
        "sets.intersects([1, 2], [2, 3])",
        # regex
        "'abc123'.find('[0-9]+') == '123'",
        "'a1b2'.findAll('[0-9]') == ['1', '2']",
        "'a1b2c3'.findAll('[0-9]', 2) == ['1', '2']",
        "'abc'.matches('^a') && !'abc'.matches('^b')",
        # URLs
        "isURL('https://example.com:8443/a%20b?x=1&x=2&y')",
        "!isURL('example.com/path')",
        "isURL('/just/a/path')",
        "url('https://user@example.com:8443/p?q=1').getScheme() == 'https'",
        "url('https://example.com:8443/p').getHost() == 'example.com:8443'",
        "url('https://example.com:8443/p').getHostname() == 'example.com'",
        "url('https://example.com:8443/p').getPort() == '8443'",
        "url('https://[::1]:80/').getHostname() == '::1'",
        "url('https://[::1]/').getHost() == '[::1]'",
        "url('https://example.com/a%20b').getEscapedPath() == '/a%20b'",
        "url('https://example.com/?x=1&x=2&y=').getQuery() == {'x': ['1', '2'], 'y': ['']}",
        "url('/p').getScheme() == ''",
        "!isURL('http://exa mple.com/')",
        "!isURL('http://example.com:port/')",
        # IPs
        "isIP('10.0.0.1') && isIP('fe80::1') && !isIP('10.0.0.01') && !isIP('fe80::1%eth0')",
        "!isIP('::ffff:10.0.0.1') && !isIP('example.com')",
        "ip('10.0.0.1').family() == 4 && ip('::1').family() == 6",
        "ip('127.0.0.1').isLoopback() && ip('::').isUnspecified()",
        "ip('169.254.1.1').isLinkLocalUnicast() && ip('224.0.0.1').isLinkLocalMulticast()",
        "ip('10.0.0.1').isGlobalUnicast() && !ip('255.255.255.255').isGlobalUnicast()",
        "ip.isCanonical('2001:db8::1') && !ip.isCanonical('2001:DB8::1')",
        "ip('10.0.0.1') == ip('10.0.0.1')",
        # CIDRs
        "isCIDR('10.0.0.0/8') && !isCIDR('10.0.0.0') && !isCIDR('10.0.0.0/33')",
        "cidr('10.0.0.0/8').containsIP('10.1.2.3')",
        "!cidr('10.0.0.0/8').containsIP(ip('11.0.0.1'))",
        "cidr('10.0.0.0/8').containsCIDR('10.1.0.0/16')",
        "!cidr('10.1.0.0/16').containsCIDR('10.0.0.0/8')",
        "cidr('10.1.2.3/8').prefixLength() == 8",
        "cidr('10.1.2.3/8').masked() == cidr('10.0.0.0/8')",
        "cidr('10.1.2.3/8').ip() == ip('10.1.2.3')",
        # native functions still work
        "duration('1h30m') > duration('90s')",
        "'abc'.startsWith('a') && 'abc'.endsWith('c') && 'abc'.contains('b')",
    ],
)
def test_library_function(expression: str) -> None:
    assert holds(expression), expression


def test_conversion_errors_fail_the_rule() -> None:
    with pytest.raises(AssertionError, match="URL parse error"):
        holds("url('not a url').getScheme() == ''")
    with pytest.raises(AssertionError, match="IP Address"):
        holds("ip('300.0.0.1').family() == 4")


def test_fields_named_matches_are_not_calls() -> None:
    assert holds(
        "self.matches.size() == 1 && self.name.matches('^w')", {"matches": [1], "name": "web"}
    )


def test_rules_calling_unknown_functions_do_not_compile() -> None:
    with pytest.raises(CelRuleError, match="quantity"):
        compile_rule({"rule": "quantity(self) > 0"}, "spec")
    with pytest.raises(CelRuleError, match="does not compile"):
        compile_rule({"rule": "self.?x"}, "spec")


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("has(self.a) ? self.b.c == 1 : true", {"a": False, "b": True}),
        ("self.all(x, x > 0)", None),
        ("self == oldSelf", None),
        ("self.x.startsWith('self.y')", {"x": True}),
        ('"self" == self.name', {"name": True}),
        ("self.size() > 0", None),
        ("self[0] == 1", None),
    ],
)
def test_rules_bind_only_what_they_read(expression: str, expected: dict[str, bool] | None) -> None:
    assert projection(expression) == expected


def test_projected_values_evaluate_like_whole_ones() -> None:
    value = {"a": {"deep": [1, 2]}, "b": {"c": 1}, "unused": ["x"] * 10}
    assert holds("has(self.a) && self.b.c == 1", value)
    assert not holds("has(self.missing)", value)
