"""GET /api/v1/signing-keys: which published key is next, current or previous (the rule that
picks the signer and the verifiers, logic/keyset.py), when the next one signs, and when Secrets
Manager next rotates them (its schedule: DescribeSecret), through the real handlers and Secrets
Manager's rotation steps on moto."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from tests.conftest import Aws, FakeClock, call, event, reset_layer_state
from tests.integration.test_accounts_viewers import as_caller, authorize, create_account
from tests.integration.test_signing_keys import (
    es256,  # noqa: F401  (the stack after its first rotation)
    jwks,
    mediamtx_token,
    rotate,
    secret_of,
    start_rotation,
)


def schedule(context: dict[str, Any] | None = None) -> Any:
    evt = event("list_signing_keys") if context is None else as_caller("list_signing_keys", context)
    return call("ListSigningKeysFunction", evt)


def signer() -> str:
    """The kid the deployment signs with now (a MediaMTX token's header)."""
    header = mediamtx_token().body["token"].split(".")[0]
    kid: str = json.loads(base64.urlsafe_b64decode(header + "=="))["kid"]
    return kid


def test_an_empty_stack_has_no_keys_and_no_next_one(aws: Aws, clock: FakeClock) -> None:
    assert schedule().body == {"keys": [], "nextKeySignsAt": None, "nextRotationAt": None, "rotationDays": None}


def scheduled(aws: Aws, next_at: int | None, days: int | None = 30) -> None:
    """What the stack's RotationSchedule makes Secrets Manager hold for SigningKeysSecret (moto
    has no scheduler): rotation enabled, every `days`, next at `next_at`."""
    from moto.secretsmanager.models import secretsmanager_backends

    secret: Any = secretsmanager_backends["123456789012"]["us-east-1"].secrets[aws.secret_arns["SigningKeysSecret"]]
    secret.rotation_requested = secret.rotation_enabled = days is not None
    secret.auto_rotate_after_days = days or 0
    secret.next_rotation_date = next_at


@pytest.mark.usefixtures("es256")
def test_the_next_scheduled_rotation_is_secrets_managers_own(aws: Aws, clock: FakeClock) -> None:
    assert (schedule().body["nextRotationAt"], schedule().body["rotationDays"]) == (None, None)  # none scheduled
    next_at = int(clock()) + 17 * 86_400 + 5  # counted by Secrets Manager from ITS last rotation
    scheduled(aws, next_at, 30)
    reply = schedule().body
    assert (reply["nextRotationAt"], reply["rotationDays"]) == (next_at, 30)
    # a rotation (by hand or by the schedule) moves it: what Secrets Manager says, not a guess
    rotate(aws, start_rotation(aws))
    scheduled(aws, int(clock()) + 30 * 86_400, 30)
    assert schedule().body["nextRotationAt"] == int(clock()) + 30 * 86_400
    scheduled(aws, None, None)  # rotation turned off on the secret
    assert (schedule().body["nextRotationAt"], schedule().body["rotationDays"]) == (None, None)


@pytest.mark.usefixtures("es256")
def test_secrets_manager_unavailable_for_the_schedule_is_503(aws: Aws, clock: FakeClock) -> None:
    from botocore.exceptions import ClientError

    from streamauth.aws import secrets_client

    def throttled(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "x"}}, "DescribeSecret")

    schedule()  # the public keys are cached; DescribeSecret is asked each time
    secrets_client().meta.events.register("before-call.secrets-manager.DescribeSecret", throttled)
    try:
        reply = schedule()
    finally:
        secrets_client().meta.events.unregister("before-call.secrets-manager.DescribeSecret", throttled)
    assert reply.status == 503 and reply.body["success"] is False and "retry later" in reply.body["message"]


@pytest.mark.usefixtures("es256")
def test_the_states_follow_a_rotation_and_name_the_key_that_signs(aws: Aws, clock: FakeClock) -> None:
    from streamauth.service.jwt_codecs import timeline

    (only,) = schedule().body["keys"]
    assert only["state"] == "current" and only["kid"] == signer() and only["notAfter"] is None
    clock.advance(30 * 86_400)
    rotate(aws, start_rotation(aws))
    reply = schedule()
    assert [k["kid"] for k in reply.body["keys"]] == [k["kid"] for k in jwks().body["keys"]]  # the JWKS's order
    upcoming, signing = reply.body["keys"]
    assert (upcoming["state"], signing["state"]) == ("next", "current") and signing["kid"] == signer()
    assert reply.body["nextKeySignsAt"] == upcoming["notBefore"] == int(clock()) + timeline().lead
    assert signing["notAfter"] == upcoming["notBefore"] + timeline().grace
    clock.advance(timeline().lead)  # the next key signs now; the old one still verifies
    reset_layer_state()
    reply = schedule()
    assert [(k["kid"], k["state"]) for k in reply.body["keys"]] == [
        (upcoming["kid"], "current"),
        (signing["kid"], "previous"),
    ]
    assert signer() == upcoming["kid"] and reply.body["nextKeySignsAt"] is None
    clock.advance(timeline().grace)  # retired: listed nowhere
    reset_layer_state()
    assert [k["kid"] for k in schedule().body["keys"]] == [upcoming["kid"]]


@pytest.mark.usefixtures("es256")
def test_it_shows_times_and_ids_only(aws: Aws, clock: FakeClock) -> None:
    answer = json.dumps(schedule().body)
    for key in secret_of(aws, "SigningKeysSecret")["keys"]:
        assert key["privateKey"] not in answer
    assert set(schedule().body["keys"][0]) == {"kid", "state", "notBefore", "notAfter"}


@pytest.mark.usefixtures("es256")
def test_a_service_account_needs_the_read_scope(aws: Aws, clock: FakeClock) -> None:
    writer = authorize(f"Token {create_account('writer', ['tokens:write'])['key']}")
    assert schedule(writer).status == 403
    reader = authorize(f"Token {create_account('reader', ['read'])['key']}")
    assert schedule(reader).body == schedule().body
