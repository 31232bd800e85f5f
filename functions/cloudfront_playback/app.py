"""GET /v2/broadcasts/{id}/playback (public): a play credential in the query (`token=`, or
`subscriberId=&subscriberCode=`), CloudFront signed cookies out: 200 with the three `Set-Cookie`
headers CloudFront reads (four with SHA-256), 403 with the reason when the credential does not
admit, 400 naming a bad field, 404 when the deployment has no CloudFront domain."""

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.shared.cookies import Cookie, SameSite

from streamauth import clock
from streamauth.http import ApiResponse, api, handler, json_response
from streamauth.models.cloudfront import parse_cloudfront_playback
from streamauth.observability import logger, metrics
from streamauth.service.cloudfront import CLOUDFRONT, cloudfront_service
from streamauth.service.decisions import log_decision

app = api()


@app.get("/v2/broadcasts/<id>/playback")
def playback(id: str) -> ApiResponse:
    service = cloudfront_service()
    service.require_enabled()
    event = app.current_event
    request = parse_cloudfront_playback(
        id,
        event.multi_value_query_string_parameters,
        event.request_context.identity.source_ip,
        event.get_header_value("CloudFront-Viewer-Country", default_value=None, case_sensitive=False),
        event.get_header_value("Origin", default_value=None, case_sensitive=False),
        event.get_header_value("Referer", default_value=None, case_sensitive=False),
    )
    now = clock.now()
    grant = service.grant(request, now)
    details = {"server": "cloudfront", "stream_id": request.stream_id, "reason": grant.reason}
    log_decision(
        request.stream_id,
        "play",
        grant.allow,
        grant.reason,
        now,
        credentials=request.credentials,
        session_id=grant.session_id,
        server=CLOUDFRONT,
        address=request.client_ip,
    )
    if not grant.allow:
        metrics.add_metric(name="CloudFrontPlaybackRefused", unit=MetricUnit.Count, value=1)
        metrics.add_metric(name=f"AccessRefused_{grant.reason}", unit=MetricUnit.Count, value=1)
        logger.info("cloudfront playback refused", extra=details)
        body = {"success": False, "message": f"play refused: {grant.reason}", "reason": grant.reason}
        return json_response(403, {**body, "dataId": None, "errorId": 403})
    metrics.add_metric(name="CloudFrontPlaybackAllowed", unit=MetricUnit.Count, value=1)
    logger.info("cloudfront playback admitted", extra={**details, "session_id": grant.session_id or ""})
    cookies = [
        Cookie(
            name,
            value,
            path=grant.cookie_path,
            domain=grant.cookie_domain,
            secure=True,
            http_only=True,
            max_age=grant.max_age,
            same_site=SameSite(grant.same_site),
        )
        for name, value in grant.cookies
    ]
    body = {"success": True, "expires": grant.expires, "resource": grant.resource, "sessionId": grant.session_id}
    return json_response(200, body, cookies=cookies)


lambda_handler = handler(app)
