"""GET /api/v1/streams/{id}/public-viewers: whether a stream is open to public viewers now."""

from streamauth import clock
from streamauth.http import ApiResponse, api, handler, json_response
from streamauth.models.common import parse_stream_id
from streamauth.models.principals import SCOPE_READ
from streamauth.service.viewers import public_viewers

app = api(scope=SCOPE_READ)


@app.get("/api/v1/streams/<id>/public-viewers")
def get_public_viewers(id: str) -> ApiResponse:
    return json_response(200, public_viewers(parse_stream_id(id), clock.now()).to_dict())


lambda_handler = handler(app)
