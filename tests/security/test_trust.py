"""The trust rules (contract section 7) tried as an attacker would: one regression test per
finding of the trust issue, each of which failed on the code before it. Findings 1, 5 and 6
are also covered where their features are tested (integration/test_events.py,
test_accounts_viewers.py, test_hooks.py); finding 10 is integration/test_faults.py."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import jwt
import pytest

from localapi import template as tpl
from tests.conftest import T0, Aws, FakeClock, call, event
from tests.integration.test_hooks import SECRET, create_subscriber, hook

ROUNDS = 20
GUESSERS = 60


def _count_evaluations(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every code the service evaluates against a secret, recorded."""
    from streamauth.logic import totp

    evaluated: list[str] = []
    original = totp.matching_step
    lock = threading.Lock()

    def counting(key: bytes, code: str, now: float, period: int) -> int | None:
        with lock:
            evaluated.append(code)
        return original(key, code, now, period)

    monkeypatch.setattr(totp, "matching_step", counting)
    return evaluated


def _race(workers: int, work: Callable[[int], Any]) -> list[Any]:
    barrier = threading.Barrier(workers)
    results: list[Any] = [None] * workers

    def run(n: int) -> None:
        barrier.wait()
        results[n] = work(n)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def _wrong_codes(count: int) -> list[str]:
    from streamauth.logic import totp

    right = {totp.totp(totp.b32_key(SECRET), T0 + offset * 60, 60) for offset in (-1, 0, 1)}
    return [c for c in (f"{n:06d}" for n in range(count + 3)) if c not in right][:count]


# -- finding 2: lockout ---------------------------------------------------------------------


def test_sixty_concurrent_wrong_codes_evaluate_at_most_five_in_every_round(
    aws: Aws, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from streamauth.service.subscribers import subscriber_service

    evaluated = _count_evaluations(monkeypatch)
    codes = _wrong_codes(GUESSERS)
    worst = 0
    for round_ in range(ROUNDS):
        sid = f"victim{round_:02d}"
        create_subscriber(sid=sid, stream="cam1")
        evaluated.clear()

        def guess(n: int, sid: str = sid) -> Any:
            return subscriber_service().verify("cam1", sid, codes[n], "publish", T0, "1.2.3.4")

        results = _race(GUESSERS, guess)
        worst = max(worst, len(evaluated))
        assert len(evaluated) <= 5, f"round {round_}: {len(evaluated)} wrong codes evaluated"
        assert sum(r.reason == "invalid_code" for r in results) == len(evaluated)
        assert sum(r.reason == "locked_out" for r in results) == GUESSERS - len(evaluated)
    print(f"worst of {ROUNDS} rounds: {worst} wrong codes evaluated of {GUESSERS} concurrent")


def test_the_lockout_holds_the_right_code_too_then_ends_and_doubles(aws: Aws, clock: FakeClock) -> None:
    from streamauth.logic import totp
    from streamauth.service.subscribers import subscriber_service

    create_subscriber(sid="alice", stream="cam1")
    service = subscriber_service()
    for wrong in _wrong_codes(5):
        assert service.verify("cam1", "alice", wrong, "publish", clock(), None).reason == "invalid_code"
    right = totp.totp(totp.b32_key(SECRET), clock(), 60)
    assert service.verify("cam1", "alice", right, "publish", clock(), None).reason == "locked_out"
    clock.advance(31)
    for wrong in _wrong_codes(5):
        assert service.verify("cam1", "alice", wrong, "publish", clock(), None).reason == "invalid_code"
    clock.advance(31)  # the second lockout is 60 s
    right = totp.totp(totp.b32_key(SECRET), clock(), 60)
    assert service.verify("cam1", "alice", right, "publish", clock(), None).reason == "locked_out"
    clock.advance(30)
    right = totp.totp(totp.b32_key(SECRET), clock(), 60)
    assert service.verify("cam1", "alice", right, "publish", clock(), None).success is True


def test_rotating_subscriber_ids_gains_an_unregistered_guesser_nothing(
    aws: Aws, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The guess budget of subscribers that are not stored is per stream and client address."""
    from streamauth.service.subscribers import subscriber_service

    current = json.loads(
        aws.client("secretsmanager").get_secret_value(SecretId=aws.secret_arns["SubscriberSecret"])["SecretString"]
    )
    aws.client("secretsmanager").put_secret_value(
        SecretId=aws.secret_arns["SubscriberSecret"],
        SecretString=json.dumps({**current, "publishTotpSecret": "app-publish-secret-of-32-bytes-or-more"}),
    )
    from streamauth.settings import reset_caches

    reset_caches()
    evaluated = _count_evaluations(monkeypatch)
    service = subscriber_service()
    reasons = [
        service.verify("cam1", f"guest{n:03d}", "000000", "publish", clock(), "203.0.113.9").reason for n in range(30)
    ]
    assert len(evaluated) == 5 and reasons[5:] == ["locked_out"] * 25
    # another client address has its own budget; so has another stream
    assert service.verify("cam1", "guest999", "000000", "publish", clock(), "203.0.113.10").reason == "invalid_code"
    assert service.verify("cam2", "guest999", "000000", "publish", clock(), "203.0.113.9").reason == "invalid_code"


def test_a_clients_own_retry_burst_of_the_right_code_does_not_lock_it_out(aws: Aws, clock: FakeClock) -> None:
    from streamauth.logic import totp
    from streamauth.service.subscribers import subscriber_service

    create_subscriber(sid="alice", stream="cam1")
    right = totp.totp(totp.b32_key(SECRET), clock(), 60)
    results = _race(20, lambda n: subscriber_service().verify("cam1", "alice", right, "publish", clock(), None))
    assert sum(r.success for r in results) == 1
    assert {r.reason for r in results if not r.success} <= {"replayed", "locked_out"}
    clock.advance(60)  # the next code is accepted at once: the burst counted no wrong guess
    following = totp.totp(totp.b32_key(SECRET), clock(), 60)
    assert subscriber_service().verify("cam1", "alice", following, "publish", clock(), None).success is True
    for _ in range(10):  # and replays, however many, are never wrong guesses
        assert subscriber_service().verify("cam1", "alice", following, "publish", clock(), None).reason == "replayed"
    clock.advance(60)
    last = totp.totp(totp.b32_key(SECRET), clock(), 60)
    assert subscriber_service().verify("cam1", "alice", last, "publish", clock(), None).success is True


# -- finding 3: non-ASCII hook input ----------------------------------------------------------


HOSTILE = ["é", "\u0000", "１２３４５６", "12345\u0661", "\udcff", "a" * 5000]


@pytest.mark.parametrize("value", HOSTILE, ids=range(len(HOSTILE)))
@pytest.mark.parametrize("field", ["subscriberCode", "subscriberId", "token"])
def test_hostile_hook_credentials_are_a_400_naming_the_field(
    aws: Aws, clock: FakeClock, field: str, value: str
) -> None:
    from urllib.parse import quote

    fields = {"subscriberId": "alice", "subscriberCode": "123456"}
    fields[field] = value
    query = "&".join(f"{k}={quote(v, safe='', errors='surrogatepass')}" for k, v in fields.items())
    nginx = f"app=live&addr=127.0.0.1&clientid=1&call=publish&name=cam1&{query}"
    srs = json.dumps(
        {"action": "on_publish", "stream": "cam1", "client_id": "c1", "param": "?" + query}, ensure_ascii=False
    )
    for function, sample, body in (
        ("NginxHookFunction", "hook_nginx", nginx),
        ("SrsHookFunction", "hook_srs", srs.encode("utf-8", "surrogatepass").decode("utf-8", "replace")),
    ):
        reply = hook(function, sample, body)
        assert reply.status == 400, (function, reply.body)
        assert reply.body["field"] in (field, "body"), reply.body


# -- finding 4: JWT times and key separation ---------------------------------------------------


def test_a_stream_jwt_dated_in_the_future_no_longer_outlives_revocations(aws: Aws, clock: FakeClock) -> None:
    from streamauth.keys import get_keys
    from streamauth.models.tokens import ValidateRequest
    from streamauth.service.tokens import token_service

    def client_token(iat: float) -> str:
        claims = {"streamId": "s1", "type": "play", "exp": int(T0) + 3600, "iat": iat}
        return jwt.encode(claims, get_keys().jwt_stream_key, algorithm="HS256")

    service = token_service()
    far = client_token(T0 + 10 * 365 * 86400)
    assert service.validate(ValidateRequest(far, "s1", "play", None), clock()) is False
    near = client_token(T0 + 50)  # within the 60 s skew: accepted, but it dies at the next revocation after it
    assert service.validate(ValidateRequest(near, "s1", "play", None), clock()) is True
    clock.advance(51)
    service.revoke_all("s1", clock())
    assert service.validate(ValidateRequest(near, "s1", "play", None), clock()) is False


def test_minted_jwts_carry_integer_times(aws: Aws, clock: FakeClock) -> None:
    clock.now = T0 + 0.789
    query = {"expireDate": str(int(T0) + 600), "type": "play"}
    reply = call(
        "IssueJwtTokenFunction", event("issue_jwt_token", pathParameters={"id": "s1"}, queryStringParameters=query)
    )
    claims = jwt.decode(reply.body["tokenId"], options={"verify_signature": False})
    assert claims["iat"] == int(T0) and isinstance(claims["iat"], int) and isinstance(claims["exp"], int)


def test_a_function_whose_keys_are_equal_refuses_to_serve_naming_them(aws: Aws, clock: FakeClock) -> None:
    """Any two keys equal -> ConfigurationError naming the keys, never their values."""
    from streamauth.settings import reset_caches

    sm = aws.client("secretsmanager")
    stream_key = json.loads(sm.get_secret_value(SecretId=aws.secret_arns["StreamJwtSecret"])["SecretString"])
    sm.put_secret_value(
        SecretId=aws.secret_arns["HookSecret"], SecretString=json.dumps({"hookSecret": stream_key["jwtStreamKey"]})
    )
    reset_caches()
    token = jwt.encode({"streamId": "cam1", "type": "publish", "exp": int(T0) + 60}, stream_key["jwtStreamKey"])
    body = f"app=live&addr=1.2.3.4&clientid=1&call=publish&name=cam1&token={token}"
    evt = event("hook_nginx", body=body, pathParameters={"hookSecret": stream_key["jwtStreamKey"]})
    reply = call("NginxHookFunction", evt)
    assert reply.status == 500
    assert "hookSecret" in reply.body["message"] and "jwtStreamKey" in reply.body["message"]
    assert stream_key["jwtStreamKey"] not in json.dumps(reply.body)


def test_short_keys_are_refused_naming_them(aws: Aws, clock: FakeClock) -> None:
    from streamauth.settings import reset_caches

    aws.client("secretsmanager").put_secret_value(
        SecretId=aws.secret_arns["OperatorJwtSecret"], SecretString=json.dumps({"restJwtSecret": "too-short"})
    )
    reset_caches()
    from streamauth.auth import auth_context, authenticate
    from streamauth.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="restJwtSecret") as caught:
        authenticate("Bearer a.b.c", auth_context(), clock())
    assert "too-short" not in caught.value.message


# -- finding 7: hostile bodies on every JSON route ---------------------------------------------

JSON_ROUTES = [
    ("ValidateTokenFunction", "validate_token"),
    ("CreateSubscriberFunction", "create_subscriber"),
    ("BlockSubscriberFunction", "block_subscriber"),
    ("VerifySubscriberCodeFunction", "verify_subscriber_code"),
    ("CreateServiceAccountFunction", "create_service_account"),
    ("CreateViewerTokenFunction", "create_viewer_token"),
    ("SetPublicViewersFunction", "set_public_viewers"),
    ("SrsHookFunction", "hook_srs"),
    ("MediaMtxHookFunction", "hook_mediamtx"),
    ("AntMediaHookFunction", "hook_antmedia"),
    ("SetStreamPolicyFunction", "set_stream_policy"),
]


def _json_event(sample: str, body: str, content_type: str | None) -> dict[str, Any]:
    evt = event(sample, body=body)
    headers = {k: v for k, v in (evt.get("headers") or {}).items() if k.lower() != "content-type"}
    if content_type is not None:
        headers["Content-Type"] = content_type
    evt["headers"] = headers
    evt["multiValueHeaders"] = {k: [v] for k, v in headers.items()}
    if sample.startswith("hook_"):
        from streamauth.keys import get_keys

        evt = {**evt, "pathParameters": {"hookSecret": get_keys().hook_secret}}
        evt["path"] = evt["resource"].replace("{hookSecret}", get_keys().hook_secret)
    return evt


def test_the_json_routes_are_the_templates_json_routes() -> None:
    sources = {f.logical_id: (f.code_uri / "app.py").read_text() for f in tpl.functions().values()}
    json_functions = {name for name, source in sources.items() if "json_body(app)" in source or "answer(app" in source}
    json_functions -= {"NginxHookFunction"}  # a form body (or the query string), not JSON
    assert json_functions == {name for name, _ in JSON_ROUTES}


@pytest.mark.parametrize(("function", "sample"), JSON_ROUTES)
@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/xml",
        "application/json; charset=latin-1",
        "application/jsonx",
    ],
)
def test_json_routes_take_application_json_only(
    aws: Aws, clock: FakeClock, function: str, sample: str, content_type: str | None
) -> None:
    """A browser can post text/plain or a form cross-site without a CORS preflight."""
    reply = call(function, _json_event(sample, "{}", content_type))
    assert reply.status == 415 and reply.body["field"] == "Content-Type"


@pytest.mark.parametrize(("function", "sample"), JSON_ROUTES)
def test_json_routes_accept_json_with_a_utf8_charset(aws: Aws, clock: FakeClock, function: str, sample: str) -> None:
    reply = call(function, _json_event(sample, "{}", "Application/JSON; charset=UTF-8"))
    assert reply.status != 415 and reply.status < 500


@pytest.mark.parametrize(("function", "sample"), JSON_ROUTES)
def test_json_nested_ten_thousand_deep_is_a_400_on_every_json_route(
    aws: Aws, clock: FakeClock, function: str, sample: str
) -> None:
    deep = '{"a":' * 10_000 + "1" + "}" * 10_000
    reply = call(function, _json_event(sample, deep, "application/json"))
    assert reply.status == 400 and reply.body["field"] == "body"


@pytest.mark.parametrize(
    ("function", "sample", "body", "field"),
    [
        ("BlockSubscriberFunction", "block_subscriber", {"blockedType": "play", "seconds": "60"}, "seconds"),
        (
            "CreateSubscriberFunction",
            "create_subscriber",
            {"subscriberId": "bobby", "concurrentConnectionsLimit": "2"},
            "concurrentConnectionsLimit",
        ),
        (
            "CreateSubscriberFunction",
            "create_subscriber",
            {"subscriberId": "bobby", "totpExpiryPeriodSeconds": "30"},
            "totpExpiryPeriodSeconds",
        ),
        (
            "ValidateTokenFunction",
            "validate_token",
            {"tokenId": "x", "streamId": "s", "type": "play", "expireDate": "1"},
            "expireDate",
        ),
        ("SetPublicViewersFunction", "set_public_viewers", {"enabled": "true"}, "enabled"),
    ],
)
def test_numbers_must_be_json_numbers(
    aws: Aws, clock: FakeClock, function: str, sample: str, body: dict[str, Any], field: str
) -> None:
    reply = call(function, _json_event(sample, json.dumps(body), "application/json"))
    if reply.status == 200:  # an Ant Media route answers bad input as Ant Media does: a failed Result
        assert reply.body["success"] is False and reply.body["errorId"] == 400
    else:
        assert reply.status == 400
    assert reply.body["field"] == field


# -- finding 8: a revocation landing at any point of a validation is seen -----------------------


@pytest.mark.parametrize("lands_before", ["UpdateItem", "BatchGetItem"])
def test_a_revocation_landing_during_a_validation_wins(aws: Aws, clock: FakeClock, lands_before: str) -> None:
    """Validation uses the token (one UpdateItem), then reads it back with the stream's
    revocation (one strongly consistent BatchGetItem; the stream's item is in no write, so a crowd never conflicts on
    it). A revocation landing before the write, or between the write and the read, refuses."""
    from streamauth.aws import dynamodb_client
    from streamauth.models.tokens import TokenRequest, ValidateRequest
    from streamauth.service.streams import stream_service
    from streamauth.service.tokens import token_service

    tokens = token_service()
    first = tokens.issue_one_time(TokenRequest("s1", int(T0) + 600, "play", None), T0 - 1)
    second = tokens.issue_one_time(TokenRequest("s1", int(T0) + 600, "play", None), T0 - 1)
    seen: list[str] = []
    client = dynamodb_client()
    client.meta.events.register("before-call.dynamodb.*", lambda model, **_: seen.append(model.name))
    assert tokens.validate(ValidateRequest(first.token_id, "s1", "play", None), clock()) is True
    assert seen == ["UpdateItem", "BatchGetItem"]
    event_name = f"before-call.dynamodb.{lands_before}"

    def revoke_first(**_: Any) -> None:
        client.meta.events.unregister(event_name, revoke_first)
        stream_service().revoke("s1", int(T0 * 1000))

    client.meta.events.register(event_name, revoke_first)
    assert tokens.validate(ValidateRequest(second.token_id, "s1", "play", None), clock()) is False


def test_fifty_concurrent_validations_of_one_token_one_success(aws: Aws, clock: FakeClock) -> None:
    from streamauth.models.tokens import TokenRequest, ValidateRequest
    from streamauth.service.tokens import token_service

    token = token_service().issue_one_time(TokenRequest("s1", int(T0) + 600, "play", None), T0)
    request = ValidateRequest(token.token_id, "s1", "play", None)
    results = _race(50, lambda n: token_service().validate(request, clock()))
    assert results.count(True) == 1
