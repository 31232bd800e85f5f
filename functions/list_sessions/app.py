"""GET /v2/broadcasts/{id}/sessions: the stream's live sessions (every admitted publish and play)."""

from streamauth import clock
from streamauth.http import ApiResponse, api, handler, json_response
from streamauth.models.common import parse_stream_id
from streamauth.models.principals import SCOPE_READ
from streamauth.service.sessions import session_service

app = api(scope=SCOPE_READ)


@app.get("/v2/broadcasts/<id>/sessions")
def list_sessions(id: str) -> ApiResponse:
    sessions = session_service().list(parse_stream_id(id), clock.now())
    return json_response(200, [session.to_dict() for session in sessions])


lambda_handler = handler(app)
