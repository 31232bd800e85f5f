"""Each media server's documented request body, byte for byte, into one AccessRequest."""

from __future__ import annotations

from typing import Any

import pytest

from streamauth.errors import BadRequest
from streamauth.models.hooks import HookRequest, parse_antmedia, parse_mediamtx, parse_nginx, parse_srs

# nginx-rtmp on_publish: server fields, then the client's query appended raw at the end.
NGINX_PUBLISH = (
    "app=live&flashver=FMLE/3.0%20(compatible%3B%20FMSc/1.0)&swfurl=&tcurl=rtmp://127.0.0.1:1935/live"
    "&pageurl=&addr=127.0.0.1&clientid=7&call=publish&name=cam1&type=live&token=abc123"
)
NGINX_PLAY = (
    "app=live&flashver=LNX%209,0,124,2&swfurl=&tcurl=rtmp://127.0.0.1:1935/live&pageurl=&addr=10.0.0.5"
    "&clientid=9&call=play&name=cam1&start=-2000&duration=0&reset=0&subscriberId=alice&subscriberCode=123456"
)
SRS_PUBLISH = (
    '{"server_id":"vid-0xk989d","service_id":"0n19d1c2","action":"on_publish","client_id":"341w361a",'
    '"ip":"127.0.0.1","vhost":"__defaultVhost__","app":"live","tcUrl":"rtmp://127.0.0.1:1935/live",'
    '"stream":"livestream","param":"?token=abc123","stream_url":"/live/livestream","stream_id":"vid-124q9y3"}'
)
SRS_PLAY = (
    '{"server_id":"vid-0xk989d","service_id":"0n19d1c2","action":"on_play","client_id":"3y1hw9b6",'
    '"ip":"127.0.0.1","vhost":"__defaultVhost__","app":"live","tcUrl":"rtmp://127.0.0.1:1935/live",'
    '"stream":"livestream","param":"?token=jwt.a.b","stream_url":"/live/livestream","stream_id":"vid-124q9y3",'
    '"pageUrl":""}'
)
MEDIAMTX_PUBLISH = (
    '{"user":"","password":"","token":"","ip":"127.0.0.1","action":"publish","path":"cam1",'
    '"protocol":"rtmp","id":"1b7a1a5e-8f7e-4d1c-9c0e-2f2a9d7e1c11","query":"token=abc123","userAgent":""}'
)
MEDIAMTX_READ_BEARER = (
    '{"user":"","password":"","token":"eyJ.x.y","ip":"10.0.0.9","action":"read","path":"live/cam1",'
    '"protocol":"webrtc","id":null,"query":"","userAgent":"Mozilla/5.0"}'
)
ANTMEDIA_PUBLISH = (
    '{"appName":"LiveApp","name":"cam1","streamId":"cam1","mode":"publish",'
    '"queryParams":"{token=abc123, subscriberId=bob}","metaData":""}'
)
ANTMEDIA_PLAY = (
    '{"streamId":"cam1","mode":"play","appName":"LiveApp","origin":"10.0.0.1","token":"",'
    '"subscriberCode":"654321","subscriberId":"carol","metaData":""}'
)


def test_nginx_publish() -> None:
    hook = parse_nginx(NGINX_PUBLISH)
    assert isinstance(hook, HookRequest) and hook.phase == "admit"
    assert (hook.stream_id, hook.action, hook.credentials.token) == ("cam1", "publish", "abc123")
    assert (hook.server_session, hook.client_ip) == ("live/127.0.0.1/7", "127.0.0.1")


def test_nginx_play_with_subscriber_code() -> None:
    hook = parse_nginx(NGINX_PLAY)
    assert isinstance(hook, HookRequest) and hook.action == "play"
    assert (hook.credentials.subscriber_id, hook.credentials.subscriber_code) == ("alice", "123456")


def test_nginx_client_cannot_redirect_stream_or_action() -> None:
    injected = NGINX_PUBLISH.replace("token=abc123", "token=abc123&name=other&call=play&app=evil&clientid=1")
    hook = parse_nginx(injected)
    assert isinstance(hook, HookRequest)
    assert (hook.stream_id, hook.action, hook.phase) == ("cam1", "publish", "admit")
    assert hook.server_session == "live/127.0.0.1/7"


def test_nginx_done_and_update_name_the_same_session() -> None:
    """nginx-rtmp sends the session's name and args on every call (ngx_rtmp_notify_module.c)."""
    done = parse_nginx("app=live&addr=127.0.0.1&clientid=7&call=publish_done&name=cam1&token=abc123")
    update = parse_nginx(
        "app=live&addr=127.0.0.1&clientid=7&call=update_publish&time=30&timestamp=3000&name=cam1&token=abc123"
    )
    either = parse_nginx("app=live&addr=127.0.0.1&clientid=7&call=done&name=cam1&token=abc123")
    assert isinstance(done, HookRequest) and isinstance(update, HookRequest) and isinstance(either, HookRequest)
    assert (done.phase, done.actions, update.phase, update.actions) == ("end", ("publish",), "renew", ("publish",))
    assert either.actions == ("publish", "play")
    for hook in (done, update, either):
        assert (hook.stream_id, hook.server_session, hook.credentials.token) == ("cam1", "live/127.0.0.1/7", "abc123")
    assert parse_nginx("app=live&addr=127.0.0.1&clientid=7&call=connect") is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("call=publish&name=", "name"),
        ("call=publish", "name"),
        ("call=hack&name=x", "call"),
        ("call=play&name=a/b", "name"),
        # every credential and server field is validated before crypto or the store sees it
        ("call=publish&name=cam1&subscriberId=alice&subscriberCode=%C3%A9", "subscriberCode"),
        ("call=publish&name=cam1&subscriberId=alice&subscriberCode=12345", "subscriberCode"),
        ("call=publish&name=cam1&subscriberId=%C3%A9l%C3%A8ve&subscriberCode=123456", "subscriberId"),
        ("call=publish&name=cam1&token=%C3%A9", "token"),
        ("call=publish&name=cam1&token=a%00b", "token"),
        ("call=publish&name=cam1&token=" + "a" * 4097, "token"),
        ("call=publish&name=cam1&addr=%C3%A9&token=abc", "addr"),
        ("call=publish&name=cam1&clientid=" + "9" * 200 + "&token=abc", "clientid"),
        ("call=publish&name=cam1&app=a%20b&token=abc", "app"),
    ],
)
def test_nginx_bad_bodies(body: str, field: str) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_nginx(body)
    assert caught.value.field == field


def test_srs_publish_keeps_param_question_mark_semantics() -> None:
    hook = parse_srs(SRS_PUBLISH)
    assert isinstance(hook, HookRequest)
    assert (hook.stream_id, hook.action, hook.credentials.token) == ("livestream", "publish", "abc123")
    assert hook.server_session == "vid-0xk989d/341w361a"
    play = parse_srs(SRS_PLAY)
    assert isinstance(play, HookRequest) and play.action == "play" and play.credentials.token == "jwt.a.b"


def test_srs_stop_and_unpublish_end_sessions() -> None:
    body = (
        '{"server_id":"vid-0xk989d","action":"on_stop","client_id":"3y1hw9b6","stream":"livestream",'
        '"param":"?token=jwt.a.b"}'
    )
    stop = parse_srs(body)
    assert isinstance(stop, HookRequest)
    assert (stop.phase, stop.action, stop.server_session, stop.credentials.token) == (
        "end",
        "play",
        "vid-0xk989d/3y1hw9b6",
        "jwt.a.b",
    )
    assert parse_srs('{"action":"on_connect","client_id":"1"}') is None


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "[]",
        '{"action":"on_publish","stream":["x"]}',
        '{"action":"on_what"}',
        '{"action":"on_publish","stream":"s","param":"?token=%C3%A9"}',
        '{"action":"on_publish","stream":"s","client_id":"\u00e9","param":"?token=abc"}',
        "[" * 40 + "]" * 40,
    ],
)
def test_srs_bad_bodies(body: str) -> None:
    with pytest.raises(BadRequest):
        parse_srs(body)


def test_mediamtx_publish_and_bearer_read() -> None:
    hook = parse_mediamtx(MEDIAMTX_PUBLISH)
    assert isinstance(hook, HookRequest)
    assert (hook.stream_id, hook.action, hook.credentials.token) == ("cam1", "publish", "abc123")
    read = parse_mediamtx(MEDIAMTX_READ_BEARER)
    assert isinstance(read, HookRequest)
    assert (read.stream_id, read.action, read.credentials.token, read.server_session) == (
        "cam1",
        "play",
        "eyJ.x.y",
        None,
    )


def test_mediamtx_user_and_six_digit_password_are_a_subscriber_and_its_code() -> None:
    body = MEDIAMTX_PUBLISH.replace('"user":"","password":""', '"user":"alice","password":"123456"')
    hook = parse_mediamtx(body.replace("token=abc123", ""))
    assert isinstance(hook, HookRequest)
    assert (hook.credentials.subscriber_id, hook.credentials.subscriber_code, hook.credentials.token) == (
        "alice",
        "123456",
        None,
    )


@pytest.mark.parametrize("action", ["api", "metrics", "pprof", ""])
def test_mediamtx_other_actions_are_refused(action: str) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_mediamtx(MEDIAMTX_PUBLISH.replace('"action":"publish"', f'"action":"{action}"'))
    assert caught.value.field == "action"


def test_antmedia_publish_java_map_and_play() -> None:
    hook = parse_antmedia(ANTMEDIA_PUBLISH)
    assert isinstance(hook, HookRequest)
    assert (hook.stream_id, hook.action, hook.credentials.token, hook.credentials.subscriber_id) == (
        "cam1",
        "publish",
        "abc123",
        "bob",
    )
    play = parse_antmedia(ANTMEDIA_PLAY)
    assert isinstance(play, HookRequest) and play.action == "play"
    assert (play.credentials.token, play.credentials.subscriber_id, play.credentials.subscriber_code) == (
        None,
        "carol",
        "654321",
    )


@pytest.mark.parametrize(
    ("parse", "body", "field"),
    [
        (parse_srs, '{"action":"on_publish","stream":12345,"param":"?token=abc"}', "stream"),
        (parse_mediamtx, '{"action":"publish","path":12345,"query":"token=abc"}', "path"),
        (parse_mediamtx, '{"action":"read","path":"cam1","token":1e20}', "token"),
        (parse_mediamtx, '{"action":"read","path":"cam1","user":12345,"password":"123456"}', "user"),
        (parse_mediamtx, '{"action":"read","path":"cam1","user":"alice","password":123456}', "password"),
        (parse_antmedia, '{"streamId":12345,"mode":"play","token":"abc"}', "streamId"),
        (parse_antmedia, '{"name":12345,"mode":"play","token":"abc"}', "name"),
        (parse_antmedia, '{"streamId":"cam1","token":1.5}', "token"),
        (parse_antmedia, '{"streamId":"cam1","subscriberId":"alice","subscriberCode":123456}', "subscriberCode"),
    ],
)
def test_streams_and_credentials_in_json_hooks_must_be_strings(parse: Any, body: str, field: str) -> None:
    """A number is no stream and no credential (no server sends one there), though its text
    might pass for one: 1e20's is `1e+20`, 12345's a stream id."""
    with pytest.raises(BadRequest) as caught:
        parse(body)
    assert caught.value.field == field


def test_server_fields_may_be_numbers_as_older_srs_sends_client_id() -> None:
    hook = parse_srs('{"action":"on_play","stream":"cam1","client_id":1985,"server_id":"vid-1","param":"?token=abc"}')
    assert isinstance(hook, HookRequest) and (hook.server_session, hook.kick_id) == ("vid-1/1985", "1985")
