"""POST /api/v1/tokens (public): a viewer JWT for one stream, valid 10 minutes by default."""

from streamauth import clock
from streamauth.http import ApiResponse, api, handler, json_body, json_response
from streamauth.models.viewers import ViewerTokenRequest
from streamauth.service.viewers import viewer_service

app = api()


@app.post("/api/v1/tokens")
def create_viewer_token() -> ApiResponse:
    request = ViewerTokenRequest.parse(json_body(app))
    caller = app.current_event.request_context.identity.source_ip or "unknown"
    return json_response(200, {"token": viewer_service().mint(request, caller, clock.now())})


lambda_handler = handler(app)
