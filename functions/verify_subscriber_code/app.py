"""POST /v2/broadcasts/{id}/subscribers/{sid}/verify {"code", "type"}: is this time code accepted?"""

from aws_lambda_powertools.metrics import MetricUnit

from streamauth import clock
from streamauth.http import ApiResponse, api, handler, json_body, result, source_ip
from streamauth.models.hooks import PresentedCredentials
from streamauth.models.principals import SCOPE_SUBSCRIBERS_WRITE
from streamauth.models.subscribers import VerifyRequest, parse_subscriber_path
from streamauth.observability import logger, metrics
from streamauth.service.decisions import API, log_decision
from streamauth.service.subscribers import subscriber_service

app = api(scope=SCOPE_SUBSCRIBERS_WRITE)


@app.post("/v2/broadcasts/<id>/subscribers/<sid>/verify")
def verify(id: str, sid: str) -> ApiResponse:
    stream_id, subscriber_id = parse_subscriber_path(id, sid)
    request = VerifyRequest.parse(json_body(app))
    now, address = clock.now(), source_ip(app)
    outcome = subscriber_service().verify(stream_id, subscriber_id, request.code, request.type, now, address)
    credentials = PresentedCredentials(subscriber_id=subscriber_id)  # the code itself is never logged
    log_decision(
        stream_id,
        request.type,
        outcome.success,
        outcome.reason,
        now,
        credentials=credentials,
        server=API,
        address=address,
    )
    if not outcome.success:
        metrics.add_metric(name=f"CodeRefused_{outcome.reason}", unit=MetricUnit.Count, value=1)
        logger.info("code refused", extra={"reason": outcome.reason, "stream_id": stream_id})
    return result(outcome.success, outcome.message)


lambda_handler = handler(app)
