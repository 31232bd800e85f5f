"""GET /v2/broadcasts/{id}/token: a one-time stream token."""

from streamauth import clock
from streamauth.http import ApiResponse, api, handler, json_response, principal, query
from streamauth.models.principals import SCOPE_TOKENS_WRITE
from streamauth.models.tokens import TokenRequest
from streamauth.service.tokens import token_service

app = api(scope=SCOPE_TOKENS_WRITE)


@app.get("/v2/broadcasts/<id>/token")
def issue_token(id: str) -> ApiResponse:
    now = clock.now()
    request = TokenRequest.parse(id, query(app), now, issued_by=principal(app).service_account)
    return json_response(200, token_service().issue_one_time(request, now).to_dict())


lambda_handler = handler(app)
