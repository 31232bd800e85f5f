"""Which decisions the log keeps, where and for how long. Pure.

Every refusal is kept (a renew refused too); an admission one time in ADMISSION_SAMPLE (README,
"Decision log": an admission is already recorded as its session, and writing each would add a
write to every admitted client); an allowed renew never. A decision is ONE item under
`DECISIONS#<streamId>#<shard>`, the shard drawn from the decision's own random id
(logic/shards.py), so a refusal flood on one stream, even from one address or with one
credential, spreads evenly over SHARDS partition keys: 100,000 refusals a minute are ~104
writes/s per key, a tenth of what a partition takes.
"""

from __future__ import annotations

from streamauth.logic.shards import shard_of

ADMISSION_SAMPLE = 100  # one admission in this many is logged
DAY = 86_400


def sort_key(at_ms: int, decision_id: str) -> str:
    """Time-ordered (13 digits of ms), unique by the decision's random id."""
    return f"{at_ms:013d}#{decision_id}"


def shard(decision_id: str) -> int:
    return shard_of(decision_id)


def kept(allowed: bool, renewal: bool, draw: float) -> bool:
    """Is this decision logged? Every refusal; an admission when `draw` (uniform in [0, 1)) says
    so; never a renewal allowed (a session already admitted, seen again: its record says so)."""
    if not allowed:
        return True
    return not renewal and draw < 1 / ADMISSION_SAMPLE


def expires_at(at_ms: int, days: int) -> int:
    """The TTL (unix seconds): `days` after the decision."""
    return at_ms // 1000 + days * DAY
