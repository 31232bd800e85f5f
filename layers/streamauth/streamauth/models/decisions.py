"""The decision log: what an enforcement point decided, and how an operator asks for it.

A `DecisionRecord` is one admission or refusal as an operator reads it back
(`GET /v2/broadcasts/{id}/decisions`): when, the stream and action, allowed or not, the reason
(logic/admission.py `Reason`, nothing else), the credential as a reference (`token:<16 hex of
its SHA-256>` or `subscriber:<id>`, as sessions name it; never the credential), the
subscriber, the session, the media server (its kind and registered id) and the client's address.

A listing's `next` is an opaque cursor: the position reached and a check over it and the query
it came from (the stream, the session and the filters), so a cursor edited, cut or taken from
another query is a 400 naming `next`, never a page of something else. The check is a hash, not
a signature: one who reads the code can make a cursor, which positions them in a listing their
`read` scope shows them anyway.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from streamauth.errors import BadRequest
from streamauth.logic.admission import Reason
from streamauth.models.common import Action, parse_int
from streamauth.models.subscribers import parse_subscriber_id

LIMIT_DEFAULT = 50
LIMIT_MAX = 100
NO_CREDENTIAL = "none"  # the client presented nothing (missing_credentials)
# A decision's sort key: its time (13 digits of ms, so keys sort by time) and 16 random hex.
SORT_KEY = re.compile(r"[0-9]{13}#[0-9a-f]{16}")
ADDRESS = re.compile(r"[0-9A-Za-z.:%\-\[\]]{1,64}")  # an IPv4/IPv6 address as the servers send it
MAX_MS = 10**13 - 1
QUERY_PARAMETERS = frozenset({"reason", "subscriberId", "address", "since", "limit", "next"})


@dataclass(frozen=True)
class DecisionRecord:
    at_ms: int
    stream_id: str
    action: Action
    allowed: bool
    reason: Reason
    credential: str  # a reference (models/sessions.py CredentialRef.ref form), never the credential
    subscriber_id: str | None = None
    session_id: str | None = None
    server: str | None = None  # the media server's kind (nginx-rtmp, srs, ...), http, cloudfront, api
    server_id: str | None = None  # the registered media server (its hook URL's ?server=)
    address: str | None = None  # the client's address

    def to_dict(self) -> dict[str, Any]:
        """The API's shape: optional fields only when known."""
        body: dict[str, Any] = {
            "at": self.at_ms,
            "streamId": self.stream_id,
            "action": self.action,
            "allowed": self.allowed,
            "reason": str(self.reason),
            "credential": self.credential,
        }
        optional = {
            "subscriberId": self.subscriber_id,
            "sessionId": self.session_id,
            "server": self.server,
            "serverId": self.server_id,
            "address": self.address,
        }
        body.update({name: value for name, value in optional.items() if value})
        return body


@dataclass(frozen=True)
class DecisionQuery:
    """A listing: newest first, `limit` per page, after the position `before` (a sort key)."""

    stream_id: str
    session_id: str | None = None
    reason: Reason | None = None
    subscriber_id: str | None = None
    address: str | None = None
    since_ms: int | None = None
    limit: int = LIMIT_DEFAULT
    before: str | None = None  # the sort key the previous page ended at (from `next`)

    def scope(self, sort_key: str) -> str:
        """A cursor's check: over its position and everything of the query but the page size."""
        text = "\n".join(
            (
                self.stream_id,
                self.session_id or "",
                self.reason or "",
                self.subscriber_id or "",
                self.address or "",
                "" if self.since_ms is None else str(self.since_ms),
                sort_key,
            )
        )
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def matches(self, record: DecisionRecord) -> bool:
        return (
            (self.session_id is None or record.session_id == self.session_id)
            and (self.reason is None or record.reason == self.reason)
            and (self.subscriber_id is None or record.subscriber_id == self.subscriber_id)
            and (self.address is None or record.address == self.address)
        )


def encode_cursor(sort_key: str, query: DecisionQuery) -> str:
    raw = f"{sort_key}|{query.scope(sort_key)}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str, query: DecisionQuery) -> str:
    """The sort key a cursor holds, or 400 naming `next` (malformed, edited, or another query's)."""
    if len(text) > 64 or not re.fullmatch(r"[A-Za-z0-9_\-]+", text):
        raise BadRequest("next", "is not a cursor this listing handed out: start again without it")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode("ascii")
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise BadRequest("next", "is not a cursor this listing handed out: start again without it") from exc
    sort_key, _, scope = raw.partition("|")
    if not SORT_KEY.fullmatch(sort_key) or scope != query.scope(sort_key):
        raise BadRequest("next", "is not a cursor of this listing (other filters or edited): start again without it")
    return sort_key


def parse_reason(value: str) -> Reason:
    try:
        return Reason(value)
    except ValueError:
        raise BadRequest("reason", "must be one of " + ", ".join(r.value for r in Reason)) from None


def parse_address(value: str) -> str:
    if not ADDRESS.fullmatch(value):
        raise BadRequest("address", "must be an IPv4 or IPv6 address (1-64 characters)")
    return value


def parse_decision_query(
    stream_id: str, params: Mapping[str, str] | None, session_id: str | None = None
) -> DecisionQuery:
    """`?reason=&subscriberId=&address=&since=&limit=&next=` (each optional), each checked: a bad
    one is a 400 naming it; an unknown parameter too (a typo must not list everything)."""
    params = params or {}
    for name in params:
        if name not in QUERY_PARAMETERS:
            raise BadRequest(name, "is not a parameter of this listing: " + ", ".join(sorted(QUERY_PARAMETERS)))

    def given(name: str) -> str | None:
        value = params.get(name)
        return value if value not in (None, "") else None

    reason, subscriber, address, since, limit = (
        given(n) for n in ("reason", "subscriberId", "address", "since", "limit")
    )
    query = DecisionQuery(
        stream_id,
        session_id,
        parse_reason(reason) if reason is not None else None,
        parse_subscriber_id(subscriber) if subscriber is not None else None,
        parse_address(address) if address is not None else None,
        parse_int(since, "since", minimum=0, maximum=MAX_MS) if since is not None else None,
        parse_int(limit, "limit", minimum=1, maximum=LIMIT_MAX) if limit is not None else LIMIT_DEFAULT,
    )
    cursor = given("next")
    if cursor is None:
        return query
    return DecisionQuery(
        query.stream_id,
        query.session_id,
        query.reason,
        query.subscriber_id,
        query.address,
        query.since_ms,
        query.limit,
        decode_cursor(cursor, query),
    )
