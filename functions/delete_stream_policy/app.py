"""DELETE /v2/broadcasts/{id}/policy: remove the stream's access policy."""

from streamauth import clock
from streamauth.http import ApiResponse, api, handler, result
from streamauth.models.common import parse_stream_id
from streamauth.models.principals import SCOPE_TOKENS_WRITE
from streamauth.service.streams import stream_service

app = api(scope=SCOPE_TOKENS_WRITE)


@app.delete("/v2/broadcasts/<id>/policy")
def delete_stream_policy(id: str) -> ApiResponse:
    stream_id = parse_stream_id(id)
    if not stream_service().set_policy(stream_id, None, int(clock.now() * 1000)):
        return result(False, f"not applied: a newer change to stream {stream_id}'s policy stands")
    return result(True, f"stream {stream_id} has no access policy")


lambda_handler = handler(app)
