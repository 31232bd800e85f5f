"""The access policies' stateful rules, pure (logic/admission.py `session_cap`, `bind_limit`,
`use_verdict`) and the event the change publisher makes of a suspicion (store/changes.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from streamauth.logic.admission import MAX_SEEN, Reason, bind_limit, session_cap, use_verdict
from streamauth.models.policies import Policy, Sharing, parse_policy, parse_policy_query
from streamauth.models.uses import Uses

NOW = 1_800_000_000.0
MS = int(NOW * 1000)


def policy(**fields: Any) -> Policy:
    return parse_policy(fields, stream=True)


def test_the_cap_is_the_smallest_and_names_the_limit_that_binds() -> None:
    assert session_cap((None, None, None)) == (None, Reason.TOO_MANY_SESSIONS)
    assert session_cap((policy(maxSessions=3), policy(maxSessions=2), None)) == (2, Reason.TOO_MANY_SESSIONS)
    assert session_cap((policy(maxSessions=3),), 5) == (3, Reason.TOO_MANY_SESSIONS)
    assert session_cap((policy(maxSessions=3),), 3) == (3, Reason.CONNECTION_LIMIT)  # a tie: the subscriber's
    assert session_cap((None,), 1) == (1, Reason.CONNECTION_LIMIT)
    assert bind_limit((policy(bindOnFirstUse=3), policy(bindOnFirstUse=1))) == 1
    assert bind_limit((policy(maxSessions=3), None)) is None


def test_query_parameters_carry_the_credentials_stateful_fields_but_never_sharing() -> None:
    parsed = parse_policy_query({"maxSessions": "2", "bindOnFirstUse": "1", "sharing": "x"})
    assert parsed is not None and (parsed.max_sessions, parsed.bind_on_first_use, parsed.sharing) == (2, 1, None)


def test_binding_first_n_addresses() -> None:
    empty = Uses()
    first = use_verdict(empty, "10.0.0.1", None, 2, None, NOW)
    assert (first.reason, first.bind, first.writes) == (Reason.ALLOWED, True, True)
    full = Uses(bound=frozenset({"10.0.0.1", "10.0.0.2"}))
    assert use_verdict(full, "10.0.0.2", None, 2, None, NOW).writes is False  # known: no write
    assert use_verdict(full, "10.0.0.3", None, 2, None, NOW).reason is Reason.BOUND_ELSEWHERE
    assert use_verdict(full, None, None, 2, None, NOW).reason is Reason.ADDRESS_NOT_BINDABLE


SHARE = Sharing(addresses=2, window_seconds=600, action="refuse")


def seen(*addresses: str, age_s: int = 10, country: str | None = None) -> dict[str, tuple[int, str | None]]:
    return dict.fromkeys(addresses, (MS - age_s * 1000, country))


def test_sharing_counts_distinct_addresses_within_the_window() -> None:
    two = Uses(seen=seen("a1", "a2"))
    third = use_verdict(two, "a3", None, None, SHARE, NOW)
    assert third.reason is Reason.SHARING_SUSPECTED and third.suspected is not None
    assert third.suspected.addresses == ("a1", "a2", "a3") and third.suspected_until_ms == MS + 600_000
    old = Uses(seen=seen("a1", "a2", age_s=601))
    assert use_verdict(old, "a3", None, None, SHARE, NOW).reason is Reason.ALLOWED
    known = use_verdict(two, "a2", None, None, SHARE, NOW)
    assert (known.reason, known.writes) == (Reason.ALLOWED, False)
    stale = use_verdict(Uses(seen=seen("a1", age_s=301)), "a1", None, None, SHARE, NOW)
    assert stale.stamp  # past half the window: stamped again, so it keeps counting


def test_a_suspicion_refuses_for_its_hold_and_is_raised_once() -> None:
    held = Uses(seen=seen("a1", "a2", "a3"), suspected_until_ms=MS + 1)
    assert use_verdict(held, "a1", None, None, SHARE, NOW).reason is Reason.SHARING_SUSPECTED
    none = Sharing(addresses=2, action="none")
    again = use_verdict(held, "a4", None, None, none, NOW)
    assert again.reason is Reason.ALLOWED and again.suspected is None  # action none: admitted, not raised again
    block = Sharing(addresses=2, action="block", block_seconds=30)
    assert use_verdict(Uses(seen=seen("a1", "a2")), "a3", None, None, block, NOW).suspected_until_ms == MS + 30_000


def test_countries_count_apart_and_an_address_seen_from_another_country_is_stamped() -> None:
    countries = Sharing(countries=1, action="refuse")
    uses = Uses(seen={"a1": (MS - 1000, "DE")})
    assert use_verdict(uses, "a2", "DE", None, countries, NOW).reason is Reason.ALLOWED
    assert use_verdict(uses, "a2", "FR", None, countries, NOW).reason is Reason.SHARING_SUSPECTED
    moved = use_verdict(uses, "a1", "FR", None, countries, NOW)  # one address: its latest country counts
    assert moved.stamp and moved.reason is Reason.ALLOWED


def test_the_seen_addresses_are_bounded() -> None:
    many = Uses(seen=seen(*(f"a{n}" for n in range(MAX_SEEN))), suspected_until_ms=MS + 1)
    one_more = use_verdict(many, "new", None, None, Sharing(addresses=50, action="none"), NOW)
    assert one_more.writes is False  # already past any threshold: the item does not grow


def test_a_suspicion_becomes_one_event_with_evidence_and_no_credential() -> None:
    from streamauth.store.changes import changes

    evidence = {"addresses": ["a1", "a2", "a3"], "countries": [], "addressCount": 3, "windowSeconds": 600}
    new = {
        "kind": {"S": "credentialUse"},
        "credential": {"S": "subscriber:alice@123"},
        "streamId": {"S": "cam1"},
        "suspectedAtMs": {"N": str(MS)},
        "suspectedUntilMs": {"N": str(MS + 600_000)},
        "evidence": {"S": json.dumps(evidence)},
        "@a1": {"S": f"{MS}|"},
    }
    record = {"eventName": "MODIFY", "dynamodb": {"NewImage": new, "OldImage": {k: new[k] for k in ("kind",)}}}
    (change,) = changes(record)
    assert change.detail_type == "CredentialSharingSuspected"
    assert change.detail["subscriberId"] == "alice" and change.detail["addressCount"] == 3
    same = {"eventName": "MODIFY", "dynamodb": {"NewImage": new, "OldImage": new}}
    assert changes(same) == []  # a later stamp of the same suspicion is no second event


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"sharing": {"addresses": 2, "blockSeconds": 0}}, "sharing.blockSeconds"),
        ({"sharing": {"countries": "2"}}, "sharing.countries"),
        ({"sharing": []}, "sharing"),
        ({"maxSessions": 10_001}, "maxSessions"),
    ],
)
def test_bad_stateful_fields_name_themselves(fields: dict[str, Any], field: str) -> None:
    from streamauth.errors import BadRequest

    with pytest.raises(BadRequest) as raised:
        parse_policy(fields, stream=True)
    assert raised.value.field == field


def test_a_suspicion_is_judged_again_on_what_the_write_left() -> None:
    from streamauth.logic.admission import suspicion

    after = Uses(seen=seen("a1", "a2", "a3"))  # racers' addresses landed with this use's
    raised = suspicion(after, SHARE, NOW)
    assert raised is not None and raised.reason is Reason.SHARING_SUSPECTED and raised.suspected is not None
    assert raised.suspected.addresses == ("a1", "a2", "a3")
    assert suspicion(Uses(seen=seen("a1", "a2")), SHARE, NOW) is None
    assert suspicion(Uses(seen=after.seen, suspected_until_ms=MS + 1), SHARE, NOW) is None  # one stands
