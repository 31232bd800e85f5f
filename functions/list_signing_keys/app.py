"""GET /api/v1/signing-keys: the published ES256 keys with their state (next, current,
previous) and times, and when the next key starts signing (the JWKS stays plain RFC 7517)."""

from streamauth import clock
from streamauth.http import ApiResponse, api, handler, json_response
from streamauth.models.principals import SCOPE_READ
from streamauth.service.jwt_codecs import key_schedule

app = api(scope=SCOPE_READ)


@app.get("/api/v1/signing-keys")
def list_signing_keys() -> ApiResponse:
    return json_response(200, key_schedule(clock.now()))


lambda_handler = handler(app)
