"""GET /hooks/{hookSecret}/http: nginx `auth_request` for HLS/DASH playlists and segments."""

from streamauth import priming
from streamauth.hooks import answer_playback
from streamauth.http import ApiResponse, api, handler

app = api()


@app.get("/hooks/<hookSecret>/http")
def hook(hookSecret: str) -> ApiResponse:  # noqa: N803 - the path parameter
    return answer_playback(app, hookSecret)


lambda_handler = handler(app)
# SnapStart: imports and builds before the snapshot, refreshes after a restore (streamauth/priming.py)
priming.snapstart("streamauth.models.playback", "streamauth.service.playback", reads=(priming.HOOK_SECRET,))
