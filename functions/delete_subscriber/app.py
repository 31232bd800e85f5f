"""DELETE /v2/broadcasts/{id}/subscribers/{sid} (and /<AppName>/rest/v2/...): Result, success false when unknown."""

from streamauth import clock
from streamauth.http import ApiResponse, ant_media_result, api, handler, outcome_result
from streamauth.models.principals import SCOPE_SUBSCRIBERS_WRITE
from streamauth.models.subscribers import parse_subscriber_path
from streamauth.service.subscribers import subscriber_service

app = api(scope=SCOPE_SUBSCRIBERS_WRITE, ant_media=True)


@app.delete("/v2/broadcasts/<id>/subscribers/<sid>")
def delete_subscriber(id: str, sid: str) -> ApiResponse:
    stream_id, subscriber_id = parse_subscriber_path(id, sid)
    outcome = subscriber_service().delete(stream_id, subscriber_id, clock.now())
    if outcome == "stale":
        return outcome_result(outcome, "", "")
    return ant_media_result(outcome == "applied")


lambda_handler = handler(app)
