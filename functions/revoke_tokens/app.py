"""DELETE /v2/broadcasts/{id}/tokens: revoke every token of the stream, JWT stream tokens and viewer JWTs included."""

from streamauth import clock
from streamauth.http import ApiResponse, ant_media_result, api, handler
from streamauth.models.common import parse_stream_id
from streamauth.models.principals import SCOPE_TOKENS_WRITE
from streamauth.service.tokens import token_service

app = api(scope=SCOPE_TOKENS_WRITE, ant_media=True)


@app.delete("/v2/broadcasts/<id>/tokens")
def revoke_tokens(id: str) -> ApiResponse:
    stream_id = parse_stream_id(id)
    token_service().revoke_all(stream_id, clock.now())  # a later revocation may already stand: all are dead either way
    return ant_media_result(True)


lambda_handler = handler(app)
