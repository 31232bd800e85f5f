"""PUT /v2/broadcasts/{id}/subscribers/{sid}/block {"blockedType", "seconds"},
and Ant Media's own form PUT .../block/{seconds}/{type}."""

from streamauth import clock
from streamauth.auth import SCOPE_SUBSCRIBERS_WRITE
from streamauth.http import ApiResponse, api, handler, json_body, result
from streamauth.models.subscribers import BlockRequest, parse_subscriber_path
from streamauth.service.subscribers import subscriber_service

app = api(scope=SCOPE_SUBSCRIBERS_WRITE)


def _block(request_of: BlockRequest) -> ApiResponse:
    stream_id, subscriber_id = parse_subscriber_path(app.current_event.path_parameters)
    if not subscriber_service().block(stream_id, subscriber_id, request_of, clock.now()):
        return result(False, f"no subscriber {subscriber_id} for stream {stream_id}")
    return result(True, f"subscriber {subscriber_id} blocked ({request_of.blocked_type}) for {request_of.seconds} s")


@app.put("/v2/broadcasts/<id>/subscribers/<sid>/block")
def block_subscriber(id: str, sid: str) -> ApiResponse:
    body = json_body(app)
    return _block(BlockRequest.parse(body.get("blockedType"), body.get("seconds")))


@app.put("/v2/broadcasts/<id>/subscribers/<sid>/block/<seconds>/<type>")
def block_subscriber_path(id: str, sid: str, seconds: str, type: str) -> ApiResponse:
    params = app.current_event.path_parameters
    return _block(BlockRequest.parse(params.get("type"), params.get("seconds")))


lambda_handler = handler(app)
