"""GET /v2/broadcasts/{id}/tokens/list/{offset}/{size}: the stream's live tokens (size capped at 50)."""

from streamauth import clock
from streamauth.http import ApiResponse, api, handler, json_response
from streamauth.models.common import parse_page, parse_stream_id
from streamauth.models.principals import SCOPE_READ
from streamauth.service.tokens import token_service

app = api(scope=SCOPE_READ)


@app.get("/v2/broadcasts/<id>/tokens/list/<offset>/<size>")
def list_tokens(id: str, offset: str, size: str) -> ApiResponse:
    stream_id = parse_stream_id(id)
    first, count = parse_page(offset, size)
    tokens = token_service().list(stream_id, first, count, clock.now())
    return json_response(200, [token.to_dict() for token in tokens])


lambda_handler = handler(app)
