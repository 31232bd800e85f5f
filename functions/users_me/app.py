"""GET /api/v1/users/me: who the caller is (service account, operator or public viewer)."""

from streamauth.http import ApiResponse, api, handler, json_response, principal

app = api()


@app.get("/api/v1/users/me")
def users_me() -> ApiResponse:
    return json_response(200, principal(app).describe())


lambda_handler = handler(app)
