"""GET /.well-known/jwks.json (public): the ES256 keys tokens are signed with, public parts only
(RFC 7517: kty, crv, x, y, kid, alg, use "sig"), next, current and previous; cacheable for
JwksCacheSeconds. Read from the published keys (PublicSigningKeysSecret): this function holds
no key that signs, and needs no `cryptography`."""

from streamauth import clock
from streamauth.http import ApiResponse, api, handler, json_response
from streamauth.logic.keyset import published
from streamauth.service.jwt_codecs import public_keys
from streamauth.settings import get_settings

app = api()


@app.get("/.well-known/jwks.json")
def jwks() -> ApiResponse:
    keys = [key.jwk() for key in published(public_keys(), clock.now())]
    cache = f"public, max-age={get_settings().jwks_cache_seconds}"
    return json_response(200, {"keys": keys}, headers={"Cache-Control": cache})


lambda_handler = handler(app)
