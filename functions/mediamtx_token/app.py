"""GET /v2/broadcasts/{id}/mediamtx-token?action=publish|read|playback[&expireDate]: a token for
MediaMTX's JWT mode (authMethod: jwt), ES256 with a `kid` from the JWKS, one permission
(`mediamtx_permissions: [{"action", "path": <stream>}]`), `iss`, `aud`, `exp` (default: an hour)."""

from streamauth import clock
from streamauth.http import ApiResponse, api, handler, json_response, query
from streamauth.models.principals import SCOPE_TOKENS_WRITE
from streamauth.models.tokens import MediaMtxTokenRequest
from streamauth.service.tokens import issue_mediamtx_token

app = api(scope=SCOPE_TOKENS_WRITE)


@app.get("/v2/broadcasts/<id>/mediamtx-token")
def mediamtx_token(id: str) -> ApiResponse:
    now = clock.now()
    request = MediaMtxTokenRequest.parse(id, query(app), now)
    token = issue_mediamtx_token(request, now)
    body = {"token": token, "streamId": request.stream_id, "action": request.action, "expireDate": request.expire_date}
    return json_response(200, body)


lambda_handler = handler(app)
