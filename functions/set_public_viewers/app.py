"""PUT /api/v1/streams/{id}/public-viewers {"enabled": bool}: open or close a stream to viewer JWTs."""

from streamauth.auth import SCOPE_TOKENS_WRITE
from streamauth.http import ApiResponse, api, handler, json_body, result
from streamauth.models.common import parse_stream_id
from streamauth.models.viewers import PublicAccessRequest
from streamauth.service.viewers import viewer_service

app = api(scope=SCOPE_TOKENS_WRITE)


@app.put("/api/v1/streams/<id>/public-viewers")
def set_public_viewers(id: str) -> ApiResponse:
    stream_id = parse_stream_id(app.current_event.path_parameters.get("id"))
    request = PublicAccessRequest.parse(json_body(app))
    viewer_service().set_public(stream_id, request.enabled)
    state = "open to" if request.enabled else "closed to"
    return result(True, f"stream {stream_id} is {state} public viewers")


lambda_handler = handler(app)
