"""CloudFront signed cookies with a custom policy. Pure: keys, times and addresses come in.

The format is CloudFront's, as its Developer Guide gives it (docs.aws.amazon.com/AmazonCloudFront/
latest/DeveloperGuide/: "Set signed cookies using a custom policy",
private-content-setting-signed-cookie-custom-policy.html; "Using Linux commands and OpenSSL for
base64 encoding and encryption", private-content-linux-openssl.html):

- the policy is ONE statement, `{"Statement":[{"Resource":…,"Condition":{"DateLessThan":
  {"AWS:EpochTime":<unix s, unquoted>},"IpAddress":{"AWS:SourceIp":"<IPv4>/32"}}}]}`, UTF-8,
  every whitespace removed; the order of the conditions does not matter; `DateGreaterThan`
  (`{"AWS:EpochTime":…}`, "users are not allowed to access the object before" it) and
  `IpAddress` are optional; `IpAddress` is "either one IP address or one IP address range" in
  IPv4 CIDR only ("IP addresses in IPv6 format … are not supported"; "you can't set the policy to
  allow access if the client's IP address is in one of two separate ranges"), and a distribution
  serving such a policy should not enable IPv6; the `*` in Resource matches any characters;
  there is no negated condition (no `NotIpAddress`) and no country or Referer condition;
- `CloudFront-Policy` is that JSON base64-encoded, then `+` → `-`, `=` → `_`, `/` → `~`
  (`tr -- '+=/' '-_~'`);
- `CloudFront-Signature` is an RSA signature (PKCS #1 v1.5) of the same JSON bytes with SHA-1
  (`openssl sha1 -sign private_key.pem`), encoded the same way; SHA-256 when a fourth cookie,
  `CloudFront-Hash-Algorithm=SHA256`, says so;
- `CloudFront-Key-Pair-Id` is the ID of the CloudFront public key whose private key signed (a
  key of a trusted key group of the cache behaviour).

`cryptography` is imported inside `sign` (and the key is parsed in models/cloudfront.py): it
comes with CryptoLayer (layers/crypto), attached only to the functions that sign or verify, so
no other function pays its import.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from streamauth.models.policies import Policy, parse_address

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

POLICY = "CloudFront-Policy"
SIGNATURE = "CloudFront-Signature"
KEY_PAIR_ID = "CloudFront-Key-Pair-Id"
HASH_ALGORITHM = "CloudFront-Hash-Algorithm"
_URL_SAFE = str.maketrans("+=/", "-_~")


def encode(data: bytes) -> str:
    """CloudFront's base64: standard base64 on one line, `+=/` replaced by `-_~`."""
    return base64.b64encode(data).decode("ascii").translate(_URL_SAFE)


def resource_prefix(domain: str, path_prefix: str, stream_id: str) -> str:
    """The URL every file of the stream starts with: https://<domain>/<prefix>/<stream>/."""
    path = f"{path_prefix}/{stream_id}" if path_prefix else stream_id
    return f"https://{domain}/{path}/"


def source_ip_cidr(address: str | None) -> str | None:
    """The policy's `AWS:SourceIp` for one client address (`a.b.c.d/32`), or None when it has none
    CloudFront can match: no address, or an IPv6 one (IPv4-mapped IPv6 is its IPv4 address)."""
    parsed = parse_address(address)
    return f"{parsed}/32" if isinstance(parsed, ipaddress.IPv4Address) else None


@dataclass(frozen=True)
class Conditions:
    """What CloudFront itself checks on every request the cookies make: before `expires`
    (DateLessThan), not before `starts` (DateGreaterThan), from within `source_ip` (IpAddress)."""

    expires: int
    starts: int | None = None
    source_ip: str | None = None


def compile_policies(
    policies: Iterable[Policy | None], expires: int, now: float, address: str | None, bound: str | None
) -> Conditions:
    """The access policies an admission applied (the verdict already admitted this viewer at
    `address`), compiled into what CloudFront can enforce after it: `notBefore` as
    DateGreaterThan (the latest), `maxSessionSeconds` shortening DateLessThan to `now` plus it,
    and `allowCidrs` as IpAddress: the narrowest IPv4 network of theirs holding the viewer's
    address (networks holding one address nest, so the narrowest lies within every policy's
    list), unless the viewer is already `bound` to its /32, which is narrower. An IPv6 viewer's
    networks cannot be written (IPv4 only). The rest is judged at this grant only (README
    "Access policies": what CloudFront enforces)."""
    present = [p for p in policies if p is not None]
    starts = max((p.not_before for p in present if p.not_before is not None), default=None)
    for p in present:
        if p.max_session_seconds is not None:
            expires = min(expires, int(now) + p.max_session_seconds)
    return Conditions(expires, starts, bound or _allowed_network(present, address))


def _allowed_network(policies: list[Policy], address: str | None) -> str | None:
    parsed = parse_address(address)
    if not isinstance(parsed, ipaddress.IPv4Address):
        return None
    holding = [n for p in policies for n in p.allow_cidrs if n.version == 4 and parsed in n]
    return str(max(holding, key=lambda n: n.prefixlen)) if holding else None


def policy(resource: str, expires: int, source_ip: str | None, starts: int | None = None) -> bytes:
    """The custom policy's JSON, whitespace-free, as it is both encoded and signed."""
    condition: dict[str, Any] = {"DateLessThan": {"AWS:EpochTime": int(expires)}}
    if starts is not None:
        condition["DateGreaterThan"] = {"AWS:EpochTime": int(starts)}
    if source_ip is not None:
        condition["IpAddress"] = {"AWS:SourceIp": source_ip}
    statement = {"Statement": [{"Resource": resource, "Condition": condition}]}
    return json.dumps(statement, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sign(key: RSAPrivateKey, message: bytes, hash_algorithm: str) -> bytes:
    """RSASSA-PKCS1-v1_5 over `message` with SHA-1 (CloudFront's default) or SHA-256."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    digest = hashes.SHA256() if hash_algorithm == "SHA256" else hashes.SHA1()  # noqa: S303 - CloudFront's format
    return key.sign(message, padding.PKCS1v15(), digest)


def signed_cookies(
    key: RSAPrivateKey,
    key_pair_id: str,
    resource: str,
    expires: int,
    source_ip: str | None,
    hash_algorithm: str,
    starts: int | None = None,
) -> list[tuple[str, str]]:
    """The cookies' names and values, in the order CloudFront's guide lists them."""
    document = policy(resource, expires, source_ip, starts)
    cookies = [(POLICY, encode(document)), (SIGNATURE, encode(sign(key, document, hash_algorithm)))]
    cookies.append((KEY_PAIR_ID, key_pair_id))
    if hash_algorithm != "SHA1":
        cookies.append((HASH_ALGORITHM, hash_algorithm))
    return cookies


def jwt_expiry(token: str) -> int | None:
    """A JWT's `exp`, read WITHOUT checking its signature: only to bound a lifetime after the
    access decision has checked the token. None when it has no numeric exp."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error):
        return None
    exp = payload.get("exp") if isinstance(payload, dict) else None
    if isinstance(exp, bool) or not isinstance(exp, int | float):
        return None
    return int(exp)
