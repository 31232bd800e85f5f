"""GET /v2/broadcasts/{id}/decisions and /v2/broadcasts/{id}/sessions/{sessionId}/decisions: the
decision log (every refusal, sampled admissions), newest first, filtered and paginated."""

from streamauth.http import ApiResponse, api, handler, json_response, query
from streamauth.models.common import parse_stream_id
from streamauth.models.decisions import DecisionQuery, parse_decision_query
from streamauth.models.principals import SCOPE_READ
from streamauth.models.sessions import parse_session_id
from streamauth.service.decisions import decision_log

app = api(scope=SCOPE_READ)


def _page(request: DecisionQuery) -> ApiResponse:
    decisions, cursor = decision_log().list(request)
    return json_response(200, {"decisions": [d.to_dict() for d in decisions], "next": cursor})


@app.get("/v2/broadcasts/<id>/decisions")
def list_decisions(id: str) -> ApiResponse:
    return _page(parse_decision_query(parse_stream_id(id), query(app)))


@app.get("/v2/broadcasts/<id>/sessions/<sessionId>/decisions")
def list_session_decisions(id: str, sessionId: str) -> ApiResponse:  # noqa: N803 - the path parameter
    stream_id, session_id = parse_stream_id(id), parse_session_id(sessionId)
    return _page(parse_decision_query(stream_id, query(app), session_id))


lambda_handler = handler(app)
