"""One HTTP request to a media server's API, with the standard library only.

http.client (urllib's own transport) rather than urllib.request: urllib.request rewrites
header names ("Content-type"), gives every POST a form Content-Type, takes proxies from the
environment and follows redirects with the Authorization header. Here exactly the request
logic/kicks.py built is sent, directly, with short timeouts; a redirect is an answer like any
other. HTTPS certificates are verified.
"""

from __future__ import annotations

import http.client
import ssl
from dataclasses import dataclass
from functools import cache
from urllib.parse import urlsplit

from streamauth.logic.kicks import KickRequest

TIMEOUT_SECONDS = 3.0  # connect, and each read: a media server's API answers in milliseconds
MAX_REPLY_BYTES = 64 * 1024


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes


class Unreachable(Exception):
    """No HTTP answer: refused, reset, timed out, TLS failed. `reason` is short and safe to log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@cache
def _tls() -> ssl.SSLContext:
    return ssl.create_default_context()


def send(request: KickRequest, timeout: float = TIMEOUT_SECONDS) -> Reply:
    parts = urlsplit(request.url)
    host, port = parts.hostname or "", parts.port
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        connection = http.client.HTTPSConnection(host, port, timeout=timeout, context=_tls())
    else:
        connection = http.client.HTTPConnection(host, port, timeout=timeout)
    target = parts.path or "/"
    try:
        connection.request(request.method, target, headers=dict(request.headers))
        response = connection.getresponse()
        return Reply(response.status, response.read(MAX_REPLY_BYTES))
    except TimeoutError as exc:
        raise Unreachable("timeout") from exc
    except ssl.SSLError as exc:
        raise Unreachable("tls") from exc
    except (OSError, http.client.HTTPException) as exc:
        raise Unreachable("unreachable") from exc
    finally:
        connection.close()
