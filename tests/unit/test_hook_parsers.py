"""Each media server's documented request body, byte for byte, into one AccessRequest."""

from __future__ import annotations

import pytest

from streamauth.errors import BadRequest
from streamauth.models.hooks import AccessRequest, SessionEvent, parse_antmedia, parse_mediamtx, parse_nginx, parse_srs

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
    assert isinstance(hook, AccessRequest)
    assert (hook.stream_id, hook.action, hook.credentials.token) == ("cam1", "publish", "abc123")
    assert hook.session_id == "nginx-rtmp:127.0.0.1:7:live"


def test_nginx_play_with_subscriber_code() -> None:
    hook = parse_nginx(NGINX_PLAY)
    assert isinstance(hook, AccessRequest) and hook.action == "play"
    assert (hook.credentials.subscriber_id, hook.credentials.subscriber_code) == ("alice", "123456")


def test_nginx_client_cannot_redirect_stream_or_action() -> None:
    injected = NGINX_PUBLISH.replace("token=abc123", "token=abc123&name=other&call=play&app=evil&clientid=1")
    hook = parse_nginx(injected)
    assert isinstance(hook, AccessRequest)
    assert (hook.stream_id, hook.action) == ("cam1", "publish")
    assert hook.session_id == "nginx-rtmp:127.0.0.1:7:live"


def test_nginx_done_and_update_are_session_events() -> None:
    done = parse_nginx("app=live&addr=127.0.0.1&clientid=7&call=publish_done&name=cam1")
    update = parse_nginx("app=live&addr=127.0.0.1&clientid=7&call=update_publish&time=30&timestamp=3000&name=cam1")
    assert done == SessionEvent("nginx-rtmp", "nginx-rtmp:127.0.0.1:7:live", "end")
    assert update == SessionEvent("nginx-rtmp", "nginx-rtmp:127.0.0.1:7:live", "renew")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("call=publish&name=", "name"),
        ("call=publish", "name"),
        ("call=hack&name=x", "call"),
        ("call=play&name=a/b", "name"),
    ],
)
def test_nginx_bad_bodies(body: str, field: str) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_nginx(body)
    assert caught.value.field == field


def test_srs_publish_keeps_param_question_mark_semantics() -> None:
    hook = parse_srs(SRS_PUBLISH)
    assert isinstance(hook, AccessRequest)
    assert (hook.stream_id, hook.action, hook.credentials.token) == ("livestream", "publish", "abc123")
    assert hook.session_id == "srs:vid-0xk989d:341w361a"
    play = parse_srs(SRS_PLAY)
    assert isinstance(play, AccessRequest) and play.action == "play" and play.credentials.token == "jwt.a.b"


def test_srs_stop_and_unpublish_end_sessions() -> None:
    body = '{"server_id":"vid-0xk989d","action":"on_stop","client_id":"3y1hw9b6","stream":"livestream"}'
    assert parse_srs(body) == SessionEvent("srs", "srs:vid-0xk989d:3y1hw9b6", "end")
    assert parse_srs('{"action":"on_connect","client_id":"1"}') is None


@pytest.mark.parametrize("body", ["not json", "[]", '{"action":"on_publish","stream":["x"]}', '{"action":"on_what"}'])
def test_srs_bad_bodies(body: str) -> None:
    with pytest.raises(BadRequest):
        parse_srs(body)


def test_mediamtx_publish_and_bearer_read() -> None:
    hook = parse_mediamtx(MEDIAMTX_PUBLISH)
    assert isinstance(hook, AccessRequest)
    assert (hook.stream_id, hook.action, hook.credentials.token) == ("cam1", "publish", "abc123")
    read = parse_mediamtx(MEDIAMTX_READ_BEARER)
    assert isinstance(read, AccessRequest)
    assert (read.stream_id, read.action, read.credentials.token, read.session_id) == ("cam1", "play", "eyJ.x.y", None)


@pytest.mark.parametrize("action", ["api", "metrics", "pprof", ""])
def test_mediamtx_other_actions_are_refused(action: str) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_mediamtx(MEDIAMTX_PUBLISH.replace('"action":"publish"', f'"action":"{action}"'))
    assert caught.value.field == "action"


def test_antmedia_publish_java_map_and_play() -> None:
    hook = parse_antmedia(ANTMEDIA_PUBLISH)
    assert isinstance(hook, AccessRequest)
    assert (hook.stream_id, hook.action, hook.credentials.token, hook.credentials.subscriber_id) == (
        "cam1",
        "publish",
        "abc123",
        "bob",
    )
    play = parse_antmedia(ANTMEDIA_PLAY)
    assert isinstance(play, AccessRequest) and play.action == "play"
    assert (play.credentials.token, play.credentials.subscriber_id, play.credentials.subscriber_code) == (
        None,
        "carol",
        "654321",
    )
