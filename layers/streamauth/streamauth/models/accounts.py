"""Service accounts (Reactive's `Authorization: Token <40 hex>` model)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from streamauth.errors import BadRequest
from streamauth.models.common import parse_text
from streamauth.models.principals import SCOPE_READ, SCOPE_SUBSCRIBERS_WRITE, SCOPE_TOKENS_WRITE, SCOPES

DEFAULT_SCOPES = (SCOPE_TOKENS_WRITE, SCOPE_SUBSCRIBERS_WRITE, SCOPE_READ)
ACCOUNT_ID = re.compile(r"sa_[0-9a-f]{16}")


@dataclass(frozen=True)
class Account:
    id: str
    name: str
    scopes: tuple[str, ...]
    created: int  # unix seconds
    last_used: int | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "scopes": list(self.scopes),
            "created": self.created,
            "lastUsed": self.last_used,
        }


@dataclass(frozen=True)
class CreateAccountRequest:
    name: str
    scopes: tuple[str, ...]

    @classmethod
    def parse(cls, body: dict[str, Any]) -> CreateAccountRequest:
        name = parse_text(body.get("name"), "name", required=True, max_length=64)
        scopes = body.get("scopes", list(DEFAULT_SCOPES))
        if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
            raise BadRequest("scopes", "must be a list of strings")
        unknown = sorted(set(scopes) - set(SCOPES))
        if unknown:
            raise BadRequest("scopes", f"unknown scope {unknown[0]!r}; known: {', '.join(SCOPES)}")
        if not scopes:
            raise BadRequest("scopes", "must name at least one scope")
        return cls(name=str(name), scopes=tuple(sorted(set(scopes))))


def parse_account_id(value: object) -> str:
    if not isinstance(value, str) or not ACCOUNT_ID.fullmatch(value):
        raise BadRequest("id", "must be a service account id (sa_ and 16 hex digits)")
    return value
