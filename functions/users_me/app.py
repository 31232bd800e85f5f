"""GET /api/v1/users/me: who the caller is (service account, operator or public viewer)."""

from streamauth import clock
from streamauth.http import ApiResponse, api, handler, json_response, principal
from streamauth.service.viewers import describe_caller

app = api()


@app.get("/api/v1/users/me")
def users_me() -> ApiResponse:
    return json_response(200, describe_caller(principal(app), clock.now()))


lambda_handler = handler(app)
