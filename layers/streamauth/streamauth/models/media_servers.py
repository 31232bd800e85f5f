"""The media-server registry: which servers the session enforcer may tell to end a session.

One Secrets Manager secret per deployment (`MediaServersSecret`, settings purpose
`mediaServers`), edited by operators with put-secret-value:

    {"servers": [
      {"id": "mtx1", "kind": "mediamtx", "apiUrl": "http://10.0.0.5:9997", "username": "...", "password": "..."},
      {"id": "srs1", "kind": "srs", "apiUrl": "http://10.0.0.6:1985"},
      {"id": "ams1", "kind": "antmedia", "apiUrl": "https://ams:5443/LiveApp", "authorization": "Bearer <JWT>"}
    ]}

`id` is what the server's hook URLs carry as `?server=<id>` (models/hooks.py SERVER_ID), so a
session names the server that admitted it. Credentials are either `username` + `password`
(HTTP Basic: MediaMTX, SRS's `http_api.auth`) or `authorization` (the header's whole value,
e.g. Ant Media's REST JWT). nginx-rtmp is never registered: its renew hook refuses revoked
sessions itself. A malformed registry is a ConfigurationError naming the entry and field,
never a credential.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

from streamauth.errors import ConfigurationError
from streamauth.models.hooks import SERVER_ID

PushKind = Literal["srs", "mediamtx", "antmedia"]
PUSH_KINDS: tuple[PushKind, ...] = ("srs", "mediamtx", "antmedia")  # models/hooks.py: SRS, MEDIAMTX, ANTMEDIA
MAX_SERVERS = 100
_FIELDS = {"id", "kind", "apiUrl", "username", "password", "authorization"}
_HEADER_VALUE = re.compile(r"[\x20-\x7e]{1,4096}")  # printable ASCII: no CR/LF, so no header injection


@dataclass(frozen=True)
class MediaServer:
    id: str
    kind: PushKind
    api_url: str  # scheme://host[:port][/base path], without a trailing slash
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    authorization: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Registry:
    servers: tuple[MediaServer, ...] = ()

    def server_for(self, kind: str, server_id: str | None) -> MediaServer | str:
        """The server a session of `kind` admitted by `server_id` (the hook URL's ?server=) is
        ended on; without an id, the only registered server of that kind. Else why not."""
        if server_id is not None:
            named = next((s for s in self.servers if s.id == server_id), None)
            if named is None:
                return f"no server {server_id} registered"
            return named if named.kind == kind else f"server {server_id} is registered as {named.kind}, not {kind}"
        of_kind = [s for s in self.servers if s.kind == kind]
        if len(of_kind) == 1:
            return of_kind[0]
        if not of_kind:
            return f"no {kind} server registered"
        return f"{len(of_kind)} {kind} servers registered and the session names none (add ?server=<id> to its hooks)"


def _text(entry: dict[str, object], name: str, where: str) -> str | None:
    value = entry.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not _HEADER_VALUE.fullmatch(value):
        raise ConfigurationError(f"{where}.{name} must be 1-4096 printable ASCII characters")
    return value


def _api_url(value: object, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigurationError(f"{where}.apiUrl is required")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(f"{where}.apiUrl must be an http:// or https:// URL with a host")
    if parts.username is not None or parts.password is not None:
        raise ConfigurationError(f"{where}.apiUrl must not carry credentials: use username/password or authorization")
    if parts.query or parts.fragment or not _HEADER_VALUE.fullmatch(value) or " " in value:
        raise ConfigurationError(f"{where}.apiUrl must have no query, fragment or spaces")
    try:
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise ConfigurationError(f"{where}.apiUrl has a bad port") from exc
    return value.rstrip("/")


def _server(entry: object, index: int) -> MediaServer:
    where = f"servers[{index}]"
    if not isinstance(entry, dict):
        raise ConfigurationError(f"{where} must be a JSON object")
    unknown = sorted(set(entry) - _FIELDS)
    if unknown:
        raise ConfigurationError(f"{where} has unknown fields: {', '.join(unknown)}")
    server_id = entry.get("id")
    if not isinstance(server_id, str) or not SERVER_ID.fullmatch(server_id):
        raise ConfigurationError(f"{where}.id must be 1-64 letters, digits, '_', '-' or '.'")
    kind = entry.get("kind")
    if kind not in PUSH_KINDS:
        raise ConfigurationError(
            f"{where}.kind must be one of {', '.join(PUSH_KINDS)} (nginx-rtmp needs none: its renew hook ends sessions)"
        )
    username, password = _text(entry, "username", where), _text(entry, "password", where)
    authorization = _text(entry, "authorization", where)
    if (username is None) != (password is None):
        raise ConfigurationError(f"{where}: username and password go together")
    if username is not None and authorization is not None:
        raise ConfigurationError(f"{where}: either username/password or authorization, not both")
    if username is not None and ":" in username:
        raise ConfigurationError(f"{where}.username must not contain ':' (HTTP Basic)")
    return MediaServer(
        server_id,
        kind,  # type: ignore[arg-type]  # checked against PUSH_KINDS above
        _api_url(entry.get("apiUrl"), where),
        username,
        password,
        authorization,
    )


def parse_registry(secret_string: str) -> Registry:
    """The registry as the secret holds it; ConfigurationError names what is wrong, never a value."""
    try:
        data = json.loads(secret_string)
    except ValueError as exc:
        raise ConfigurationError("the mediaServers secret is not JSON") from exc
    if not isinstance(data, dict) or not isinstance(data.get("servers"), list):
        raise ConfigurationError('the mediaServers secret must be {"servers": [...]}')
    entries: list[object] = data["servers"]
    if len(entries) > MAX_SERVERS:
        raise ConfigurationError(f"the mediaServers secret lists more than {MAX_SERVERS} servers")
    servers = tuple(_server(entry, i) for i, entry in enumerate(entries))
    ids = [s.id for s in servers]
    duplicated = sorted({i for i in ids if ids.count(i) > 1})
    if duplicated:
        raise ConfigurationError(f"server ids registered twice: {', '.join(duplicated)}")
    return Registry(servers)
