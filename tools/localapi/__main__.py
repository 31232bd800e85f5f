"""streamauth's docker-free twin of `sam local`.

    python -m localapi run [--host 127.0.0.1] [--port 3000]
    python -m localapi invoke <FunctionLogicalId> -e events/<file>.json
    python -m localapi admin-token [--expires-in SECONDS] [--secret-id ARN]
    python -m localapi hook-url [--base URL] [--secret-id ARN]
    python -m localapi put-event events/revoke_stream_tokens.json [--api URL]

Environment: DYNAMODB_ENDPOINT (e.g. http://127.0.0.1:8000 for DynamoDB Local) replaces the
embedded DynamoDB; the embedded moto server still holds the local secret.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from typing import Any

from localapi import template as tpl
from localapi.runtime import Backend, Lambdas, event_file, local_secret


def _admin_token(secret_string: str, expires_in: int, subject: str) -> str:
    from streamauth.logic import signing
    from streamauth.settings import keys_from_secret

    now = int(time.time())
    claims: dict[str, Any] = {"sub": subject, "iat": now}
    if expires_in > 0:
        claims["exp"] = now + expires_in
    return signing.encode(claims, keys_from_secret(secret_string).rest_jwt_secret)


def cmd_admin_token(args: argparse.Namespace) -> int:
    if args.secret_id:
        import boto3

        secret_string = boto3.client("secretsmanager").get_secret_value(SecretId=args.secret_id)["SecretString"]
    else:
        secret_string = local_secret()
    print(_admin_token(secret_string, args.expires_in, args.subject))
    return 0


def cmd_hook_url(args: argparse.Namespace) -> int:
    from streamauth.settings import keys_from_secret

    if args.secret_id:
        import boto3

        secret_string = boto3.client("secretsmanager").get_secret_value(SecretId=args.secret_id)["SecretString"]
    else:
        secret_string = local_secret()
    print(f"{args.base.rstrip('/')}/hooks/{keys_from_secret(secret_string).hook_secret}")
    return 0


def cmd_put_event(args: argparse.Namespace) -> int:
    import urllib.request

    with open(args.event, "rb") as handle:
        body = handle.read()
    if not args.api.startswith(("http://", "https://")):
        print("--api must be an http(s) URL", file=sys.stderr)
        return 2
    request = urllib.request.Request(f"{args.api.rstrip('/')}/_local/events", data=body, method="POST")  # noqa: S310
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=60) as reply:  # noqa: S310 - the local API
        print(reply.read().decode())
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from localapi.gateway import Gateway, serve

    backend = Backend(os.environ.get("DYNAMODB_ENDPOINT") or None).start()
    lambdas = Lambdas(backend)
    server = serve(Gateway(lambdas), args.host, args.port)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    routes = tpl.routes()
    print(f"streamauth local API on http://{args.host}:{args.port} ({len(routes)} routes from template.yaml)")
    print(f"DynamoDB: {backend.dynamodb_endpoint} tables {', '.join(backend.table_names.values())}")
    for route in sorted(routes, key=lambda r: r.path):
        print(f"  {route.method:6} {route.path:55} {route.function}{'' if route.authorizer else '  (public)'}")
    print("Operator JWT for curl:  export TOKEN=$(make -s admin-token)")
    print("Events: make put-event EVENT=events/revoke_stream_tokens.json  (or POST it to /_local/events)")
    print("Media-server hook URLs: $(make -s hook-url)/nginx-rtmp | /srs | /mediamtx | /antmedia")
    print(
        '  then: curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:3000/v2/broadcasts/stream1/token?...',
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        # Requests may still be in flight: give cleanup a few seconds, then leave regardless.
        watchdog = threading.Timer(5.0, lambda: os._exit(0))
        watchdog.daemon = True
        watchdog.start()
        lambdas.stop()
        server.server_close()
        backend.stop()
    return 0


def cmd_invoke(args: argparse.Namespace) -> int:
    functions = tpl.functions()
    if args.function not in functions:
        print(f"unknown function {args.function}; known: {', '.join(sorted(functions))}", file=sys.stderr)
        return 2
    event = event_file(args.event) if args.event else {}
    backend = Backend(os.environ.get("DYNAMODB_ENDPOINT") or None).start()
    lambdas = Lambdas(backend)
    try:
        reply = lambdas.invoke(args.function, event)
    finally:
        lambdas.stop()
        backend.stop()
    print(json.dumps(reply.get("result", reply), indent=2))
    return 0 if "result" in reply else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localapi", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="serve the API from template.yaml")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=3000)
    run.set_defaults(func=cmd_run)
    invoke = sub.add_parser("invoke", help="run one function on a sample event (like sam local invoke)")
    invoke.add_argument("function", help="logical id in template.yaml, e.g. IssueTokenFunction")
    invoke.add_argument("-e", "--event", help="event JSON file, e.g. events/issue_token.json")
    invoke.set_defaults(func=cmd_invoke)
    admin = sub.add_parser("admin-token", help="print an operator JWT (Authorization: Bearer ...)")
    admin.add_argument("--expires-in", type=int, default=3600, help="seconds; 0 for no exp claim")
    admin.add_argument("--subject", default="admin")
    admin.add_argument("--secret-id", help="a deployed stack's SecretArn output (default: the local secret)")
    admin.set_defaults(func=cmd_admin_token)
    hook = sub.add_parser("hook-url", help="print the media-server hook URL prefix (it holds the hook secret)")
    hook.add_argument("--base", default="http://127.0.0.1:3000", help="API base URL (a deployed stack's ApiUrl)")
    hook.add_argument("--secret-id", help="a deployed stack's SecretArn output (default: the local secret)")
    hook.set_defaults(func=cmd_hook_url)
    put = sub.add_parser("put-event", help="deliver an EventBridge event to the running local API's consumers")
    put.add_argument("event", help="an event JSON file, e.g. events/revoke_stream_tokens.json")
    put.add_argument("--api", default="http://127.0.0.1:3000")
    put.set_defaults(func=cmd_put_event)
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
