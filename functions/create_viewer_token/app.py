"""POST /api/v1/tokens (public): a viewer JWT for one stream open to public viewers, valid 10 minutes by default."""

from streamauth import clock, priming
from streamauth.http import ApiResponse, api, handler, json_body, json_response
from streamauth.models.viewers import ViewerTokenRequest
from streamauth.service.viewers import viewer_service

app = api()


@app.post("/api/v1/tokens")
def create_viewer_token() -> ApiResponse:
    request = ViewerTokenRequest.parse(json_body(app))
    return json_response(200, {"token": viewer_service().mint(request, clock.now())})


lambda_handler = handler(app)
# SnapStart: imports and builds before the snapshot, refreshes after a restore (streamauth/priming.py)
priming.snapstart(reads=(priming.VIEWER_SIGNING_KEY,))
