"""PUT /api/v1/streams/{id}/public-viewers {"enabled": bool}: open or close a stream to public viewers."""

from streamauth import clock
from streamauth.http import ApiResponse, api, handler, json_body, result
from streamauth.models.common import parse_stream_id
from streamauth.models.principals import SCOPE_TOKENS_WRITE
from streamauth.models.viewers import PublicAccessRequest
from streamauth.service.viewers import viewer_service

app = api(scope=SCOPE_TOKENS_WRITE)


@app.put("/api/v1/streams/<id>/public-viewers")
def set_public_viewers(id: str) -> ApiResponse:
    stream_id = parse_stream_id(id)
    request = PublicAccessRequest.parse(json_body(app))
    if not viewer_service().set_public(stream_id, request.enabled, clock.now()):
        return result(False, f"not applied: a newer change to stream {stream_id} stands")
    if request.enabled:
        return result(True, f"stream {stream_id} is open to public viewers")
    return result(True, f"stream {stream_id} is closed to public viewers; their tokens are revoked")


lambda_handler = handler(app)
