"""The HTTP side of every media-server adapter: hook secret first (so nothing is consumed
on a bad one), the server's body through its parser, then the one access decision.

Replies: allow → 200 `{"code": 0, "allow": true, "reason": "allowed"}` (SRS wants code 0;
nginx-rtmp, MediaMTX and Ant Media look at the status only); refuse → 403 with the reason.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.metrics import MetricUnit

from streamauth import clock
from streamauth.errors import Forbidden
from streamauth.http import ApiResponse, json_response, raw_body
from streamauth.models.hooks import Hook, SessionEvent
from streamauth.observability import logger, metrics
from streamauth.settings import get_keys

Parser = Callable[[str], Hook]
WRONG_HOOK_SECRET = "wrong_hook_secret"


def _check_secret(app: APIGatewayRestResolver) -> None:
    given = (app.current_event.path_parameters or {}).get("hookSecret") or ""
    if not hmac.compare_digest(given.encode(), get_keys().hook_secret.encode()):
        metrics.add_metric(name="HookSecretRefused", unit=MetricUnit.Count, value=1)
        logger.warning("hook refused", extra={"reason": WRONG_HOOK_SECRET})
        raise Forbidden("wrong hook secret")


def answer(app: APIGatewayRestResolver, parse: Parser) -> ApiResponse:
    from streamauth.service.access import access_service

    _check_secret(app)
    hook = parse(raw_body(app))
    now = clock.now()
    if hook is None:
        return json_response(200, {"code": 0, "allow": True, "reason": "ignored"})
    if isinstance(hook, SessionEvent):
        access_service().session_event(hook, now)
        return json_response(200, {"code": 0, "allow": True, "reason": hook.kind})
    decision = access_service().decide(hook, now)
    metrics.add_metric(name="AccessAllowed" if decision.allow else "AccessRefused", unit=MetricUnit.Count, value=1)
    details = {"reason": decision.reason, "server": hook.server, "stream_id": hook.stream_id, "action": hook.action}
    if not decision.allow:
        metrics.add_metric(name=f"AccessRefused_{decision.reason}", unit=MetricUnit.Count, value=1)
        logger.info("access refused", extra=details)
        return json_response(403, {"code": 403, "allow": False, "reason": decision.reason})
    logger.info("access allowed", extra=details)
    return json_response(200, {"code": 0, "allow": True, "reason": decision.reason})
