"""streamauth's docker-free twin of `sam local`.

    python -m localapi run [--host 127.0.0.1] [--port 3000] [--workers-per-function 1]
    python -m localapi invoke <FunctionLogicalId> -e events/<file>.json
    python -m localapi admin-token [--expires-in SECONDS] [--stack NAME | --secret-id ARN]
    python -m localapi hook-url [--base URL] [--stack NAME | --secret-id ARN]
    python -m localapi check-keys [--stack NAME]
    python -m localapi rotate-keys [--stack NAME]
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

from localapi import keys
from localapi import template as tpl
from localapi.runtime import MAX_WORKERS_PER_FUNCTION, Backend, Lambdas, event_file


def _stack_outputs(stack: str) -> dict[str, str]:
    import boto3

    described = boto3.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}


def _stack_secret_strings(stack: str) -> dict[str, str]:
    """Every secret of a deployed stack, by template logical id (the operator's own credentials
    can read them all; no function can)."""
    import boto3

    resources = boto3.client("cloudformation").describe_stack_resources(StackName=stack)["StackResources"]
    client = boto3.client("secretsmanager")
    return {
        r["LogicalResourceId"]: client.get_secret_value(SecretId=r["PhysicalResourceId"])["SecretString"]
        for r in resources
        if r["ResourceType"] == "AWS::SecretsManager::Secret"
    }


def _secret_key(secret_id: str | None, name: str, key: str, stack: str | None = None, output: str = "") -> str:
    """One key: from a deployed stack (by name, or its secret's ARN), or the local deployment's."""
    if stack and not secret_id:
        secret_id = _stack_outputs(stack)[output]
    if secret_id:
        import boto3

        from streamauth.settings import keys_from_secret

        secret_string = boto3.client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"]
        return keys_from_secret(name, secret_string)[key]
    return keys.key_of(keys.local_secret_strings(), key)


def _admin_token(rest_jwt_secret: str, expires_in: int, subject: str) -> str:
    from streamauth.logic import signing

    now = int(time.time())
    claims: dict[str, Any] = {"sub": subject, "iat": now}
    if expires_in > 0:
        claims["exp"] = now + expires_in
    return signing.encode(claims, rest_jwt_secret)


def cmd_admin_token(args: argparse.Namespace) -> int:
    key = _secret_key(args.secret_id, "operator", "restJwtSecret", args.stack, "OperatorSecretArn")
    print(_admin_token(key, args.expires_in, args.subject))
    return 0


def cmd_hook_url(args: argparse.Namespace) -> int:
    base = args.base or (_stack_outputs(args.stack)["ApiUrl"] if args.stack else "http://127.0.0.1:3000")
    secret = _secret_key(args.secret_id, "hook", "hookSecret", args.stack, "HookSecretArn")
    print(f"{base.rstrip('/')}/hooks/{secret}")
    return 0


def cmd_check_keys(args: argparse.Namespace) -> int:
    """Every key at least 32 bytes and no two alike, across all the secrets; names, never values."""
    from streamauth.errors import ConfigurationError

    strings = _stack_secret_strings(args.stack) if args.stack else keys.local_secret_strings()
    try:
        keys.check(strings)
    except ConfigurationError as exc:
        print(f"keys refused: {exc.message}", file=sys.stderr)
        return 1
    print(f"{len(strings)} secrets: every key at least 32 bytes, no two alike")
    return 0


def cmd_rotate_keys(args: argparse.Namespace) -> int:
    """Rotate the ES256 signing keys: a deployed stack's through Secrets Manager (its rotation
    function runs the four steps), or the local ones in .local/secrets.json (the same plan)."""
    if args.stack:
        import boto3

        arn = _stack_outputs(args.stack)["SigningKeysSecretArn"]
        boto3.client("secretsmanager").rotate_secret(SecretId=arn)
        print(f"rotation of {arn} started: its rotation function adds a next key and publishes it")
        return 0
    from streamauth.service.rotation import local_rotation

    strings = keys.local_secret_strings()
    private_id, public_id = keys.signing_secret_ids()
    private, public, described = local_rotation(strings[private_id], int(time.time()), keys.local_timeline())
    existing = json.loads(keys.LOCAL_FILE.read_text())
    existing[private_id], existing[public_id] = private, public
    keys.write_local(existing)
    print(f"local signing keys: {described}")
    print(f"in {keys.LOCAL_FILE}; restart make run to serve them")
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
    from streamauth.errors import ConfigurationError

    try:  # the functions' start-up rule, across every secret: refuse to start, naming the keys
        keys.check(keys.local_secret_strings())
    except ConfigurationError as exc:
        print(f"streamauth local API refuses to start: {exc.message} (in {keys.LOCAL_FILE})", file=sys.stderr)
        return 1
    backend = Backend(os.environ.get("DYNAMODB_ENDPOINT") or None).start()
    lambdas = Lambdas(backend, args.workers_per_function)
    server = serve(Gateway(lambdas), args.host, args.port)

    def interrupt(*_: Any) -> None:
        raise KeyboardInterrupt  # SIGTERM stops the runner as Ctrl-C (SIGINT) does

    signal.signal(signal.SIGTERM, interrupt)
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
        # A second signal must not cut the cleanup short; if the cleanup itself hangs, the
        # watchdog kills the workers and leaves a few seconds later regardless.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)

        def give_up() -> None:
            lambdas.kill()
            os._exit(1)

        watchdog = threading.Timer(5.0, give_up)
        watchdog.daemon = True
        watchdog.start()
        server.server_close()  # no new connections
        lambdas.stop()  # every worker killed and reaped; requests in flight get a 502
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
    run.add_argument(
        "--workers-per-function",
        type=int,
        default=MAX_WORKERS_PER_FUNCTION,
        help=f"warm worker processes per function, at most (default {MAX_WORKERS_PER_FUNCTION})",
    )
    run.set_defaults(func=cmd_run)
    invoke = sub.add_parser("invoke", help="run one function on a sample event (like sam local invoke)")
    invoke.add_argument("function", help="logical id in template.yaml, e.g. IssueTokenFunction")
    invoke.add_argument("-e", "--event", help="event JSON file, e.g. events/issue_token.json")
    invoke.set_defaults(func=cmd_invoke)
    admin = sub.add_parser("admin-token", help="print an operator JWT (Authorization: Bearer ...)")
    admin.add_argument("--expires-in", type=int, default=3600, help="seconds; 0 for no exp claim")
    admin.add_argument("--subject", default="admin")
    admin.add_argument("--stack", help="a deployed stack's name (its OperatorSecretArn output)")
    admin.add_argument("--secret-id", help="a deployed stack's operator secret ARN (default: the local one)")
    admin.set_defaults(func=cmd_admin_token)
    hook = sub.add_parser("hook-url", help="print the media-server hook URL prefix (it holds the hook secret)")
    hook.add_argument("--base", help="API base URL (default: the stack's ApiUrl, or the local API)")
    hook.add_argument("--stack", help="a deployed stack's name (its ApiUrl and HookSecretArn outputs)")
    hook.add_argument("--secret-id", help="a deployed stack's hook secret ARN (default: the local one)")
    hook.set_defaults(func=cmd_hook_url)
    check = sub.add_parser("check-keys", help="every key >= 32 bytes and no two alike, across all secrets")
    check.add_argument("--stack", help="a deployed stack's name (default: the local secrets)")
    check.set_defaults(func=cmd_check_keys)
    rotate = sub.add_parser("rotate-keys", help="rotate the ES256 signing keys (local, or a stack's rotation)")
    rotate.add_argument("--stack", help="a deployed stack's name (its SigningKeysSecretArn output)")
    rotate.set_defaults(func=cmd_rotate_keys)
    put = sub.add_parser("put-event", help="deliver an EventBridge event to the running local API's consumers")
    put.add_argument("event", help="an event JSON file, e.g. events/revoke_stream_tokens.json")
    put.add_argument("--api", default="http://127.0.0.1:3000")
    put.set_defaults(func=cmd_put_event)
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
