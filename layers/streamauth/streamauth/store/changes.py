"""DynamoDB Stream records → the typed events streamauth announces. Pure.

Details are built from an allow-list of attributes: never a token, secret, code or key.
A one-time token is named by `tokenRef` (the first 16 hex of its SHA-256), enough to
correlate TokenCreated/TokenConsumed/TokenExpired without revealing it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from streamauth.logic.sessions import credential_ref

DYNAMODB_SERVICE = "dynamodb.amazonaws.com"


@dataclass(frozen=True)
class Change:
    detail_type: str
    detail: dict[str, Any]


def _plain(image: dict[str, Any] | None) -> dict[str, Any]:
    """A stream image ({"S": ...}, {"N": ...}, ...) as plain values (strings, numbers, bools)."""
    plain: dict[str, Any] = {}
    for name, value in (image or {}).items():
        if not isinstance(value, dict) or len(value) != 1:
            continue
        ((kind, raw),) = value.items()
        if kind == "S":
            plain[name] = raw
        elif kind == "N":
            number = float(raw)
            plain[name] = int(number) if number.is_integer() else number
        elif kind == "BOOL":
            plain[name] = bool(raw)
    return plain


def _by_ttl(record: dict[str, Any]) -> bool:
    identity = record.get("userIdentity") or {}
    return identity.get("type") == "Service" and identity.get("principalId") == DYNAMODB_SERVICE


def changes(record: dict[str, Any]) -> list[Change]:
    """The events one stream record means (often none: counters, markers, states)."""
    name = record.get("eventName")
    data = record.get("dynamodb") or {}
    new, old = _plain(data.get("NewImage")), _plain(data.get("OldImage"))
    item = new or old
    kind = item.get("kind")
    if kind == "token":
        token = {
            "streamId": item.get("streamId"),
            "type": item.get("type"),
            "tokenRef": credential_ref(str(item.get("tokenId"))),
        }
        if name == "INSERT":
            return [Change("TokenCreated", {**token, "expireDate": item.get("expireDate")})]
        if name == "MODIFY" and "consumedBy" in new and "consumedBy" not in old:
            return [Change("TokenConsumed", token)]
        if name == "REMOVE" and _by_ttl(record):
            return [Change("TokenExpired", token)]
        return []
    if kind == "stream" and new.get("revokedAtMs") != old.get("revokedAtMs") and "revokedAtMs" in new:
        return [
            Change(
                "TokensRevoked",
                {"streamId": str(new.get("pk", "")).removeprefix("STREAM#"), "revokedAtMs": new["revokedAtMs"]},
            )
        ]
    if kind == "subscriber":
        subscriber = {"streamId": item.get("streamId"), "subscriberId": item.get("subscriberId")}
        if name == "INSERT":
            return [Change("SubscriberCreated", {**subscriber, "type": item.get("type")})]
        if name == "REMOVE":
            return [Change("SubscriberDeleted", subscriber)]
        if name == "MODIFY" and (new.get("blockedType"), new.get("blockedUntilMs")) != (
            old.get("blockedType"),
            old.get("blockedUntilMs"),
        ):
            if new.get("blockedType"):
                return [
                    Change(
                        "SubscriberBlocked",
                        {
                            **subscriber,
                            "blockedType": new["blockedType"],
                            "blockedUntilUnitTimeStampMs": new.get("blockedUntilMs", 0),
                        },
                    )
                ]
            return [Change("SubscriberUnblocked", subscriber)]
        return []
    if (
        kind == "credentialUse"
        and new.get("suspectedAtMs") is not None
        and new.get("suspectedAtMs") != old.get("suspectedAtMs")
    ):
        return [Change("CredentialSharingSuspected", _suspicion(new))]
    if kind == "session":
        session = {
            "streamId": item.get("streamId"),
            "sessionId": item.get("sk"),
            "action": item.get("action"),
            "server": item.get("server"),
            "subscriberId": item.get("subscriberId"),
        }
        if name == "INSERT":
            return [Change("SessionStarted", session)]
        if name == "REMOVE":
            return [Change("SessionEnded", {**session, "reason": "expired" if _by_ttl(record) else "ended"})]
    return []


def _suspicion(new: dict[str, Any]) -> dict[str, Any]:
    """CredentialSharingSuspected's detail: the credential by its reference (a token's hash, a
    subscriber's id: never the credential), the addresses and countries seen within the window,
    their counts, the window and the action taken (store/uses.py writes it as `evidence`)."""
    kind, _, ref = str(new.get("credential", "")).partition(":")
    detail: dict[str, Any] = {"streamId": new.get("streamId"), "credentialKind": kind}
    if kind == "subscriber":
        detail["subscriberId"] = ref.rpartition("@")[0]
    else:
        detail["credentialRef"] = ref
    try:
        evidence = json.loads(str(new.get("evidence") or "{}"))
    except ValueError:
        evidence = {}
    if isinstance(evidence, dict):
        detail.update(evidence)
    detail.update(suspectedAtMs=new.get("suspectedAtMs"), suspectedUntilMs=new.get("suspectedUntilMs"))
    return detail
