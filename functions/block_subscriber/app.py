"""PUT /v2/broadcasts/{id}/subscribers/{sid}/block {"blockedType", "seconds"} (streamauth's form),
and Ant Media's own PUT .../block/{seconds}/{type} (also at /<AppName>/rest/v2/...)."""

from streamauth import clock
from streamauth.http import ApiResponse, ant_media_result, api, handler, json_body, outcome_result
from streamauth.models.principals import SCOPE_SUBSCRIBERS_WRITE
from streamauth.models.subscribers import BlockRequest, parse_subscriber_path
from streamauth.service.subscribers import subscriber_service

ANT_MEDIA_FORM = "/v2/broadcasts/{id}/subscribers/{sid}/block/{seconds}/{type}"
app = api(scope=SCOPE_SUBSCRIBERS_WRITE, ant_media=(ANT_MEDIA_FORM,))


@app.put("/v2/broadcasts/<id>/subscribers/<sid>/block")
def block_subscriber(id: str, sid: str) -> ApiResponse:
    stream_id, subscriber_id = parse_subscriber_path(id, sid)
    request = BlockRequest.from_json(json_body(app))
    outcome = subscriber_service().block(stream_id, subscriber_id, request, clock.now())
    done = f"subscriber blocked ({request.blocked_type}) for {request.seconds} s"
    return outcome_result(outcome, done, "no such subscriber")


@app.put("/v2/broadcasts/<id>/subscribers/<sid>/block/<seconds>/<type>")
def block_subscriber_path(id: str, sid: str, seconds: str, type: str) -> ApiResponse:
    stream_id, subscriber_id = parse_subscriber_path(id, sid)
    outcome = subscriber_service().block(stream_id, subscriber_id, BlockRequest.from_path(seconds, type), clock.now())
    if outcome == "stale":
        return outcome_result(outcome, "", "")
    return ant_media_result(outcome == "applied")


lambda_handler = handler(app)
