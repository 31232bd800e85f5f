"""POST /hooks/{hookSecret}/antmedia: Ant Media webhookAuthenticateURL and play auth."""

from streamauth import priming
from streamauth.hooks import answer
from streamauth.http import ApiResponse, api, handler
from streamauth.models.hooks import parse_antmedia

app = api()


@app.post("/hooks/<hookSecret>/antmedia")
def hook(hookSecret: str) -> ApiResponse:  # noqa: N803 - the path parameter
    return answer(app, hookSecret, parse_antmedia)


lambda_handler = handler(app)
# SnapStart: imports and builds before the snapshot, refreshes after a restore (streamauth/priming.py)
priming.snapstart("streamauth.service.access", reads=(priming.HOOK_SECRET,))
