"""GET /api/v1/streams/{id}/public-viewers: whether a stream is open to public viewers, read
by the rule the admission judges viewer JWTs with, through the real handlers and authorizer on
moto's DynamoDB built from template.yaml."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Aws, FakeClock, call, event
from tests.integration.test_accounts_viewers import as_caller, authorize, create_account, public_viewers, viewer_token


def read_state(stream_id: str, context: dict[str, Any] | None = None) -> Any:
    changes: dict[str, Any] = {"pathParameters": {"id": stream_id}}
    evt = (
        event("get_public_viewers", **changes)
        if context is None
        else as_caller("get_public_viewers", context, **changes)
    )
    return call("GetPublicViewersFunction", evt)


def test_an_opened_stream_reads_open_and_a_closed_one_closed(aws: Aws, clock: FakeClock) -> None:
    assert public_viewers("cam1", True).body["success"] is True
    assert read_state("cam1").body == {"streamId": "cam1", "enabled": True, "default": False}
    assert viewer_token("cam1").status == 200  # what it says is what a viewer gets
    clock.advance(1)
    assert public_viewers("cam1", False).body["success"] is True
    reply = read_state("cam1")
    assert reply.status == 200 and reply.body == {"streamId": "cam1", "enabled": False, "default": False}
    assert viewer_token("cam1").status == 403


def test_the_answer_is_fresh_after_a_change_not_the_cached_state(aws: Aws, clock: FakeClock) -> None:
    """The console reads it right after open/close: the write is what it sees, at once."""
    assert read_state("cam1").body["enabled"] is False
    public_viewers("cam1", True)
    assert read_state("cam1").body["enabled"] is True


@pytest.mark.parametrize("default", ["closed", "open"])
def test_a_stream_never_opened_or_closed_follows_the_deployment_default(
    aws: Aws, clock: FakeClock, monkeypatch: pytest.MonkeyPatch, default: str
) -> None:
    from streamauth.settings import reset_caches

    monkeypatch.setenv("PUBLIC_VIEWERS_DEFAULT", default)  # the PublicViewersDefault parameter
    reset_caches()
    reply = read_state("never-touched")
    assert reply.body == {"streamId": "never-touched", "enabled": default == "open", "default": True}
    assert viewer_token("never-touched").status == (200 if default == "open" else 403)
    public_viewers("never-touched", default != "open")  # an explicit setting beats the default
    assert read_state("never-touched").body == {
        "streamId": "never-touched",
        "enabled": default != "open",
        "default": False,
    }


@pytest.mark.parametrize("bad", ["a b", "x" * 129, "..", "caf\u00e9"])
def test_a_bad_stream_id_is_a_400_naming_the_field(aws: Aws, clock: FakeClock, bad: str) -> None:
    reply = read_state(bad)
    assert reply.status == 400 and reply.body["field"] == "id" and "id" in reply.body["message"], reply.body


def test_a_service_account_needs_the_read_scope(aws: Aws, clock: FakeClock) -> None:
    public_viewers("cam1", True)
    writer = authorize(f"Token {create_account('writer', ['tokens:write'])['key']}")
    denied = read_state("cam1", writer)
    assert denied.status == 403 and "cam1" not in str(denied.body), denied.body
    reader = authorize(f"Token {create_account('reader', ['read'])['key']}")
    assert read_state("cam1", reader).body == {"streamId": "cam1", "enabled": True, "default": False}
