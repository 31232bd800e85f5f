"""Rotating the ES256 signing keys: Secrets Manager's four rotation steps on SigningKeysSecret
(AWS Secrets Manager User Guide, "Lambda rotation functions"; the generic rotation template,
aws-samples/aws-secrets-manager-rotation-lambdas SecretsManagerRotationTemplate):

- createSecret: the key set after this rotation (logic/keyset.py `plan`: retired keys dropped,
  a next key added that signs `lead` from now) as the AWSPENDING version, unless it exists;
- setSecret: publish it: its public parts and times go to PublicSigningKeysSecret, which the
  verifiers and the JWKS endpoint read (before a single token is signed with a new key);
- testSecret: every key loads, one signs now, a probe token it signs verifies with the key as
  published;
- finishSecret: AWSPENDING becomes AWSCURRENT (signers read it within their secret cache), then
  each registered MediaMTX is asked to pull the JWKS again (`POST /v3/auth/jwks/refresh`).

Each step can run again (Secrets Manager retries): it does nothing twice. The same plan runs by
hand with `make rotate-keys` (tools/localapi) and at the stack's first rotation, which fills the
empty secret with a first key that signs at once.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from streamauth.errors import ConfigurationError
from streamauth.logic import keyset, kicks, signing
from streamauth.media_api import Reply, Unreachable
from streamauth.models.media_servers import Registry
from streamauth.models.signing_keys import (
    PrivateSigningKey,
    parse_public_keys,
    parse_signing_keys,
    public_keys_document,
    signing_keys_document,
)

PENDING = "AWSPENDING"
CURRENT = "AWSCURRENT"
STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")


class RotationError(Exception):
    """The rotation cannot go on: Secrets Manager records the failure and tries again later."""


@dataclass(frozen=True)
class Refreshed:
    server_id: str
    status: str  # "ok", an HTTP status, or why it was not reached


@dataclass
class Rotation:
    client: Any  # Secrets Manager
    signing_arn: str  # SigningKeysSecret: the only secret this rotates
    public_arn: str  # PublicSigningKeysSecret: where the public parts are published
    timeline: keyset.Timeline
    registry: Callable[[], Registry]
    send: Callable[[kicks.KickRequest], Reply]
    generate: Callable[[int], PrivateSigningKey] = keyset.generate_key
    refreshed: list[Refreshed] = field(default_factory=list)

    def run(self, secret_id: str, token: str, step: str, now: int) -> str:
        """One step of one rotation; what it did."""
        if step not in STEPS:
            raise RotationError(f"unknown step {step!r}")
        metadata = self.client.describe_secret(SecretId=secret_id)
        if metadata.get("ARN") != self.signing_arn:
            raise RotationError("this function rotates the deployment's SigningKeysSecret only")
        if not metadata.get("RotationEnabled"):
            raise RotationError("the secret is not enabled for rotation")
        versions: dict[str, list[str]] = metadata.get("VersionIdsToStages") or {}
        if token not in versions:
            raise RotationError("the version has no stage for rotation")
        if CURRENT in versions[token]:
            return "already current"
        if PENDING not in versions[token]:
            raise RotationError("the version is not AWSPENDING")
        if step == "createSecret":
            return self.create(token, now)
        if step == "setSecret":
            return self.publish(token)
        if step == "testSecret":
            return self.test(token, now)
        return self.finish(token, versions)

    def _keys(self, **version: str) -> tuple[PrivateSigningKey, ...]:
        reply = self.client.get_secret_value(SecretId=self.signing_arn, **version)
        return parse_signing_keys(str(reply.get("SecretString") or ""))

    def create(self, token: str, now: int) -> str:
        current = self._keys(VersionStage=CURRENT)
        try:
            self.client.get_secret_value(SecretId=self.signing_arn, VersionId=token, VersionStage=PENDING)
            return "pending version exists"
        except self.client.exceptions.ResourceNotFoundException:
            pass
        planned = keyset.plan(current, now, self.timeline, self.generate)
        self.client.put_secret_value(
            SecretId=self.signing_arn,
            ClientRequestToken=token,
            SecretString=signing_keys_document(planned),
            VersionStages=[PENDING],
        )
        return describe(planned, now)

    def publish(self, token: str) -> str:
        pending = self._keys(VersionId=token, VersionStage=PENDING)
        public = [keyset.public_of(key) for key in pending]
        self.client.put_secret_value(SecretId=self.public_arn, SecretString=public_keys_document(public))
        return f"published {len(public)} public keys"

    def test(self, token: str, now: int) -> str:
        pending = self._keys(VersionId=token, VersionStage=PENDING)
        reply = self.client.get_secret_value(SecretId=self.public_arn)
        published = {k.kid: k for k in parse_public_keys(str(reply.get("SecretString") or ""))}
        for key in pending:
            public = keyset.public_of(key)  # loads: a key that does not raises
            if published.get(key.kid) != public:
                raise RotationError(f"key {key.kid} is not published as it is (setSecret)")
        signer = keyset.current(pending, now)
        if signer is None:
            raise RotationError("no key of the new set signs now")
        probe = signing.encode(
            {"sub": "rotation-test", "iat": now, "exp": now + 60},
            keyset.load_private(signer.private_key),
            "ES256",
            signer.kid,
        )
        as_published = published[signer.kid]
        verifier = keyset.load_public(as_published.x, as_published.y)
        signing.decode(probe, verifier, now, require=("exp",), algorithm=signing.ES256)
        return f"key {signer.kid} signs and verifies"

    def finish(self, token: str, versions: dict[str, list[str]]) -> str:
        current = next((v for v, stages in versions.items() if CURRENT in stages), None)
        self.client.update_secret_version_stage(
            SecretId=self.signing_arn, VersionStage=CURRENT, MoveToVersionId=token, RemoveFromVersionId=current
        )
        self.client.update_secret_version_stage(
            SecretId=self.signing_arn, VersionStage=PENDING, RemoveFromVersionId=token
        )
        self.refreshed = refresh_mediamtx(self.registry, self.send)
        outcomes = ", ".join(f"{r.server_id} {r.status}" for r in self.refreshed) or "none registered"
        return f"current; MediaMTX JWKS refresh: {outcomes}"


def describe(keys: list[PrivateSigningKey] | tuple[PrivateSigningKey, ...], now: float) -> str:
    """The set's keys and their states, for logs and `make rotate-keys`: ids and times, never keys."""
    parts = []
    for key in keys:
        state = keyset.state(keys, key.kid, now)
        since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(key.not_before))
        until = (
            "" if key.not_after is None else " until " + time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(key.not_after))
        )
        parts.append(f"{key.kid} {state} (signs from {since}{until})")
    return "; ".join(parts)


def refresh_mediamtx(registry: Callable[[], Registry], send: Callable[[kicks.KickRequest], Reply]) -> list[Refreshed]:
    """`POST /v3/auth/jwks/refresh` to each registered MediaMTX, once each; a failure is reported,
    never raised (MediaMTX pulls the JWKS hourly anyway, and every new key waits `lead` first)."""
    try:
        servers = [s for s in registry().servers if s.kind == "mediamtx"]
    except ConfigurationError as exc:
        return [Refreshed("registry", f"unreadable: {exc.message}")]
    outcomes = []
    for server in servers:
        try:
            reply = send(kicks.jwks_refresh(server))
            status = "ok" if 200 <= reply.status < 300 else f"HTTP {reply.status}"
        except Unreachable as exc:
            status = exc.reason
        outcomes.append(Refreshed(server.id, status))
    return outcomes


def rotation(client: Any | None = None) -> Rotation:
    """The deployment's rotation, from its settings and secrets."""
    from streamauth import media_api
    from streamauth.aws import secrets_client
    from streamauth.keys import secret_document
    from streamauth.models.media_servers import parse_registry
    from streamauth.service.jwt_codecs import timeline
    from streamauth.settings import get_settings

    arns = get_settings().secret_arns
    if not arns.get("signingKeys") or not arns.get("publicSigningKeys"):
        raise ConfigurationError("settings SIGNING_KEYS_SECRET_ARN and PUBLIC_SIGNING_KEYS_SECRET_ARN must be set")
    return Rotation(
        client or secrets_client(),
        arns["signingKeys"],
        arns["publicSigningKeys"],
        timeline(),
        lambda: secret_document("mediaServers", parse_registry),
        media_api.send,
    )


def local_rotation(private: str, now: int, timeline: keyset.Timeline) -> tuple[str, str, str]:
    """`make rotate-keys` on documents (the local secrets): the new private and public documents,
    and what the set is now."""
    planned = keyset.plan(parse_signing_keys(private), now, timeline, keyset.generate_key)
    public = [keyset.public_of(k) for k in planned]
    return signing_keys_document(planned), public_keys_document(public), describe(planned, now)


def empty_document() -> str:
    return json.dumps({"keys": []})
