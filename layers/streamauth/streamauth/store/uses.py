"""One credential's uses (models/uses.py) in DynamoDB: `USES#<streamId>#<credential>` / `USES`,
one item (one partition) per credential, deleted by TTL when the credential expires.

Bound addresses are a string set grown by a conditional ADD (never past the policy's
bindOnFirstUse, however many first uses race); each address seen recently is an attribute of
its own (`@<address>` = "<ms>|<country>"), pruned in the same write; a suspicion is set by a
write that holds only when none stands (one CredentialSharingSuspected per hold, announced from
the table's stream by the change publisher: store/changes.py)."""

from __future__ import annotations

import json
from typing import Any

from streamauth.logic.admission import UseVerdict
from streamauth.models.uses import Uses
from streamauth.store.base import TTL_ATTRIBUTE, ConditionFailed, TableStore, call, get_n, n, s

PREFIX = "USES#"
SK = "USES"
SEEN = "@"  # an attribute per address seen recently


def uses_key(stream_id: str, credential: str) -> dict[str, Any]:
    return {"pk": s(f"{PREFIX}{stream_id}#{credential}"), "sk": s(SK)}


def _uses(item: dict[str, Any] | None) -> Uses:
    if not item:
        return Uses()
    seen: dict[str, tuple[int, str | None]] = {}
    for name, value in item.items():
        if name.startswith(SEEN) and "S" in value:
            ms, _, country = value["S"].partition("|")
            if ms.isdigit():
                seen[name[len(SEEN) :]] = (int(ms), country or None)
    bound = frozenset(item.get("bound", {}).get("SS", ()))
    return Uses(bound, seen, get_n(item, "suspectedUntilMs") or 0)


class UseStore(TableStore):
    def get(self, stream_id: str, credential: str) -> Uses:
        reply = call(
            self._client.get_item, TableName=self._table, Key=uses_key(stream_id, credential), ConsistentRead=True
        )
        return _uses(reply.get("Item"))

    def record(
        self,
        stream_id: str,
        credential: str,
        verdict: UseVerdict,
        address: str,
        country: str | None,
        bound_to: int | None,
        stale: list[str],
        expires_at: int | None,
        now: float,
        use_id: str,
    ) -> Uses | None:
        """The ONE write a use with a new (or long unseen) address makes: bind it, stamp it, raise
        a suspicion, as `verdict` says; the item as the write left it (racers' addresses in it).
        None (nothing written) when a race lost: the bound set filled, or another use raised the
        suspicion first; the caller reads again."""
        now_ms = int(now * 1000)
        names: dict[str, str] = {}
        values: dict[str, Any] = {":kind": s("credentialUse"), ":stream": s(stream_id), ":cred": s(credential)}
        sets = ["kind = :kind", "streamId = :stream", "credential = :cred"]
        conditions: list[str] = []
        adds: list[str] = []
        if expires_at is not None:
            names["#exp"] = TTL_ATTRIBUTE
            values[":exp"] = n(expires_at)
            sets.append("#exp = :exp")
        if verdict.bind:
            values.update({":addr": s(address), ":bind": {"SS": [address]}, ":limit": n(bound_to or 0)})
            adds.append("bound :bind")
            conditions.append("(attribute_not_exists(bound) OR size(bound) < :limit OR contains(bound, :addr))")
        removes: list[str] = []
        if verdict.stamp:
            names["#seen"] = SEEN + address
            values[":stamp"] = s(f"{now_ms}|{country or ''}")
            sets.append("#seen = :stamp")
            for index, old in enumerate(a for a in stale if a != address):
                names[f"#old{index}"] = SEEN + old
                removes.append(f"#old{index}")
        if verdict.suspected is not None:
            _suspect(verdict, now_ms, use_id, sets, conditions, values)
        update = "SET " + ", ".join(sets)
        if adds:
            update += " ADD " + ", ".join(adds)
        if removes:
            update += " REMOVE " + ", ".join(removes)
        request: dict[str, Any] = {
            "TableName": self._table,
            "Key": uses_key(stream_id, credential),
            "UpdateExpression": update,
            "ExpressionAttributeValues": values,
            "ReturnValues": "ALL_NEW",
        }
        if names:
            request["ExpressionAttributeNames"] = names
        if conditions:
            request["ConditionExpression"] = " AND ".join(conditions)
        try:
            reply = call(self._client.update_item, **request)
        except ConditionFailed:
            return None
        return _uses(reply.get("Attributes"))

    def suspect(self, stream_id: str, credential: str, verdict: UseVerdict, now: float, use_id: str) -> bool:
        """Raise the suspicion a use's write revealed (racers' addresses landed with it): one more
        conditional write, only at the crossing; False when another use raised it first."""
        sets: list[str] = []
        conditions: list[str] = []
        values: dict[str, Any] = {}
        _suspect(verdict, int(now * 1000), use_id, sets, conditions, values)
        try:
            call(
                self._client.update_item,
                TableName=self._table,
                Key=uses_key(stream_id, credential),
                UpdateExpression="SET " + ", ".join(sets),
                ConditionExpression=" AND ".join(conditions),
                ExpressionAttributeValues=values,
            )
        except ConditionFailed:
            return False
        return True


def _suspect(
    verdict: UseVerdict, now_ms: int, use_id: str, sets: list[str], conditions: list[str], values: dict[str, Any]
) -> None:
    """The parts of a write that raise a suspicion: once per hold (none stands, or this very
    write, retried by the SDK after it was applied, raised it)."""
    assert verdict.suspected is not None
    values.update(
        {
            ":until": n(verdict.suspected_until_ms),
            ":nowms": n(now_ms),
            ":evidence": s(json.dumps(verdict.suspected.to_dict(), separators=(",", ":"))),
            ":use": s(use_id),
        }
    )
    sets += ["suspectedUntilMs = :until", "suspectedAtMs = :nowms", "evidence = :evidence", "suspectedBy = :use"]
    conditions.append("(attribute_not_exists(suspectedUntilMs) OR suspectedUntilMs <= :nowms OR suspectedBy = :use)")
