"""PUT /v2/broadcasts/{id}/subscribers/{sid}/block {"blockedType", "seconds"},
and Ant Media's own form PUT .../block/{seconds}/{type}."""

from streamauth import clock
from streamauth.http import ApiResponse, api, handler, json_body, outcome_result
from streamauth.models.principals import SCOPE_SUBSCRIBERS_WRITE
from streamauth.models.subscribers import BlockRequest, parse_subscriber_path
from streamauth.service.subscribers import subscriber_service

app = api(scope=SCOPE_SUBSCRIBERS_WRITE)


def _block(id: str, sid: str, request: BlockRequest) -> ApiResponse:
    stream_id, subscriber_id = parse_subscriber_path(id, sid)
    outcome = subscriber_service().block(stream_id, subscriber_id, request, clock.now())
    done = f"subscriber {subscriber_id} blocked ({request.blocked_type}) for {request.seconds} s"
    return outcome_result(outcome, done, f"no subscriber {subscriber_id} for stream {stream_id}")


@app.put("/v2/broadcasts/<id>/subscribers/<sid>/block")
def block_subscriber(id: str, sid: str) -> ApiResponse:
    return _block(id, sid, BlockRequest.from_json(json_body(app)))


@app.put("/v2/broadcasts/<id>/subscribers/<sid>/block/<seconds>/<type>")
def block_subscriber_path(id: str, sid: str, seconds: str, type: str) -> ApiResponse:
    return _block(id, sid, BlockRequest.from_path(seconds, type))


lambda_handler = handler(app)
