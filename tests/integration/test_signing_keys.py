"""Keys you can rotate and publish, through the functions: the JWKS, MediaMTX tokens, ES256 stream
and viewer JWTs, Secrets Manager's four rotation steps (moto) with a MediaMTX JWKS refresh
recorded by a local fake, and sealed secrets surviving a seal-key rotation. Every token and the
JWKS are also checked by an implementation that did not make them (jwcrypto)."""

from __future__ import annotations

import base64
import json
import secrets
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from jwcrypto import jwk, jwt  # an independent JOSE implementation (not PyJWT)

from localapi import keys
from localapi import template as tpl
from streamauth.store.subscribers import profile_key
from tests.conftest import T0, Aws, FakeClock, LambdaContext, call, event, load_function, reset_layer_state
from tests.integration.test_accounts_viewers import as_caller, authorize
from tests.integration.test_hooks import SECRET, code, create_subscriber, nginx, nginx_subscriber
from tests.media_servers import FakeMediaMtx

STREAM = "cam1"


def put(aws: Aws, logical_id: str, value: str) -> None:
    aws.client("secretsmanager").put_secret_value(SecretId=aws.secret_arns[logical_id], SecretString=value)
    reset_layer_state()  # in AWS: within the secret cache time


def secret_of(aws: Aws, logical_id: str) -> dict[str, Any]:
    reply = aws.client("secretsmanager").get_secret_value(SecretId=aws.secret_arns[logical_id])
    data: dict[str, Any] = json.loads(reply["SecretString"])
    return data


@pytest.fixture
def es256(aws: Aws, clock: FakeClock) -> Aws:
    """The stack after its first rotation: one key, signing since an hour before the test's now."""
    private, public = keys.signing_documents(int(clock()) - 3600)
    put(aws, "SigningKeysSecret", private)
    put(aws, "PublicSigningKeysSecret", public)
    return aws


def setting(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    reset_layer_state()


def jwks() -> Any:
    reply = call("JwksFunction", event("jwks"))
    assert reply.status == 200, reply.body
    return reply


def independent_keys() -> jwk.JWKSet:
    """The JWKS as served, read by jwcrypto."""
    return jwk.JWKSet.from_json(json.dumps(jwks().body))


def independently_verified(token: str, **checks: Any) -> dict[str, Any]:
    """The claims, as jwcrypto sees them: signature by the key the kid names in the served JWKS,
    ES256 only, exp checked."""
    verified = jwt.JWT(jwt=token, key=independent_keys(), algs=["ES256"], check_claims={"exp": None, **checks})
    claims: dict[str, Any] = json.loads(verified.claims)
    return claims


def mediamtx_token(action: str = "publish", stream: str = STREAM, **query: str) -> Any:
    params = {"action": action, **query}
    return call(
        "MediaMtxTokenFunction",
        event(
            "mediamtx_token",
            pathParameters={"id": stream},
            queryStringParameters=params,
            multiValueQueryStringParameters={k: [v] for k, v in params.items()},
        ),
    )


# -- JWKS ---------------------------------------------------------------------------------------


def test_the_jwks_is_public_cacheable_and_holds_public_parts_only(es256: Aws, clock: FakeClock) -> None:
    reply = jwks()
    assert reply.headers["Cache-Control"] == "public, max-age=3600"  # JwksCacheSeconds
    (key,) = reply.body["keys"]
    assert set(key) == {"kty", "crv", "x", "y", "kid", "alg", "use"}
    assert (key["kty"], key["crv"], key["alg"], key["use"]) == ("EC", "P-256", "ES256", "sig")
    assert "d" not in key and "PRIVATE" not in json.dumps(reply.body)
    (read,) = independent_keys()
    assert read.key_id == key["kid"] and not read.has_private


def test_an_empty_stack_serves_an_empty_jwks_and_signs_nothing(aws: Aws, clock: FakeClock) -> None:
    assert jwks().body == {"keys": []}
    refused = mediamtx_token()
    assert refused.status == 500 and "no ES256 signing key yet" in refused.body["message"]


# -- MediaMTX tokens ------------------------------------------------------------------------------


def test_a_mediamtx_token_verifies_independently_with_its_permission(es256: Aws, clock: FakeClock) -> None:
    reply = mediamtx_token("read")
    assert reply.status == 200
    assert reply.body["streamId"] == STREAM and reply.body["action"] == "read"
    assert reply.body["expireDate"] == int(clock()) + 3600  # an hour by default
    token = reply.body["token"]
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert header == {"alg": "ES256", "kid": jwks().body["keys"][0]["kid"]}
    claims = independently_verified(token, iss="streamauth", aud="mediamtx")
    assert claims["mediamtx_permissions"] == [{"action": "read", "path": STREAM}]
    assert claims["exp"] == int(clock()) + 3600 and isinstance(claims["iat"], int)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"action": "play"}, "action"),
        ({"action": ""}, "action"),
        ({"action": "publish", "expireDate": str(int(T0) - 1)}, "expireDate"),
        ({"action": "publish", "expireDate": str(int(T0) + 86_401)}, "expireDate"),  # SignedTokenMaxSeconds
        ({"action": "publish", "expireDate": "soon"}, "expireDate"),
    ],
)
def test_mediamtx_token_bad_input_names_the_field(
    es256: Aws, clock: FakeClock, query: dict[str, str], field: str
) -> None:
    reply = mediamtx_token(**query)
    assert reply.status == 400 and reply.body["field"] == field


def test_the_mediamtx_issuer_and_audience_are_settings(
    es256: Aws, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    setting(monkeypatch, "JWT_ISSUER", "https://auth.example.com")
    setting(monkeypatch, "MEDIAMTX_JWT_AUDIENCE", "mtx-eu")
    token = mediamtx_token().body["token"]
    assert independently_verified(token, iss="https://auth.example.com", aud="mtx-eu")


# -- ES256 stream and viewer JWTs -------------------------------------------------------------------


def jwt_token(stream: str = STREAM, action: str = "publish", expire: int | None = None) -> Any:
    params = {"expireDate": str(expire or int(T0) + 600), "type": action}
    return call(
        "IssueJwtTokenFunction",
        event(
            "issue_jwt_token",
            pathParameters={"id": stream},
            queryStringParameters=params,
            multiValueQueryStringParameters={k: [v] for k, v in params.items()},
        ),
    )


def validates(token: str, stream: str = STREAM, action: str = "publish") -> bool:
    body = {"tokenId": token, "streamId": stream, "type": action}
    reply = call("ValidateTokenFunction", event("validate_token", body=body))
    return bool(reply.body["success"])


def test_ant_medias_jwt_token_stays_hs256_by_default(es256: Aws, clock: FakeClock) -> None:
    token = jwt_token().body["tokenId"]
    assert json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))["alg"] == "HS256"
    assert validates(token)


def test_es256_stream_tokens_verify_here_in_the_hooks_and_independently(
    es256: Aws, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    hs256 = jwt_token().body["tokenId"]  # minted before the switch
    setting(monkeypatch, "STREAM_JWT_ALGORITHM", "ES256")
    token = jwt_token().body["tokenId"]
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert header["alg"] == "ES256" and "kid" in header
    claims = independently_verified(token)
    assert claims["streamId"] == STREAM and claims["type"] == "publish" and "aud" not in claims
    assert validates(token) and validates(hs256)  # both algorithms verify, whichever signs
    assert not validates(token, action="play") and not validates(token, stream="cam2")
    assert nginx(token).status == 200
    # revoking the stream's tokens ends ES256 tokens too
    call("RevokeTokensFunction", event("revoke_tokens", pathParameters={"id": STREAM}))
    clock.advance(6)
    assert not validates(token)
    too_long = jwt_token(expire=int(clock()) + 86_401)
    assert too_long.status == 400 and too_long.body["field"] == "expireDate"


def test_no_es256_kind_passes_as_another(es256: Aws, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    """One key set signs every ES256 kind: each kind's claims (and aud) keep them apart."""
    from streamauth.service.tokens import token_service
    from streamauth.service.viewers import viewer_service

    viewer_service().set_public(STREAM, True, clock() - 60)
    setting(monkeypatch, "VIEWER_JWT_ALGORITHM", "ES256")
    viewer = call(
        "CreateViewerTokenFunction",
        event("create_viewer_token", body={"stream_id": STREAM, "unique_user_identifier": "u"}),
    )
    mediamtx = mediamtx_token().body["token"]
    for token in (viewer.body["token"], mediamtx):
        assert token_service().stream_jwt(token, STREAM, "publish", clock()) is None
    setting(monkeypatch, "STREAM_JWT_ALGORITHM", "ES256")
    stream = jwt_token(action="play").body["tokenId"]
    for token in (stream, mediamtx):
        assert viewer_service().admits(token, STREAM, clock()) is False
    assert viewer_service().admits(viewer.body["token"], STREAM, clock()) is True


def test_es256_viewer_jwts_work_with_users_me(es256: Aws, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    from streamauth.service.viewers import viewer_service

    viewer_service().set_public(STREAM, True, clock() - 60)
    setting(monkeypatch, "VIEWER_JWT_ALGORITHM", "ES256")
    body = {"stream_id": STREAM, "unique_user_identifier": "viewer-1"}
    token = call("CreateViewerTokenFunction", event("create_viewer_token", body=body)).body["token"]
    claims = independently_verified(token, aud="streamauth:viewer")
    assert claims["stream_id"] == STREAM and claims["sub"] == "viewer-1"
    me = call("UsersMeFunction", as_caller("users_me", authorize(f"Bearer {token}"))).body
    assert me["sub"] == "viewer-1" and me["stream_id"] == STREAM


# -- refused: unknown kid, wrong alg, a key not yet signing, a retired key ---------------------------


def forge(claims: dict[str, Any], key: jwk.JWK, header: dict[str, Any]) -> str:
    """A token made by jwcrypto, not by streamauth."""
    token = jwt.JWT(header=header, claims=claims)
    token.make_signed_token(key)
    return str(token.serialize())


def private_jwk(aws: Aws, kid: str) -> jwk.JWK:
    pem = next(k["privateKey"] for k in secret_of(aws, "SigningKeysSecret")["keys"] if k["kid"] == kid)
    return jwk.JWK.from_pem(pem.encode())


def test_unknown_kid_and_wrong_algorithms_are_refused_here_and_independently(es256: Aws, clock: FakeClock) -> None:
    from streamauth.service.tokens import token_service

    claims = {"streamId": STREAM, "type": "publish", "iat": int(clock()), "exp": int(clock()) + 600}
    stranger = jwk.JWK.generate(kty="EC", crv="P-256")
    unknown = forge(claims, stranger, {"alg": "ES256", "kid": "not-ours"})
    kid = jwks().body["keys"][0]["kid"]
    claimed = forge(claims, stranger, {"alg": "ES256", "kid": kid})  # our kid, another key
    es384 = forge(claims, jwk.JWK.generate(kty="EC", crv="P-384"), {"alg": "ES384", "kid": kid})
    public_as_hmac = forge(claims, jwk.JWK(kty="oct", k=jwks().body["keys"][0]["x"]), {"alg": "HS256", "kid": kid})
    for token in (unknown, claimed, es384, public_as_hmac):
        assert token_service().stream_jwt(token, STREAM, "publish", clock()) is None
        assert not validates(token)
    for token in (unknown, claimed, es384):
        with pytest.raises(Exception):  # noqa: B017,PT011 - jwcrypto's own refusals (key not found, bad signature)
            independently_verified(token)
    genuine = forge(claims, private_jwk(es256, kid), {"alg": "ES256", "kid": kid})
    assert token_service().stream_jwt(genuine, STREAM, "publish", clock()) is not None  # the control


# -- rotation: Secrets Manager's four steps, against moto --------------------------------------------


def start_rotation(aws: Aws) -> str:
    """Secrets Manager's part of a rotation, as it does it before calling the function: rotation
    enabled, a new version labelled AWSPENDING with no value yet (moto's rotate_secret would
    invoke the function through Lambda; here the test invokes it, step by step)."""
    from moto.secretsmanager.models import secretsmanager_backends

    token = str(uuid.uuid4())
    secret: Any = secretsmanager_backends["123456789012"]["us-east-1"].secrets[aws.secret_arns["SigningKeysSecret"]]
    secret.rotation_enabled = secret.rotation_requested = True
    secret.auto_rotate_after_days = 30
    secret.remove_version_stages_from_old_versions(["AWSPENDING"])
    secret.versions[token] = {"createdate": int(T0), "version_id": token, "version_stages": ["AWSPENDING"]}
    return token


def rotate(
    aws: Aws, token: str, steps: tuple[str, ...] = ("createSecret", "setSecret", "testSecret", "finishSecret")
) -> None:
    from moto.secretsmanager.models import secretsmanager_backends

    handler = load_function("SigningKeyRotationFunction").lambda_handler  # its calls checked against its role
    arn = aws.secret_arns["SigningKeysSecret"]
    for step in steps:
        reset_layer_state()
        handler({"SecretId": arn, "ClientRequestToken": token, "Step": step}, LambdaContext())
    secret: Any = secretsmanager_backends["123456789012"]["us-east-1"].secrets[arn]
    if "AWSCURRENT" in secret.versions[token]["version_stages"]:
        # moto's GetSecretValue without a stage reads its default version, which its own
        # rotate_secret (not UpdateSecretVersionStage) moves: do what it does after the steps
        secret.set_default_version_id(token)
    reset_layer_state()


@pytest.fixture
def mediamtx(aws: Aws) -> Iterator[FakeMediaMtx]:
    server = FakeMediaMtx(username="streamauth", password="mtx-api-secret")
    registry = {
        "servers": [
            {
                "id": "mtx1",
                "kind": "mediamtx",
                "apiUrl": server.url,
                "username": "streamauth",
                "password": "mtx-api-secret",
            }
        ]
    }
    put(aws, "MediaServersSecret", json.dumps(registry))
    yield server
    server.close()


def test_the_first_rotation_fills_the_empty_secret_publishes_and_refreshes_mediamtx(
    aws: Aws, clock: FakeClock, mediamtx: FakeMediaMtx
) -> None:
    assert secret_of(aws, "SigningKeysSecret") == {"keys": []}
    rotate(aws, start_rotation(aws))
    (key,) = secret_of(aws, "SigningKeysSecret")["keys"]
    assert key["notBefore"] == int(clock()) and key["notAfter"] is None  # signs at once: nothing was signed before
    assert [k["kid"] for k in jwks().body["keys"]] == [key["kid"]]
    assert mediamtx.requests() == [("POST", "/v3/auth/jwks/refresh")] and mediamtx.jwks_refreshes == 1
    assert (
        mediamtx.seen[0].header(
            "Authorization",
        )
        == "Basic " + base64.b64encode(b"streamauth:mtx-api-secret").decode()
    )
    token = mediamtx_token().body["token"]
    assert independently_verified(token)["mediamtx_permissions"][0]["path"] == STREAM


def test_a_scheduled_rotation_publishes_a_next_key_before_it_signs_and_retires_the_old_one(
    es256: Aws, clock: FakeClock, mediamtx: FakeMediaMtx
) -> None:
    from streamauth.service.jwt_codecs import timeline

    old_kid = jwks().body["keys"][0]["kid"]
    signed_before = mediamtx_token().body["token"]
    clock.advance(30 * 86_400)
    rotate(es256, start_rotation(es256))
    lead, grace = timeline().lead, timeline().grace
    kids = [k["kid"] for k in jwks().body["keys"]]
    assert len(kids) == 2 and kids[1] == old_kid  # next first (newest), then current
    new_kid = kids[0]
    assert json.loads(base64.urlsafe_b64decode(mediamtx_token().body["token"].split(".")[0] + "=="))["kid"] == old_kid
    # a token naming the next key is refused: it has signed nothing yet
    early = forge(
        {"mediamtx_permissions": [], "exp": int(clock()) + lead + 600},
        private_jwk(es256, new_kid),
        {"alg": "ES256", "kid": new_kid},
    )
    from streamauth.service.jwt_codecs import mediamtx_codec

    with pytest.raises(Exception):  # noqa: B017,PT011
        mediamtx_codec().decode(early, clock())
    clock.advance(lead)  # the next key signs now; the old one still verifies its last tokens
    reset_layer_state()
    latest = mediamtx_token().body["token"]
    assert json.loads(base64.urlsafe_b64decode(latest.split(".")[0] + "=="))["kid"] == new_kid
    assert independently_verified(latest)
    assert mediamtx_codec().decode(early, clock())  # now current: its tokens verify
    stream = forge(
        {"streamId": STREAM, "type": "publish", "exp": int(clock()) + 600},
        private_jwk(es256, old_kid),
        {"alg": "ES256", "kid": old_kid},
    )
    from streamauth.service.tokens import token_service

    assert token_service().stream_jwt(stream, STREAM, "publish", clock()) is not None  # previous: within its grace
    assert independently_verified(stream)
    clock.advance(grace)  # past its grace: retired, refused here and gone from the JWKS
    reset_layer_state()
    retired = forge(
        {"streamId": STREAM, "type": "publish", "exp": int(clock()) + 600},
        private_jwk(es256, old_kid),
        {"alg": "ES256", "kid": old_kid},
    )
    assert token_service().stream_jwt(retired, STREAM, "publish", clock()) is None
    assert [k["kid"] for k in jwks().body["keys"]] == [new_kid]
    with pytest.raises(Exception):  # noqa: B017,PT011 - jwcrypto finds no key for the kid
        independently_verified(retired)
    assert signed_before  # (it expired long ago: tokens live an hour)
    rotate(es256, start_rotation(es256))  # the next rotation drops the retired key from the secret
    assert old_kid not in [k["kid"] for k in secret_of(es256, "SigningKeysSecret")["keys"]]
    assert mediamtx.jwks_refreshes == 2


def test_each_rotation_step_can_run_again(es256: Aws, clock: FakeClock) -> None:
    token = start_rotation(es256)
    rotate(es256, token, ("createSecret",))
    pending = es256.client("secretsmanager").get_secret_value(
        SecretId=es256.secret_arns["SigningKeysSecret"], VersionStage="AWSPENDING"
    )["SecretString"]
    rotate(es256, token, ("createSecret", "setSecret", "setSecret", "testSecret", "testSecret", "finishSecret"))
    current = secret_of(es256, "SigningKeysSecret")
    assert json.loads(pending) == current and len(current["keys"]) == 2
    rotate(es256, token, ("finishSecret",))  # already current: nothing happens
    assert secret_of(es256, "SigningKeysSecret") == current


def test_the_rotation_function_rotates_its_own_secret_only_and_refuses_a_broken_set(
    es256: Aws, clock: FakeClock
) -> None:
    import inspect

    from localapi import iam
    from streamauth.service.rotation import RotationError, rotation

    other = {"SecretId": es256.secret_arns["HookSecret"], "ClientRequestToken": "x", "Step": "createSecret"}
    handler = inspect.unwrap(load_function("SigningKeyRotationFunction").lambda_handler)
    # AccessDenied: its role names its own secrets only
    with iam.acting_as("SigningKeyRotationFunction", recorder=iam.Recorder()) as active, pytest.raises(Exception):  # noqa: B017,PT011
        handler(other, LambdaContext())
    assert active is not None and "secretsmanager:DescribeSecret" in active.denied[0]
    with pytest.raises(RotationError, match="SigningKeysSecret only"):  # and the code checks it too
        rotation().run(other["SecretId"], "x", "createSecret", int(clock()))
    token = start_rotation(es256)
    rotate(es256, token, ("createSecret", "setSecret"))
    put(es256, "PublicSigningKeysSecret", json.dumps({"keys": []}))  # published wrongly
    with pytest.raises(RotationError, match="not published"):
        rotate(es256, token, ("testSecret",))


def test_make_rotate_keys_runs_the_same_plan_locally(clock: FakeClock) -> None:
    from streamauth.service.rotation import local_rotation

    private, public = keys.signing_documents(int(clock()))
    private2, public2, described = local_rotation(private, int(clock()) + 86_400, keys.local_timeline())
    assert len(json.loads(private2)["keys"]) == 2 and "current" in described and "next" in described
    assert [k["kid"] for k in json.loads(public2)["keys"]] == [k["kid"] for k in json.loads(private2)["keys"]]
    assert "PRIVATE" not in public2 and "PRIVATE" not in described


def test_secrets_manager_may_invoke_the_rotation_function_for_that_secret_only() -> None:
    from localapi import iam

    found = [a for a in iam.service_accesses() if "SigningKeysRotationSchedule" in a.description]
    assert len(found) == 2 and all(a.ok for a in found)
    schedule = tpl.load()["Resources"]["SigningKeysRotationSchedule"]["Properties"]
    assert schedule["RotateImmediatelyOnUpdate"] is True and schedule["SecretId"] == {"Ref": "SigningKeysSecret"}


# -- sealed secrets: v2, re-sealed on the next write, a seal-key rotation loses no subscriber --------


def stored_blob(aws: Aws, stream: str = STREAM, sid: str = "alice") -> str:
    item = aws.client("dynamodb").get_item(TableName=aws.table_name, Key=profile_key(stream, sid))["Item"]
    return str(item["secret"]["S"])


def test_new_subscribers_are_sealed_with_aes_gcm_under_kid_0(aws: Aws, clock: FakeClock) -> None:
    create_subscriber()
    assert stored_blob(aws).startswith("v2.0.") and SECRET not in stored_blob(aws)
    assert nginx_subscriber(clock).status == 200


def test_rotating_the_seal_key_loses_no_subscriber_and_reseals_on_the_next_write(aws: Aws, clock: FakeClock) -> None:
    create_subscriber(limit=3)
    create_subscriber("bobby")
    before = secret_of(aws, "SubscriberSecret")
    new_key = base64.b64encode(secrets.token_bytes(32)).decode()
    put(aws, "SubscriberSecret", json.dumps({**before, "sealKeys": {"k2": new_key}, "currentSealKey": "k2"}))
    assert nginx_subscriber(clock).status == 200  # sealed under 0: still read
    assert stored_blob(aws).startswith("v2.k2.")  # re-sealed with the accepted code
    assert stored_blob(aws, sid="bobby").startswith("v2.0.")  # not written yet: untouched, still readable
    clock.advance(60)
    assert nginx_subscriber(clock, client=8, sid="bobby").status == 200
    assert stored_blob(aws, sid="bobby").startswith("v2.k2.")
    create_subscriber("carol")
    assert stored_blob(aws, sid="carol").startswith("v2.k2.")
    clock.advance(60)
    assert nginx_subscriber(clock, client=9).status == 200 and code(clock)


def test_v1_blobs_are_read_and_resealed_as_v2(aws: Aws, clock: FakeClock) -> None:
    from streamauth.logic import totp

    create_subscriber(limit=3)
    legacy = secret_of(aws, "SubscriberSecret")["subscriberSecretKey"]
    aws.client("dynamodb").update_item(
        TableName=aws.table_name,
        Key=profile_key(STREAM, "alice"),
        UpdateExpression="SET secret = :v1",
        ExpressionAttributeValues={":v1": {"S": totp.seal(SECRET, legacy)}},  # as an earlier version stored it
    )
    assert stored_blob(aws).startswith("v1.")
    assert nginx_subscriber(clock).status == 200
    assert stored_blob(aws).startswith("v2.0.")
    clock.advance(60)
    assert nginx_subscriber(clock, client=8).status == 200


def test_a_blob_moved_to_another_subscriber_does_not_open(aws: Aws, clock: FakeClock) -> None:
    create_subscriber()
    create_subscriber("bobby")
    aws.client("dynamodb").update_item(
        TableName=aws.table_name,
        Key=profile_key(STREAM, "bobby"),
        UpdateExpression="SET secret = :moved",
        ExpressionAttributeValues={":moved": {"S": stored_blob(aws)}},
    )
    reply = nginx_subscriber(clock, sid="bobby")
    assert reply.status == 500 and "cannot be read" in reply.body["message"]
