"""PUT /v2/broadcasts/{id}/policy {allowCidrs, denyCidrs, allowCountries, denyCountries,
allowOrigins, notBefore, maxSessionSeconds, protocols, maxSessions, bindOnFirstUse, sharing}:
attach the stream's access policy (it replaces the one before; every credential of the stream is
judged by it, at admission and renew; `sharing` is a stream's field only)."""

from streamauth import clock
from streamauth.http import ApiResponse, api, handler, json_body, json_response, result
from streamauth.models.common import parse_stream_id
from streamauth.models.policies import parse_policy
from streamauth.models.principals import SCOPE_TOKENS_WRITE
from streamauth.service.streams import stream_service

app = api(scope=SCOPE_TOKENS_WRITE)


@app.put("/v2/broadcasts/<id>/policy")
def set_stream_policy(id: str) -> ApiResponse:
    stream_id = parse_stream_id(id)
    policy = parse_policy(json_body(app), "body", stream=True)
    if not stream_service().set_policy(stream_id, policy, int(clock.now() * 1000)):
        return result(False, f"not applied: a newer change to stream {stream_id}'s policy stands")
    return json_response(200, {"streamId": stream_id, "policy": None if policy.empty else policy.to_dict()})


lambda_handler = handler(app)
