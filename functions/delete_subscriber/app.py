"""DELETE /v2/broadcasts/{id}/subscribers/{sid}: Result, success false when unknown."""

from streamauth import clock
from streamauth.http import ApiResponse, api, handler, outcome_result
from streamauth.models.principals import SCOPE_SUBSCRIBERS_WRITE
from streamauth.models.subscribers import parse_subscriber_path
from streamauth.service.subscribers import subscriber_service

app = api(scope=SCOPE_SUBSCRIBERS_WRITE)


@app.delete("/v2/broadcasts/<id>/subscribers/<sid>")
def delete_subscriber(id: str, sid: str) -> ApiResponse:
    stream_id, subscriber_id = parse_subscriber_path(id, sid)
    outcome = subscriber_service().delete(stream_id, subscriber_id, clock.now())
    return outcome_result(
        outcome, f"subscriber {subscriber_id} deleted", f"no subscriber {subscriber_id} for stream {stream_id}"
    )


lambda_handler = handler(app)
