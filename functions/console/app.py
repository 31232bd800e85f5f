"""GET /console and /console/{file} (public files; every action needs the operator's credential):
the operator console, a single page of plain ES modules (static/, committed) that calls this
same API with the credential the operator signs in with, so the API's scopes apply to each
click. Served from the API's own origin: no CORS, no CDN; the page's Content-Security-Policy
allows nothing from elsewhere, and no form can be submitted (a credential never reaches a URL).
uqr.mjs, the QR encoder (npm `uqr`, pinned in the Makefile), is copied beside the rest by
`make console-ui` (make run and make build do it); without it the page shows the otpauth URI as
text. No AWS call, no secret."""

from pathlib import Path

from aws_lambda_powertools.event_handler import Response

from streamauth.http import ApiResponse, api, handler, json_response

STATIC = Path(__file__).parent / "static"

# The page's files and their types: nothing else under /console/ is served.
FILES = {
    "console.css": "text/css; charset=utf-8",
    "console.js": "text/javascript; charset=utf-8",
    "api.js": "text/javascript; charset=utf-8",
    "otp.js": "text/javascript; charset=utf-8",
    "uqr.mjs": "text/javascript; charset=utf-8",
}
HEADERS = {
    "Cache-Control": "no-cache",  # revalidated: a deployment's new files show at once
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
}

app = api()


@app.get("/console")
def page() -> ApiResponse:
    html = (STATIC / "index.html").read_text(encoding="utf-8")
    return Response(200, "text/html; charset=utf-8", html, headers=HEADERS)


@app.get("/console/<file>")
def asset(file: str) -> ApiResponse:
    path = STATIC / file
    if file not in FILES or not path.is_file():
        hint = " (make console-ui installs the QR encoder)" if file == "uqr.mjs" else ""
        body = {"success": False, "message": f"no such console file: {file}{hint}", "dataId": None, "errorId": 404}
        return json_response(404, body)
    return Response(200, FILES[file], path.read_text(encoding="utf-8"), headers=HEADERS)


lambda_handler = handler(app)
