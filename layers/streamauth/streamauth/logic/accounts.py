"""Service-account keys: 40 lowercase hex from the OS's CSPRNG; only a peppered HMAC is stored."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

KEY = re.compile(r"[0-9a-f]{40}")


def new_key() -> str:
    return secrets.token_hex(20)


def new_account_id() -> str:
    return "sa_" + secrets.token_hex(8)


def key_hash(pepper: str, key: str) -> str:
    """What the table stores: a stolen table reveals no key, and without the pepper
    (in Secrets Manager) no guess can be checked offline."""
    return hmac.new(pepper.encode(), key.encode(), hashlib.sha256).hexdigest()


def is_key(value: str) -> bool:
    return KEY.fullmatch(value) is not None
