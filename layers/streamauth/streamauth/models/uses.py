"""What is kept about one credential's uses (access policies' stateful half, README "Access
policies"): the client addresses it is bound to (`bindOnFirstUse`), the addresses and countries
seen recently (sharing detection) and until when it is suspected of being shared."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Uses:
    bound: frozenset[str] = frozenset()  # the addresses it admits (at most bindOnFirstUse)
    seen: dict[str, tuple[int, str | None]] = field(default_factory=dict)  # address -> (ms, country)
    suspected_until_ms: int = 0


@dataclass(frozen=True)
class Evidence:
    """What CredentialSharingSuspected carries: never the credential, its reference."""

    addresses: tuple[str, ...]
    countries: tuple[str, ...]
    window_seconds: int
    action: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "addresses": list(self.addresses),
            "countries": list(self.countries),
            "addressCount": len(self.addresses),
            "countryCount": len(self.countries),
            "windowSeconds": self.window_seconds,
            "action": self.action,
        }
