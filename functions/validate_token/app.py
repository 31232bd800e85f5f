"""POST /v2/broadcasts/validate-token: consume a one-time token, or check a JWT stream token."""

from aws_lambda_powertools.metrics import MetricUnit

from streamauth import clock, priming
from streamauth.http import ApiResponse, ant_media_result, api, handler, json_body
from streamauth.logic.admission import Reason
from streamauth.models.hooks import PresentedCredentials
from streamauth.models.principals import SCOPE_TOKENS_WRITE
from streamauth.models.tokens import ValidateRequest
from streamauth.observability import metrics
from streamauth.service.decisions import API, log_decision
from streamauth.service.tokens import token_service

app = api(scope=SCOPE_TOKENS_WRITE, ant_media=True)


@app.post("/v2/broadcasts/validate-token")
def validate_token() -> ApiResponse:
    request = ValidateRequest.parse(json_body(app))
    now = clock.now()
    reason = token_service().validate_reason(request, now)
    valid = reason is Reason.ALLOWED
    log_decision(
        request.stream_id,
        request.type,
        valid,
        reason,
        now,
        credentials=PresentedCredentials(request.token_id),
        server=API,
    )
    metrics.add_metric(name="TokenAccepted" if valid else "TokenRefused", unit=MetricUnit.Count, value=1)
    return ant_media_result(valid)  # Ant Media's Result(valid): no message either way


lambda_handler = handler(app)
# SnapStart: imports and builds before the snapshot, refreshes after a restore (streamauth/priming.py)
priming.snapstart("streamauth.service.sessions")
