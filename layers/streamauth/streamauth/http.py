"""HTTP plumbing for every API function: the resolver factory (errors → replies in ONE place),
the Lambda entry point wrapper, request accessors that raise BadRequest naming the field,
and the scope check against the authorizer's principal."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Collection
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.shared.cookies import Cookie

from streamauth.errors import BadRequest, StreamAuthError, UnsupportedMediaType, http_status
from streamauth.models.common import Result, parse_json_object
from streamauth.models.principals import Principal, require_scope
from streamauth.observability import logger, metrics
from streamauth.resolver import APIGatewayRestResolver, Response

MAX_BODY_BYTES = 64 * 1024
JSON = "application/json"
_HEADERS = {"Cache-Control": "no-store"}  # replies carry tokens and codes: never cache them
# The characters the resolver's route patterns match in a path segment: any but '/'.
_ROUTABLE_SEGMENT = re.compile(r"[^/]+")
# Ant Media's path form: /<AppName>/rest/v2/... is the same operation as /v2/... (template.yaml
# routes both; `app` must be this deployment's application, ANT_MEDIA_APP_NAME).
ANT_MEDIA_PREFIX = re.compile(r"^/[^/]+/rest(?=/v2/)")
ANT_MEDIA_RESOURCE_PREFIX = "/{app}/rest"
# Refusals of the request as a whole, which Ant Media (JAX-RS) answers with a 4xx as well.
_MALFORMED_FIELDS = frozenset({"body"})

ApiResponse = Response[str]
LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]


def json_response(
    status: int, body: Any, headers: dict[str, str] | None = None, cookies: list[Cookie] | None = None
) -> ApiResponse:
    """A JSON reply; `cookies` become one Set-Cookie header each (multiValueHeaders)."""
    return Response(
        status_code=status,
        content_type=JSON,
        body=json.dumps(body),
        headers={**_HEADERS, **(headers or {})},
        cookies=cookies,
    )


def result(success: bool, message: str | None = None, data_id: str | None = None, status: int = 200) -> ApiResponse:
    return json_response(status, Result(success, message, data_id).to_dict())


def ant_media_result(success: bool, message: str = "", data_id: str = "") -> ApiResponse:
    """A Result as Ant Media's own endpoints answer (its Result(success[, message])): HTTP 200,
    `message` and `dataId` empty strings rather than null."""
    return result(success, message, data_id)


def outcome_result(outcome: str, done: str, unknown: str) -> ApiResponse:
    """The Result of an ordered change: applied; unknown item (success false, as Ant Media
    answers); or stale: a newer change already stands, so this one was acknowledged, not applied."""
    if outcome == "applied":
        return result(True, done)
    if outcome == "unknown":
        return result(False, unknown)
    return result(False, "not applied: a newer change to it already stands")


def error_body(error: StreamAuthError, status: int) -> dict[str, Any]:
    body = Result(False, error.message, None, status).to_dict()
    if error.field is not None:
        body["field"] = error.field
    return body


class _Resolver(APIGatewayRestResolver):
    """Powertools' resolver with path parameters of any character but '/' (Ant Media's subscriber
    ids are wide): each parameter is then parsed by its model, which names it when refused."""

    @staticmethod
    def _compile_regex(rule: str, base_regex: str = "^{}/*$") -> re.Pattern[str]:
        return re.compile(base_regex.format(re.sub(r"(<\w+>)", r"(?P\1[^/]+)", rule)))


def _bad_input_result(error: StreamAuthError) -> ApiResponse:
    """Bad input on an Ant Media endpoint, answered as Ant Media does: 200 `success: false`
    (a client on axios or JAX-RS would throw on a 400), the reason in `message`, `errorId` 400
    and the parameter in `field` as on every other route."""
    body = error_body(error, 400)
    body["dataId"] = ""
    return json_response(200, body)


def api(scope: str | None = None, *, ant_media: bool | Collection[str] = False) -> APIGatewayRestResolver:
    """A resolver whose every failure is a JSON Result; with `scope`, callers need it (else 403).
    `ant_media`: the function is one of Ant Media's Result endpoints (True), or these of its
    routes are (`/v2/...` resources): their bad input is Ant Media's 200 `success: false`."""
    app = _Resolver(strip_prefixes=[ANT_MEDIA_PREFIX])

    def _answers_as_ant_media() -> bool:
        if isinstance(ant_media, bool):
            return ant_media
        resource = app.current_event.resource or ""
        return resource.removeprefix(ANT_MEDIA_RESOURCE_PREFIX) in ant_media

    @app.exception_handler(StreamAuthError)
    def _domain_error(error: StreamAuthError) -> ApiResponse:
        status = http_status(error)
        if status >= 500:
            logger.warning("request failed", extra={"reason": type(error).__name__, "status": status})
        if status == 400 and error.field not in _MALFORMED_FIELDS and _answers_as_ant_media():
            return _bad_input_result(error)
        return json_response(status, error_body(error, status))

    @app.exception_handler(Exception)
    def _unexpected(error: Exception) -> ApiResponse:
        logger.exception("unexpected error")
        return json_response(500, Result(False, "internal error", None, 500).to_dict())

    @app.not_found
    def _not_found(_: Exception) -> ApiResponse:
        # API Gateway routed the request here (its path parameters are set), but a parameter
        # holds characters the resolver's patterns do not match: name it, as a 400.
        for name, value in (app.current_event.path_parameters or {}).items():
            if not _ROUTABLE_SEGMENT.fullmatch(value or ""):
                error = BadRequest(name, "contains characters that are not allowed")
                if _answers_as_ant_media():
                    return _bad_input_result(error)
                return json_response(400, error_body(error, 400))
        return json_response(404, Result(False, "no such route", None, 404).to_dict())

    def _check_application(app: APIGatewayRestResolver, next_middleware: Any) -> Any:
        """`/<AppName>/rest/v2/...` reaches this deployment's application only: another's is a 404."""
        from streamauth.settings import get_settings

        name = (app.current_event.path_parameters or {}).get("app")
        if name is not None and name != get_settings().ant_media_app:
            return json_response(404, Result(False, "no such application", None, 404).to_dict())
        return next_middleware(app)

    app.use(middlewares=[_check_application])
    if scope is not None:

        def _check_scope(app: APIGatewayRestResolver, next_middleware: Any) -> Any:
            require_scope(principal(app), scope)
            return next_middleware(app)

        app.use(middlewares=[_check_scope])
    return app


def handler(app: APIGatewayRestResolver) -> LambdaHandler:
    """The Lambda entry point of a function: correlation id, metrics flush, resolve."""

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
    @metrics.log_metrics(capture_cold_start_metric=True)
    def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return app.resolve(event, context)

    entry: LambdaHandler = lambda_handler
    return entry


def query(app: APIGatewayRestResolver, *, once: bool = True) -> dict[str, str]:
    """The query string's parameters. One given more than once is a 400 naming it: API Gateway
    passes only the last value, so `notBefore=1&notBefore=` would silently be no notBefore.
    `once=False`: each one's FIRST value (a media server's hook: its URL's own parameters, the
    operator's `?server=`, come first, and a server that notifies by GET appends its client's
    arguments after them, so the last value would be the client's to choose)."""
    event = app.current_event
    multi = event.multi_value_query_string_parameters or {}
    if once:
        for name, values in multi.items():
            if len(values) > 1:
                raise BadRequest(name[:64], "is given more than once: give it once")
        return dict(event.query_string_parameters or {})
    return {**(event.query_string_parameters or {}), **{name: values[0] for name, values in multi.items() if values}}


def source_ip(app: APIGatewayRestResolver) -> str:
    """The caller's address as API Gateway saw it."""
    return app.current_event.request_context.identity.source_ip or "unknown"


def principal(app: APIGatewayRestResolver) -> Principal:
    context = app.current_event.request_context.authorizer.raw_event or {}
    return Principal.from_context(context)


def raw_body(app: APIGatewayRestResolver, *, required: bool = True) -> str:
    """The request body as text (UTF-8, at most MAX_BODY_BYTES), or BadRequest("body", why).
    A GET hook (nginx-rtmp's notify_method get) carries its fields in the query string."""
    event = app.current_event
    raw = event.body
    if (raw is None or raw == "") and event.http_method == "GET":
        from urllib.parse import urlencode

        return urlencode(list((event.multi_value_query_string_parameters or {}).items()), doseq=True)
    if raw is None or raw == "":
        if required:
            raise BadRequest("body", "is required")
        return ""
    data: bytes
    if event.is_base64_encoded:
        try:
            data = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise BadRequest("body", "is not valid base64") from exc
    else:
        data = raw.encode("utf-8", "surrogatepass")
    if len(data) > MAX_BODY_BYTES:
        raise BadRequest("body", f"must be at most {MAX_BODY_BYTES} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest("body", "is not valid UTF-8") from exc


def require_json(app: APIGatewayRestResolver) -> None:
    """JSON routes take `application/json` (a UTF-8 charset parameter allowed) and nothing else:
    a form, text or XML post is a 415, so a browser cannot post one cross-site without a
    CORS preflight."""
    value = app.current_event.get_header_value("content-type", default_value="", case_sensitive=False) or ""
    media_type, *parameters = (part.strip().lower() for part in value.split(";"))
    charsets = [p.partition("=")[2].strip('"') for p in parameters if p.startswith("charset=")]
    if media_type != JSON or any(charset not in ("utf-8", "utf8") for charset in charsets):
        raise UnsupportedMediaType("Content-Type: must be application/json", "Content-Type")


def json_body(app: APIGatewayRestResolver) -> dict[str, Any]:
    """The request body as a JSON object, or 415 (not JSON's media type) / 400 naming why."""
    require_json(app)
    return parse_json_object(raw_body(app))
