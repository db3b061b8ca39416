"""The Kubernetes CEL function libraries, for the ``cel`` (cel-rust) evaluator.

The API server evaluates ``x-kubernetes-validations`` rules with cel-go plus
Kubernetes' own libraries. cel-rust natively has the CEL core (``size``, ``contains``,
``startsWith``, ``endsWith``, ``matches``, conversions, ``duration``/``timestamp`` and
their getters, the macros). This module adds, as Python functions:

========== ==================================================================
Library    Functions
========== ==================================================================
strings    ``charAt``, ``indexOf``, ``lastIndexOf``, ``lowerAscii``, ``upperAscii``,
           ``replace``, ``split``, ``substring``, ``trim``, ``join``,
           ``strings.quote`` (from ``cel.stdlib``)
lists      ``isSorted``, ``sum``, ``min``, ``max``, ``indexOf``, ``lastIndexOf``
sets       ``sets.contains``, ``sets.equivalent``, ``sets.intersects``
regex      ``find``, ``findAll``
URLs       ``url``, ``isURL``, ``getScheme``, ``getHost``, ``getHostname``,
           ``getPort``, ``getEscapedPath``, ``getQuery``
IPs        ``ip``, ``isIP``, ``ip.isCanonical``, ``family``, ``isUnspecified``,
           ``isLoopback``, ``isLinkLocalMulticast``, ``isLinkLocalUnicast``,
           ``isGlobalUnicast``
CIDRs      ``cidr``, ``isCIDR``, ``containsIP``, ``containsCIDR``, ``prefixLength``,
           ``masked``, ``ip`` (of a CIDR)
========== ==================================================================

A Python function may only return CEL values, so the opaque Kubernetes types (URL, IP,
CIDR) are maps tagged with the key :data:`TYPE_KEY`. Two values compare equal when they
denote the same URL/address/prefix, as in Kubernetes. Not provided: ``quantity``,
``format``, ``semver``, ``authz`` and the optional-field syntax (``self.?x``, which
cel-rust's parser rejects); a rule using one is reported when its CRD is installed.
"""

from __future__ import annotations

import functools
import ipaddress
import itertools
import re
import string
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

from cel import stdlib

from meshops.testing.fake_kubernetes.values import as_list

__all__ = ["FUNCTIONS", "TYPE_KEY", "regex"]

#: Key marking a CEL map as one of the opaque Kubernetes types.
TYPE_KEY = "__kubernetes_cel_type__"

_URL = "kubernetes.URL"
_IP = "net.IP"
_CIDR = "net.IPPrefix"


def _tagged(value: Any, type_name: str, function: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping) or value.get(TYPE_KEY) != type_name:  # pyright: ignore[reportUnknownMemberType]
        raise TypeError(f"{function}: no such overload for argument {value!r} (want {type_name})")
    return value  # pyright: ignore[reportUnknownVariableType]


# --- strings and lists -----------------------------------------------------------------


def _index_of(target: Any, item: Any, offset: int | None = None) -> int:
    if isinstance(target, str):
        return stdlib.index_of(target, item, 0 if offset is None else offset)
    items = as_list(target)
    if items is not None and offset is None:
        for i, element in enumerate(items):
            if element == item:
                return i
        return -1
    raise TypeError(f"indexOf: no such overload for {type(target).__name__}")


def _last_index_of(target: Any, item: Any, offset: int | None = None) -> int:
    if isinstance(target, str):
        return stdlib.last_index_of(target, item, offset)
    items = as_list(target)
    if items is not None and offset is None:
        for i in range(len(items) - 1, -1, -1):
            if items[i] == item:
                return i
        return -1
    raise TypeError(f"lastIndexOf: no such overload for {type(target).__name__}")


def _is_sorted(items: list[Any]) -> bool:
    return all(a <= b for a, b in itertools.pairwise(items))


def _min(items: list[Any]) -> Any:
    if not items:
        raise ValueError("min called on empty list")
    return min(items)


def _max(items: list[Any]) -> Any:
    if not items:
        raise ValueError("max called on empty list")
    return max(items)


# --- regex -----------------------------------------------------------------------------


_TOP_LEVEL_FLAGS = re.compile(r"^((?:[^\\(]|\\.)*?)\(\?([a-zA-Z]+)\)")


@functools.lru_cache(maxsize=2048)
def regex(pattern: str) -> re.Pattern[str]:
    r"""A compiled RE2-syntax pattern (Python's ``re`` covers what CRDs use; ``\z`` is ``\Z``).

    RE2 lets a flag group such as ``(?i)`` stand anywhere, applying from there on; Python
    wants it first, so one that follows top-level text becomes a scoped group.

    Example:
        >>> bool(regex(r"^(?i)\.?[a-z_]+$").match("Foo"))
        True
    """
    pattern = pattern.replace(r"\z", r"\Z")
    flags = _TOP_LEVEL_FLAGS.match(pattern)
    if flags and flags.group(1):
        head, letters = flags.group(1), flags.group(2)
        pattern = f"{head}(?{letters}:{pattern[flags.end() :]})"
    return re.compile(pattern)


def _find(text: str, pattern: str) -> str:
    match = regex(pattern).search(text)
    return match.group(0) if match else ""


def _find_all(text: str, pattern: str, limit: int = -1) -> list[str]:
    if limit == 0:
        return []
    found = [m.group(0) for m in regex(pattern).finditer(text)]
    return found if limit < 0 else found[:limit]


# --- URLs (Go's url.ParseRequestURI) ---------------------------------------------------

_SCHEME_FIRST = frozenset(string.ascii_letters)
_SCHEME_REST = frozenset(string.ascii_letters + string.digits + "+-.")
_HOST_OK = frozenset(string.ascii_letters + string.digits + "-_.~!$&'()*+,;=:[]<>\"")
_USERINFO_OK = frozenset(string.ascii_letters + string.digits + "-._:~!$&'()*+,;=%@")
_PATH_OK = frozenset(string.ascii_letters + string.digits + "-_.~$&+,/:;=@!'()*")
_HEX = frozenset(string.hexdigits)
_DIGITS = frozenset(string.digits)


def _check_escapes(text: str, what: str) -> None:
    i = 0
    while i < len(text):
        if text[i] == "%":
            digits = text[i + 1 : i + 3]
            if len(digits) != 2 or not set(digits) <= _HEX:
                raise ValueError(f"invalid URL escape {text[i : i + 3]!r} in {what}")
            i += 3
        else:
            i += 1


def _split_scheme(raw: str) -> tuple[str, str]:
    for i, c in enumerate(raw):
        if c in _SCHEME_FIRST:
            continue
        if c in _SCHEME_REST:
            if i == 0:
                return "", raw
            continue
        if c == ":":
            if i == 0:
                raise ValueError("missing protocol scheme")
            return raw[:i], raw[i + 1 :]
        return "", raw
    return "", raw


def _valid_port(colon_port: str) -> bool:
    return colon_port == "" or (colon_port[0] == ":" and set(colon_port[1:]) <= _DIGITS)


def _parse_host(host: str) -> str:
    if host.startswith("["):
        end = host.rfind("]")
        if end < 0:
            raise ValueError("missing ']' in host")
        if not _valid_port(host[end + 1 :]):
            raise ValueError(f"invalid port {host[end + 1 :]!r} after host")
        literal = host[1:end].split("%25", 1)[0]
        ipaddress.IPv6Address(literal)
    else:
        colon = host.rfind(":")
        if colon >= 0 and not _valid_port(host[colon:]):
            raise ValueError(f"invalid port {host[colon:]!r} after host")
        for c in host:
            if c == "%" or (c < "\x80" and c not in _HOST_OK):
                raise ValueError(f"invalid character {c!r} in host name")
    return host


def _parse_url(raw: str) -> dict[str, Any]:
    if any(c < " " or c == "\x7f" for c in raw):
        raise ValueError("invalid control character in URL")
    if not raw:
        raise ValueError("empty url")
    scheme, rest = _split_scheme(raw)
    scheme = scheme.lower()
    if rest.endswith("?") and rest.count("?") == 1:
        rest, query = rest[:-1], ""
    else:
        rest, _, query = rest.partition("?")
    host = ""
    path = ""
    if not rest.startswith("/"):
        if not scheme:
            raise ValueError("invalid URI for request")
    else:
        if scheme and rest.startswith("//"):
            authority, slash, tail = rest[2:].partition("/")
            rest = slash + tail
            at = authority.rfind("@")
            host = _parse_host(authority[at + 1 :])
            if at >= 0 and not set(authority[:at]) <= _USERINFO_OK:
                raise ValueError("invalid userinfo")
        _check_escapes(rest, "path")
        path = rest
    return {TYPE_KEY: _URL, "scheme": scheme, "host": host, "path": path, "query": query}


def _url(raw: str) -> dict[str, Any]:
    try:
        return _parse_url(raw)
    except ValueError as e:
        raise ValueError(f"URL parse error during conversion from string: {e}") from None


def _is_url(raw: str) -> bool:
    try:
        _parse_url(raw)
    except ValueError:
        return False
    return True


def _split_host_port(host: str) -> tuple[str, str]:
    if host.startswith("["):
        end = host.rfind("]")
        return host[1:end], host[end + 2 :] if host[end + 1 : end + 2] == ":" else ""
    name, colon, port = host.rpartition(":")
    return (name, port) if colon else (host, "")


def _get_scheme(u: Any) -> str:
    return str(_tagged(u, _URL, "getScheme")["scheme"])


def _get_host(u: Any) -> str:
    return str(_tagged(u, _URL, "getHost")["host"])


def _get_hostname(u: Any) -> str:
    return _split_host_port(str(_tagged(u, _URL, "getHostname")["host"]))[0]


def _get_port(u: Any) -> str:
    return _split_host_port(str(_tagged(u, _URL, "getPort")["host"]))[1]


def _get_escaped_path(u: Any) -> str:
    path = str(_tagged(u, _URL, "getEscapedPath")["path"])
    if all(c in _PATH_OK or c == "%" for c in path):
        return path
    return urllib.parse.quote(urllib.parse.unquote(path), safe="".join(sorted(_PATH_OK)))


def _get_query(u: Any) -> dict[str, list[str]]:
    query: dict[str, list[str]] = {}
    for pair in str(_tagged(u, _URL, "getQuery")["query"]).split("&"):
        if not pair or ";" in pair:
            continue
        key, _, value = pair.partition("=")
        try:
            _check_escapes(key, "query")
            _check_escapes(value, "query")
        except ValueError:
            continue
        query.setdefault(urllib.parse.unquote_plus(key), []).append(
            urllib.parse.unquote_plus(value)
        )
    return query


# --- IP addresses and CIDRs (Go's net/netip semantics) ---------------------------------

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _parse_ip(raw: str) -> Address:
    if "%" in raw:
        raise ValueError(f"IP address {raw!r} with zone value is not allowed")
    address = ipaddress.ip_address(raw)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        raise ValueError(f"IPv4-mapped IPv6 address {raw!r} is not allowed")
    return address


def _ip_value(address: Address) -> dict[str, Any]:
    return {TYPE_KEY: _IP, "address": str(address)}


def _cidr_value(address: Address, length: int) -> dict[str, Any]:
    return {TYPE_KEY: _CIDR, "address": str(address), "prefixLength": length}


def _ip(arg: Any) -> dict[str, Any]:
    if isinstance(arg, Mapping):
        cidr = _tagged(arg, _CIDR, "ip")
        return {TYPE_KEY: _IP, "address": cidr["address"]}
    try:
        return _ip_value(_parse_ip(str(arg)))
    except ValueError as e:
        raise ValueError(
            f"IP Address {arg!r} parse error during conversion from string: {e}"
        ) from None


def _is_ip(raw: str) -> bool:
    try:
        _parse_ip(raw)
    except ValueError:
        return False
    return True


def _is_canonical(raw: str) -> bool:
    return str(_parse_ip(raw)) == raw


def _address(value: Any, function: str) -> Address:
    return ipaddress.ip_address(str(_tagged(value, _IP, function)["address"]))


def _family(value: Any) -> int:
    return _address(value, "family").version


def _is_unspecified(value: Any) -> bool:
    return _address(value, "isUnspecified").is_unspecified


def _is_loopback(value: Any) -> bool:
    return _address(value, "isLoopback").is_loopback


_LINK_LOCAL_MULTICAST_V4 = ipaddress.ip_network("224.0.0.0/24")


def _is_link_local_multicast(value: Any) -> bool:
    address = _address(value, "isLinkLocalMulticast")
    if address.version == 4:
        return address in _LINK_LOCAL_MULTICAST_V4
    packed = address.packed
    return packed[0] == 0xFF and packed[1] & 0x0F == 0x02


def _is_link_local_unicast(value: Any) -> bool:
    address = _address(value, "isLinkLocalUnicast")
    return address.is_link_local and not address.is_multicast


def _is_global_unicast(value: Any) -> bool:
    address = _address(value, "isGlobalUnicast")
    return not (
        address == ipaddress.IPv4Address("255.255.255.255")
        or address.is_unspecified
        or address.is_loopback
        or address.is_multicast
        or (address.is_link_local and not address.is_multicast)
    )


def _parse_cidr(raw: str) -> tuple[Address, int]:
    text, slash, bits = raw.partition("/")
    if not slash or not bits.isdigit() or (len(bits) > 1 and bits[0] == "0"):
        raise ValueError(f"network address parse error during conversion from string: {raw!r}")
    address = _parse_ip(text)
    length = int(bits)
    if length > address.max_prefixlen:
        raise ValueError(f"prefix length {length} too large for {raw!r}")
    return address, length


def _cidr(raw: str) -> dict[str, Any]:
    try:
        return _cidr_value(*_parse_cidr(raw))
    except ValueError as e:
        raise ValueError(
            f"network address parse error during conversion from string: {e}"
        ) from None


def _is_cidr(raw: str) -> bool:
    try:
        _parse_cidr(raw)
    except ValueError:
        return False
    return True


def _network(value: Any, function: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    if isinstance(value, str):
        address, length = _parse_cidr(value)
    else:
        cidr = _tagged(value, _CIDR, function)
        address, length = ipaddress.ip_address(str(cidr["address"])), int(cidr["prefixLength"])
    return ipaddress.ip_network(f"{address}/{length}", strict=False)


def _contains_ip(cidr: Any, other: Any) -> bool:
    network = _network(cidr, "containsIP")
    address = _parse_ip(other) if isinstance(other, str) else _address(other, "containsIP")
    return address.version == network.version and address in network


def _contains_cidr(cidr: Any, other: Any) -> bool:
    network = _network(cidr, "containsCIDR")
    inner = _network(other, "containsCIDR")
    return inner.version == network.version and inner.subnet_of(network)  # pyright: ignore[reportArgumentType]


def _prefix_length(cidr: Any) -> int:
    return int(_tagged(cidr, _CIDR, "prefixLength")["prefixLength"])


def _masked(cidr: Any) -> dict[str, Any]:
    network = _network(cidr, "masked")
    return _cidr_value(network.network_address, network.prefixlen)


#: Every function this module adds, by CEL name.
FUNCTIONS: Mapping[str, Callable[..., Any]] = {
    # strings (cel-go ext.Strings, as in Kubernetes)
    "charAt": stdlib.char_at,
    "indexOf": _index_of,
    "lastIndexOf": _last_index_of,
    "lowerAscii": stdlib.lower_ascii,
    "upperAscii": stdlib.upper_ascii,
    "replace": stdlib.replace,
    "split": stdlib.split,
    "substring": stdlib.substring,
    "trim": stdlib.trim,
    "join": stdlib.join,
    "strings.quote": stdlib.quote,
    "bool": stdlib.bool_,
    # Kubernetes lists library
    "isSorted": _is_sorted,
    "sum": stdlib.sum_,
    "min": _min,
    "max": _max,
    # sets (cel-go ext.Sets)
    "sets.contains": stdlib.sets_contains,
    "sets.equivalent": stdlib.sets_equivalent,
    "sets.intersects": stdlib.sets_intersects,
    # Kubernetes regex library
    "find": _find,
    "findAll": _find_all,
    # Kubernetes URL library
    "url": _url,
    "isURL": _is_url,
    "getScheme": _get_scheme,
    "getHost": _get_host,
    "getHostname": _get_hostname,
    "getPort": _get_port,
    "getEscapedPath": _get_escaped_path,
    "getQuery": _get_query,
    # Kubernetes IP and CIDR libraries
    "ip": _ip,
    "isIP": _is_ip,
    "ip.isCanonical": _is_canonical,
    "family": _family,
    "isUnspecified": _is_unspecified,
    "isLoopback": _is_loopback,
    "isLinkLocalMulticast": _is_link_local_multicast,
    "isLinkLocalUnicast": _is_link_local_unicast,
    "isGlobalUnicast": _is_global_unicast,
    "cidr": _cidr,
    "isCIDR": _is_cidr,
    "containsIP": _contains_ip,
    "containsCIDR": _contains_cidr,
    "prefixLength": _prefix_length,
    "masked": _masked,
}
