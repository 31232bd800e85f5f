"""DELETE /v2/broadcasts/{id}/sessions/{sessionId}: end one live session; the media server
drops it at its next renew (nginx-rtmp's on_update) or when pushed (registered servers)."""

from streamauth import clock
from streamauth.http import ApiResponse, api, handler, result
from streamauth.models.common import parse_stream_id
from streamauth.models.principals import SCOPE_TOKENS_WRITE
from streamauth.models.sessions import parse_session_id
from streamauth.service.sessions import session_service

app = api(scope=SCOPE_TOKENS_WRITE)


@app.delete("/v2/broadcasts/<id>/sessions/<sessionId>")
def end_session(id: str, sessionId: str) -> ApiResponse:  # noqa: N803 - the path parameter
    stream_id, session_id = parse_stream_id(id), parse_session_id(sessionId)
    if not session_service().end_by_id(stream_id, session_id, clock.now()):
        return result(False, f"no live session {session_id} on stream {stream_id}")
    return result(True, f"session {session_id} ended")


lambda_handler = handler(app)
