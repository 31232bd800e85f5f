"""Session identity and placement. Pure."""

from __future__ import annotations

import hashlib

from streamauth.logic import shards, signing

SLOT = "~"  # <subscriberId>~<slot or identity>: a subscriber's sessions share one partition


def credential_ref(secret: str) -> str:
    """What stands for a token in records and events: 16 hex of its SHA-256, never the token."""
    return hashlib.sha256(secret.encode()).hexdigest()[:16]


def token_ref(token: str) -> str:
    """A presented token's reference: taken over its canonical form, so a re-encoded twin of a
    JWT (another base64 tail, an ES256 high-S signature) is the same credential."""
    return credential_ref(signing.canonical(token))


def session_key(
    server: str, server_id: str | None, server_session: str | None, stream_id: str, action: str, credential: str
) -> str:
    """The ONE identity of a session: the media server (its kind and registered id), the server's
    own identity for the session, the stream, the action and the credential it was admitted with;
    a done or update hook naming anything else is another session."""
    text = "\n".join((server, server_id or "", server_session or "", stream_id, action, credential))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


CREDENTIAL = "!"  # a JWT's or viewer JWT's partition owner: `!<ref>`, never a subscriber id


def credential_owner(ref: str) -> str:
    """The owner whose partition holds a counted JWT's (or viewer JWT's) sessions, as a
    subscriber's hold its own: `!` is no character of a subscriber id, so no subscriber can
    take a token's slots."""
    return CREDENTIAL + ref


def subscriber_session_id(subscriber_id: str, suffix: str | int) -> str:
    return f"{subscriber_id}{SLOT}{suffix}"


def slot_of(session_id: str) -> int | None:
    """The connection slot a subscriber session holds, or None for a session without a limit."""
    _, _, suffix = session_id.rpartition(SLOT)
    return int(suffix) if SLOT in session_id and suffix.isdigit() and len(suffix) <= 5 else None


def session_shard(session_id: str) -> int:
    """The session's partition: by subscriber for subscriber sessions (so one query finds all of
    a subscriber's sessions), by identity otherwise."""
    return shards.shard_of(session_id.split(SLOT, 1)[0])
