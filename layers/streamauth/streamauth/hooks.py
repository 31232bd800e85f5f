"""The HTTP side of every media-server adapter: hook secret first (so nothing is consumed
on a bad one), the server's body through its parser, then the one access decision.

Replies: allow → 200 `{"code": 0, "allow": true, "reason": "allowed"}` (SRS wants code 0;
nginx-rtmp, MediaMTX and Ant Media look at the status only); refuse → 403 with the reason.
A renew (nginx-rtmp's on_update) that fails is a refusal, so the server drops the session
(`notify_update_strict on`); an end (done/stop) is acknowledged with 200 whatever it frees.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import replace

from aws_lambda_powertools.metrics import MetricUnit

from streamauth import clock
from streamauth.errors import BadRequest, Forbidden
from streamauth.http import ApiResponse, json_response, query, raw_body, require_json
from streamauth.keys import get_keys
from streamauth.logic.admission import Reason
from streamauth.models.hooks import HTTP, Hook, parse_server_id
from streamauth.observability import logger, metrics
from streamauth.resolver import APIGatewayRestResolver
from streamauth.service.decisions import log_decision, log_hook_decision

Parser = Callable[[str], Hook]


def _check_secret(given: str) -> None:
    if not hmac.compare_digest(given.encode("utf-8", "surrogatepass"), get_keys().hook_secret.encode()):
        metrics.add_metric(name="HookSecretRefused", unit=MetricUnit.Count, value=1)
        logger.warning("hook refused", extra={"reason": Reason.WRONG_HOOK_SECRET})
        raise Forbidden("wrong hook secret")


def answer(app: APIGatewayRestResolver, hook_secret: str, parse: Parser, *, json: bool = True) -> ApiResponse:
    from streamauth.service.access import access_service

    _check_secret(hook_secret)
    if json:
        require_json(app)
    hook = parse(raw_body(app))
    now = clock.now()
    if hook is None:
        return json_response(200, {"code": 0, "allow": True, "reason": Reason.IGNORED})
    server_id = query(app, once=False).get("server")
    if server_id is not None:  # which registered media server this is (its hook URL's ?server=)
        hook = replace(hook, server_id=parse_server_id(server_id))
    details = {"server": hook.server, "stream_id": hook.stream_id, "action": hook.action, "phase": hook.phase}
    if hook.phase == "end":
        ended = access_service().end(hook)
        logger.info("session ended" if ended else "no such session to end", extra=details)
        return json_response(200, {"code": 0, "allow": True, "reason": Reason.ENDED if ended else Reason.IGNORED})
    service = access_service()
    decision = service.decide(hook, now) if hook.phase == "admit" else service.renew(hook, now)
    metrics.add_metric(name="AccessAllowed" if decision.allow else "AccessRefused", unit=MetricUnit.Count, value=1)
    log_hook_decision(hook, decision, now)
    details.update(reason=decision.reason, session_id=decision.session_id or "")
    if not decision.allow:
        metrics.add_metric(name=f"AccessRefused_{decision.reason}", unit=MetricUnit.Count, value=1)
        logger.info("access refused", extra=details)
        return json_response(403, {"code": 403, "allow": False, "reason": decision.reason})
    logger.info("access allowed", extra=details)
    return json_response(200, {"code": 0, "allow": True, "reason": decision.reason})


def answer_playback(app: APIGatewayRestResolver, hook_secret: str) -> ApiResponse:
    """nginx's `auth_request` for HLS/DASH: 200 allows (nginx may cache it for `X-Accel-Expires`
    seconds and hands the player `X-Playback-Cookie` as a cookie), 403 refuses (never cached)."""
    from streamauth.models.playback import parse_playback
    from streamauth.service.playback import playback_service

    _check_secret(hook_secret)
    event = app.current_event

    def header(name: str) -> str | None:
        return event.get_header_value(name, default_value=None, case_sensitive=False)

    # every Cookie header line, joined: a second line must not hide a second playback cookie
    lines = [v for k, vs in (event.multi_value_headers or {}).items() if k.lower() == "cookie" for v in vs or []]
    cookie = "; ".join(lines) if lines else header("Cookie")
    try:
        request = parse_playback(
            header("X-Original-URI"),
            header("X-Stream-Id"),
            cookie,
            header("X-Real-IP"),
            header("CloudFront-Viewer-Country"),
            header("Origin"),
            header("Referer"),
        )
    except BadRequest as exc:
        # auth_request passes only 401 and 403 on to the viewer (any other status is nginx's own
        # 500): a malformed subrequest is refused, naming the field, and never cached
        metrics.add_metric(name="PlaybackRefused", unit=MetricUnit.Count, value=1)
        refused = {"server": "http", "reason": Reason.MALFORMED_REQUEST, "field": exc.field}
        logger.info("playback refused", extra=refused)
        body = {"code": 403, "allow": False, **refused, "message": exc.message}
        del body["server"]
        return json_response(403, body, {"X-Accel-Expires": "0"})
    secure = (header("X-Forwarded-Proto") or "").lower() == "https"
    now = clock.now()
    decision = playback_service().check(request, now, secure)
    details = {"server": "http", "stream_id": request.stream_id, "reason": decision.reason}
    metrics.add_metric(name="PlaybackAllowed" if decision.allow else "PlaybackRefused", unit=MetricUnit.Count, value=1)
    log_decision(
        request.stream_id,
        "play",
        decision.allow,
        decision.reason,
        now,
        credentials=request.credentials,
        server=HTTP,
        address=request.client_ip,
        renewal=decision.reason is Reason.RENEWED or decision.cookie is None,  # allowed by its session
    )
    if not decision.allow:
        metrics.add_metric(name=f"AccessRefused_{decision.reason}", unit=MetricUnit.Count, value=1)
        logger.info("playback refused", extra=details)
        return json_response(403, {"code": 403, "allow": False, "reason": decision.reason}, {"X-Accel-Expires": "0"})
    headers = {"X-Accel-Expires": str(decision.cache_seconds)}
    if decision.cache_seconds > 0:
        # nginx before 1.23 stops at `Cache-Control: no-store` whatever X-Accel-Expires says: this
        # answer (no cookie in it) may be reused by nginx, so it says so both ways.
        headers["Cache-Control"] = f"max-age={decision.cache_seconds}"
    if decision.cookie is not None:
        headers["X-Playback-Cookie"] = decision.cookie
        logger.info("playback admitted", extra=details)
    return json_response(200, {"code": 0, "allow": True, "reason": decision.reason}, headers)
