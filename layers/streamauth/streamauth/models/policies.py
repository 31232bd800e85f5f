"""Access policies (README "Access policies"): which client addresses, countries, origins and
protocols may use a stream or a credential, from when, and for how long a session may last.

A policy is attached to a stream (the operator's defaults: PUT /v2/broadcasts/{id}/policy) and
to a credential at issue (query parameters on .../token and .../jwt-token, a `policy` field on a
subscriber). Both apply: a credential's policy can only narrow its stream's. The rule that
judges a client against them is the one admission rule's (logic/admission.py `policy_verdict`);
this module parses, validates and matches.

Two forms: the API's (`to_dict`, camelCase names, lists) and the compact one (`compact`: short
keys, comma-joined lists), which JWTs carry as their signed `pol` claim and items store as
JSON text, so a typical policy keeps a JWT inside nginx-rtmp's 255-byte name+args.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from streamauth.errors import BadRequest
from streamauth.models.common import MAX_UNIX_SECONDS, parse_int, parse_json_int

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

PROTOCOLS = ("rtmp", "rtsp", "srt", "webrtc", "hls")
MAX_CIDRS = 50
MAX_COUNTRIES = 250
MAX_ORIGINS = 10  # as Mux's allowed_domains
MAX_SESSION_SECONDS = 31 * 86_400
MAX_SESSIONS = 10_000  # as a subscriber's concurrentConnectionsLimit
MAX_BOUND = 50  # bindOnFirstUse: addresses kept on one item
MAX_SHARING_ADDRESSES = 50
MAX_SHARING_WINDOW = 86_400
MAX_BLOCK_SECONDS = 30 * 86_400
SHARING_ACTIONS = ("none", "refuse", "end", "block")
MAX_QUERY_LENGTH = 2500  # characters of one policy query parameter
_DEFAULT_PORTS = {"http": 80, "https": 443}

# What one list entry may be, written as openapi.yaml's patterns write it (tests/infrastructure/
# test_openapi.py holds each pattern equal to its parser): no spaces, no other notation (a
# netmask, a zero-padded prefix length, IPv4 inside IPv6, a zone id, port 0 or 08443).
_COUNTRY = re.compile(r"[A-Za-z]{2}")
_OCTET = "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_H = "[0-9A-Fa-f]{1,4}"
_CIDR = re.compile(
    rf"{_OCTET}(\.{_OCTET}){{3}}(/(3[0-2]|[12]?[0-9]))?"
    rf"|(({_H}:){{7}}{_H}|({_H}:){{1,7}}:|({_H}:){{1,6}}:{_H}|({_H}:){{1,5}}(:{_H}){{1,2}}"
    rf"|({_H}:){{1,4}}(:{_H}){{1,3}}|({_H}:){{1,3}}(:{_H}){{1,4}}|({_H}:){{1,2}}(:{_H}){{1,5}}"
    rf"|{_H}:(:{_H}){{1,6}}|:((:{_H}){{1,7}}|:))(/(12[0-8]|1[01][0-9]|[1-9]?[0-9]))?"
)
_LABEL = "[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_ORIGIN = re.compile(
    rf"(?P<scheme>[Hh][Tt][Tt][Pp][Ss]?)://(?P<host>(\*\.)?{_LABEL}(\.{_LABEL})*)"
    r"(:(?P<port>[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?/?"
)

# field name (API) -> compact key (JWT claim, stored item)
_COMPACT = {
    "allowCidrs": "a",
    "denyCidrs": "d",
    "allowCountries": "c",
    "denyCountries": "x",
    "allowOrigins": "o",
    "notBefore": "nb",
    "maxSessionSeconds": "ms",
    "protocols": "p",
    "maxSessions": "mx",
    "bindOnFirstUse": "b",
    "sharing": "sh",  # a stream's policy only
}
FIELDS = tuple(_COMPACT)
QUERY_FIELDS = tuple(name for name in FIELDS if name != "sharing")  # a credential's, at issue
LIST_FIELDS = ("allowCidrs", "denyCidrs", "allowCountries", "denyCountries", "allowOrigins", "protocols")
# sharing's fields (API) -> compact keys
_SHARING = {"addresses": "a", "countries": "c", "windowSeconds": "w", "action": "x", "blockSeconds": "b"}


@dataclass(frozen=True)
class Client:
    """What an enforcement point knows of the client it asks about. `address`: as the media
    server saw the connection (or nginx's X-Real-IP, or API Gateway's source address: never a
    header the client sets); `country`: ISO 3166 alpha-2 from the CDN's header (None: the rule looks
    the address up offline, logic/geo.py); `origin`: the
    browser's Origin (or the Referer's origin); `protocol`: one of PROTOCOLS. None: unknown."""

    address: str | None = None
    country: str | None = None
    origin: str | None = None
    protocol: str | None = None
    browser: bool = False  # an HTTP player (HLS/DASH, CloudFront): origins are judged


@dataclass(frozen=True)
class Sharing:
    """Sharing detection (a stream's policy): more than `addresses` distinct client addresses (or
    `countries` distinct countries) using one credential within `window_seconds` is suspected
    sharing: CredentialSharingSuspected, then `action`: none, refuse (new sessions of the
    credential, for the window), end (its sessions too) or block (a stored subscriber, for
    `block_seconds`; any other credential is refused and its sessions ended for that long)."""

    addresses: int | None = None
    countries: int | None = None
    window_seconds: int = 600
    action: str = "none"
    block_seconds: int = 300

    @property
    def hold_ms(self) -> int:
        """How long a suspicion refuses the credential (and is not raised again)."""
        return (self.block_seconds if self.action == "block" else self.window_seconds) * 1000

    def to_dict(self) -> dict[str, Any]:
        return {
            "addresses": self.addresses,
            "countries": self.countries,
            "windowSeconds": self.window_seconds,
            "action": self.action,
            "blockSeconds": self.block_seconds,
        }

    def compact(self) -> dict[str, Any]:
        return {_SHARING[name]: value for name, value in self.to_dict().items() if value is not None}


def parse_address(text: str | None) -> Address | None:
    """A client address as a media server reports it, or None: an IPv4-mapped IPv6 address is its
    IPv4 address (a dual-stack socket's view of an IPv4 client), a zone id is dropped."""
    if not text:
        return None
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0].strip("[]"))
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def country_of(header: str | None) -> str | None:
    """A country from a CDN's header (CloudFront-Viewer-Country: ISO 3166-1 alpha-2), upper case;
    anything else is no country."""
    return header.upper() if header and _COUNTRY.fullmatch(header) else None


def origin_of(origin: str | None, referer: str | None = None) -> str | None:
    """The origin a browser request names: its Origin header (not "null"), else its Referer's
    scheme://host[:port]; lower case, default port dropped. None: neither names one."""
    for candidate in (origin, referer):
        if not candidate or candidate == "null" or len(candidate) > 2048:
            continue
        normal = _normal_origin(candidate)
        if normal is not None:
            return normal
    return None


def _normal_origin(text: str) -> str | None:
    try:
        parts = urlsplit(text.strip())
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    suffix = f":{port}" if port is not None and port != _DEFAULT_PORTS[scheme] else ""
    return f"{scheme}://{host}{suffix}"


@dataclass(frozen=True)
class Policy:
    allow_cidrs: tuple[Network, ...] = ()
    deny_cidrs: tuple[Network, ...] = ()
    allow_countries: tuple[str, ...] = ()
    deny_countries: tuple[str, ...] = ()
    allow_origins: tuple[str, ...] = ()  # scheme://host[:port], the host may start with "*."
    not_before: int | None = None  # unix s
    max_session_seconds: int | None = None
    protocols: tuple[str, ...] = ()  # empty: every protocol
    max_sessions: int | None = None  # live sessions of one credential (logic/admission.py session_cap)
    bind_on_first_use: int | None = None  # the first N client addresses are the only ones admitted
    sharing: Sharing | None = None  # a stream's policy only

    # -- matching (the rule that says which reason is logic/admission.py's) -------------------
    def address_allowed(self, address: Address | None) -> bool:
        """Not in a denied network, and in an allowed one when any is listed. An unknown address
        is allowed only when the policy names no network at all."""
        if not self.allow_cidrs and not self.deny_cidrs:
            return True
        if address is None:
            return False
        if any(address in network for network in self.deny_cidrs if network.version == address.version):
            return False
        if not self.allow_cidrs:
            return True
        return any(address in network for network in self.allow_cidrs if network.version == address.version)

    def country_allowed(self, country: str | None) -> bool:
        """An allow list refuses an unknown country; a deny list cannot match one."""
        if self.allow_countries and (country is None or country not in self.allow_countries):
            return False
        return country is None or country not in self.deny_countries

    def origin_allowed(self, origin: str | None) -> bool:
        if not self.allow_origins:
            return True
        if origin is None:
            return False
        return any(_origin_matches(pattern, origin) for pattern in self.allow_origins)

    def protocol_allowed(self, protocol: str | None) -> bool:
        return not self.protocols or protocol in self.protocols

    @property
    def empty(self) -> bool:
        return self == Policy()

    # -- forms ----------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The API's form: every field, lists and numbers (null: not set)."""
        return {
            "allowCidrs": [str(n) for n in self.allow_cidrs],
            "denyCidrs": [str(n) for n in self.deny_cidrs],
            "allowCountries": list(self.allow_countries),
            "denyCountries": list(self.deny_countries),
            "allowOrigins": list(self.allow_origins),
            "notBefore": self.not_before,
            "maxSessionSeconds": self.max_session_seconds,
            "protocols": list(self.protocols),
            "maxSessions": self.max_sessions,
            "bindOnFirstUse": self.bind_on_first_use,
            "sharing": None if self.sharing is None else self.sharing.to_dict(),
        }

    def compact(self) -> dict[str, Any]:
        """Short keys, comma-joined lists, unset fields left out: a JWT's `pol` claim, an item's."""
        out: dict[str, Any] = {}
        for name, value in self.to_dict().items():
            if value is None or value == []:
                continue
            if name == "sharing":
                assert self.sharing is not None
                out[_COMPACT[name]] = self.sharing.compact()
                continue
            out[_COMPACT[name]] = ",".join(value) if isinstance(value, list) else value
        return out

    def compact_json(self) -> str:
        return json.dumps(self.compact(), separators=(",", ":"))


def _origin_matches(pattern: str, origin: str) -> bool:
    if not pattern.split("://", 1)[-1].startswith("*."):
        return pattern == origin
    scheme, rest = pattern.split("://", 1)
    suffix = rest[1:]  # ".example.com[:port]"
    o_scheme, o_rest = origin.split("://", 1)
    return o_scheme == scheme and o_rest.endswith(suffix) and len(o_rest) > len(suffix)


# -- parsing -------------------------------------------------------------------------------------
def _list(value: object, field: str, limit: int) -> list[str]:
    """A JSON list of strings, or a comma-joined string (a query parameter, the compact form),
    taken as written: an entry with spaces around it is refused, not trimmed (the patterns say so)."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        items = value.split(",")
    elif isinstance(value, list) and all(isinstance(item, str) for item in value):
        items = list(value)
    else:
        raise BadRequest(field, "must be a list of strings (or a comma-separated string)")
    if len(items) > limit:
        raise BadRequest(field, f"must hold at most {limit} entries")
    for item in items:
        if not item:
            raise BadRequest(field, "must not hold an empty entry")
        if item != item.strip():
            raise BadRequest(field, f"{item[:64]!r} has spaces around it: write the entries with none (a,b)")
    return items


def _networks(value: object, field: str) -> tuple[Network, ...]:
    networks: list[Network] = []
    for item in _list(value, field, MAX_CIDRS):
        if not _CIDR.fullmatch(item):
            raise BadRequest(field, f"{item[:64]!r} is not an IPv4 or IPv6 network in CIDR notation (203.0.113.0/24)")
        try:
            networks.append(ipaddress.ip_network(item, strict=True))
        except ValueError as exc:  # host bits set: no silent widening, name the network meant
            meant = ipaddress.ip_network(item, strict=False)
            raise BadRequest(field, f"{item!r} has host bits set (did you mean {meant}?)") from exc
    return tuple(dict.fromkeys(networks))


def _countries(value: object, field: str) -> tuple[str, ...]:
    countries = []
    for item in _list(value, field, MAX_COUNTRIES):
        if not _COUNTRY.fullmatch(item):
            raise BadRequest(field, f"{item[:16]!r} is not an ISO 3166-1 alpha-2 country code (two letters, e.g. DE)")
        countries.append(item.upper())
    return tuple(dict.fromkeys(countries))


def _origins(value: object, field: str) -> tuple[str, ...]:
    """scheme://host[:port] (a trailing '/' allowed), lower case, the default port dropped."""
    origins = []
    for item in _list(value, field, MAX_ORIGINS):
        match = _ORIGIN.fullmatch(item)
        if match is None:
            raise BadRequest(field, f"{item[:64]!r} must be an origin: http(s)://host[:port] (the host may start '*.')")
        scheme, host, port = match["scheme"].lower(), match["host"].lower(), match["port"]
        suffix = f":{port}" if port is not None and int(port) != _DEFAULT_PORTS[scheme] else ""
        origins.append(f"{scheme}://{host}{suffix}")
    return tuple(dict.fromkeys(origins))


def _protocols(value: object, field: str) -> tuple[str, ...]:
    protocols = _list(value, field, len(PROTOCOLS))
    for item in protocols:
        if item not in PROTOCOLS:
            raise BadRequest(field, f"{item[:16]!r} is not one of {', '.join(PROTOCOLS)}")
    return tuple(p for p in PROTOCOLS if p in protocols)


def _build(values: Mapping[str, object], integer: Any) -> Policy:
    def number(name: str, minimum: int, maximum: int) -> int | None:
        value = values.get(name)
        return None if value is None or value == "" else integer(value, name, minimum=minimum, maximum=maximum)

    policy = Policy(
        allow_cidrs=_networks(values.get("allowCidrs"), "allowCidrs"),
        deny_cidrs=_networks(values.get("denyCidrs"), "denyCidrs"),
        allow_countries=_countries(values.get("allowCountries"), "allowCountries"),
        deny_countries=_countries(values.get("denyCountries"), "denyCountries"),
        allow_origins=_origins(values.get("allowOrigins"), "allowOrigins"),
        not_before=number("notBefore", 0, MAX_UNIX_SECONDS),
        max_session_seconds=number("maxSessionSeconds", 1, MAX_SESSION_SECONDS),
        protocols=_protocols(values.get("protocols"), "protocols"),
        max_sessions=number("maxSessions", 1, MAX_SESSIONS),
        bind_on_first_use=number("bindOnFirstUse", 1, MAX_BOUND),
        sharing=_sharing(values.get("sharing"), integer),
    )
    both = set(policy.allow_countries) & set(policy.deny_countries)
    if both:
        raise BadRequest("denyCountries", f"{', '.join(sorted(both))} is also in allowCountries: list it in one")
    return policy


def _sharing(value: object, integer: Any) -> Sharing | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise BadRequest("sharing", "must be a JSON object")
    unknown = sorted(set(value) - set(_SHARING))
    if unknown:
        raise BadRequest(f"sharing.{unknown[0][:64]}", f"is not a sharing field (one of {', '.join(_SHARING)})")

    def number(name: str, minimum: int, maximum: int) -> int | None:
        item = value.get(name)
        return None if item is None else integer(item, f"sharing.{name}", minimum=minimum, maximum=maximum)

    action = value.get("action", "none")
    if action not in SHARING_ACTIONS:
        raise BadRequest("sharing.action", f"must be one of {', '.join(SHARING_ACTIONS)}")
    sharing = Sharing(
        addresses=number("addresses", 1, MAX_SHARING_ADDRESSES),
        countries=number("countries", 1, MAX_SHARING_ADDRESSES),
        window_seconds=number("windowSeconds", 1, MAX_SHARING_WINDOW) or 600,
        action=action,
        block_seconds=number("blockSeconds", 1, MAX_BLOCK_SECONDS) or 300,
    )
    if sharing.addresses is None and sharing.countries is None:
        raise BadRequest("sharing.addresses", "is required (or sharing.countries): the threshold to detect past")
    return sharing


def parse_policy(value: object, field: str = "policy", *, stream: bool = False) -> Policy:
    """A policy from a JSON body (PUT .../policy with `stream`, a subscriber's `policy`): an object
    of the fields in FIELDS; an unknown field is a 400 naming it (a typo must not silently admit);
    `sharing` is a stream's field only."""
    if not isinstance(value, dict):
        raise BadRequest(field, "must be a JSON object")
    unknown = sorted(set(value) - set(FIELDS))
    if unknown:
        raise BadRequest(f"{field}.{unknown[0][:64]}", f"is not a policy field (one of {', '.join(FIELDS)})")
    if not stream and value.get("sharing") is not None:
        raise BadRequest(f"{field}.sharing", "is a stream policy field only (PUT /v2/broadcasts/{id}/policy)")
    try:
        for name in LIST_FIELDS:  # JSON lists here: the comma-joined text is the query's and the compact form's
            if value.get(name) is not None and not isinstance(value[name], list):
                raise BadRequest(name, 'must be a JSON list of strings (["a", "b"]) or null')
        return _build(value, parse_json_int)
    except BadRequest as exc:
        if stream or exc.field is None:  # a stream's body is the policy itself: its fields are named bare
            raise
        # a policy inside a body (a subscriber's, a viewer token's): its fields are named within it
        raise BadRequest(f"{field}.{exc.field}", exc.message.removeprefix(f"{exc.field}: ")) from None


def parse_policy_query(query: Mapping[str, str]) -> Policy | None:
    """A credential's policy from the issue request's query parameters (extras an Ant Media
    client never sends); None when it names none."""
    present = {name: query[name] for name in QUERY_FIELDS if query.get(name) not in (None, "")}
    for name, value in present.items():
        if len(value) > MAX_QUERY_LENGTH:
            raise BadRequest(name, f"must be at most {MAX_QUERY_LENGTH} characters")
    return _build(present, parse_int) if present else None


def policy_from_compact(value: object) -> Policy:
    """A policy from its compact form (a verified JWT's `pol` claim, an item's text). Raises
    BadRequest when it is not one: callers that read it from a token refuse the token."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise BadRequest("policy", "is not valid JSON") from exc
    if not isinstance(value, dict):
        raise BadRequest("policy", "must be an object")
    names = {key: name for name, key in _COMPACT.items()}
    unknown = set(value) - set(names)
    if unknown:
        raise BadRequest("policy", "holds an unknown field")
    values = {names[key]: item for key, item in value.items()}
    sharing = values.get("sharing")
    if isinstance(sharing, dict):
        long = {key: name for name, key in _SHARING.items()}
        values["sharing"] = {long.get(key, key): item for key, item in sharing.items()}
    return _build(values, parse_json_int)


def policy_text(policy: Policy | None) -> str | None:
    """The item's text for a policy (None: none, or an empty one)."""
    return None if policy is None or policy.empty else policy.compact_json()
