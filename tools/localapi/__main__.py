"""streamauth's docker-free twin of `sam local`.

    python -m localapi run [--host 127.0.0.1] [--port $PORT or 3000] [--state .local/state.json [--fresh]]
    python -m localapi invoke <FunctionLogicalId> -e events/<file>.json [--api URL]
    python -m localapi admin-token [--expires-in SECONDS] [--stack NAME | --secret-id ARN]
    python -m localapi hook-url [--base URL] [--stack NAME | --secret-id ARN]
    python -m localapi check-keys [--stack NAME]
    python -m localapi rotate-keys [--stack NAME]
    python -m localapi put-event events/revoke_stream_tokens.json [--api URL]

Environment: PORT (default 3000) is the local API's port for every command; DYNAMODB_ENDPOINT
(e.g. http://127.0.0.1:8000 for DynamoDB Local) replaces the embedded DynamoDB; the embedded
moto server still holds the local secret.
"""

from __future__ import annotations

import argparse
import errno
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

DEFAULT_PORT = 3000


def default_port() -> int:
    """$PORT (what `PORT=4200 make run` sets), else 3000."""
    value = os.environ.get("PORT", "")
    return int(value) if value.isdigit() and 0 < int(value) < 65536 else DEFAULT_PORT


def default_api() -> str:
    return f"http://127.0.0.1:{default_port()}"


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

        from streamauth.keys import keys_from_secret

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
    base = args.base or (_stack_outputs(args.stack)["ApiUrl"] if args.stack else default_api())
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


def _post_local(api: str, path: str, body: bytes) -> tuple[int, str] | None:
    """POST to the running local API: (status, body), or None when nothing listens there."""
    import urllib.error
    import urllib.request

    request = urllib.request.Request(f"{api.rstrip('/')}{path}", data=body, method="POST")  # noqa: S310
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=60) as reply:  # noqa: S310 - the local API
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except (urllib.error.URLError, ConnectionError) as exc:
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, ConnectionRefusedError | ConnectionError):
            return None
        raise


def cmd_put_event(args: argparse.Namespace) -> int:
    if not args.api.startswith(("http://", "https://")):
        print("--api must be an http(s) URL", file=sys.stderr)
        return 2
    try:
        with open(args.event, "rb") as handle:
            body = handle.read()
    except OSError as exc:
        print(f"cannot read the event: {exc} (make put-event EVENT=events/<file>.json)", file=sys.stderr)
        return 2
    answer = _post_local(args.api, "/_local/events", body)
    if answer is None:
        print(f"no local API on {args.api}: start it with make run (or set PORT= to its port)", file=sys.stderr)
        return 1
    status, text = answer
    print(text)
    return 0 if status < 400 else 1


def port_problem(host: str, port: int) -> str | None:
    """Why `host:port` cannot be served (one line naming PORT=), or None: tried before anything
    starts, so a taken port is a sentence, never a traceback."""
    import socket

    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds
        try:
            sock.bind((host, port))
        except OSError as exc:
            return _bind_refusal(host, port, exc)
    return None


def _bind_refusal(host: str, port: int, exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return f"port {port} is in use (another make run?): choose a free one, e.g. PORT={port + 1} make run"
    if exc.errno == errno.EACCES:
        return f"port {port} needs privileges: choose one above 1023, e.g. PORT=3000 make run"
    return f"cannot listen on {host}:{port} ({exc.strerror}): choose another, e.g. PORT=3001 make run (or HOST=)"


def cmd_run(args: argparse.Namespace) -> int:
    from localapi.gateway import Gateway, serve
    from localapi.state import StateError
    from localapi.streams import StreamFeed
    from streamauth.errors import ConfigurationError

    problem = port_problem(args.host, args.port)
    if problem:
        print(f"streamauth local API: {problem}", file=sys.stderr)
        return 1
    try:  # the functions' start-up rule, across every secret: refuse to start, naming the keys
        keys.check(keys.local_secret_strings())
    except ConfigurationError as exc:
        print(f"streamauth local API refuses to start: {exc.message} (in {keys.LOCAL_FILE})", file=sys.stderr)
        return 1
    state_path = None if args.state is None else tpl.ROOT / args.state
    backend = Backend(os.environ.get("DYNAMODB_ENDPOINT") or None, state=state_path, fresh=args.fresh)
    try:
        backend.start()
    except StateError as exc:
        backend.stop()
        print(f"streamauth local API: {exc}", file=sys.stderr)
        return 1
    lambdas = Lambdas(backend, args.workers_per_function)
    base = f"http://{args.host}:{args.port}"
    try:
        server = serve(Gateway(lambdas, base_url=base), args.host, args.port)
    except OSError as exc:  # taken between the check and now
        backend.stop()
        print(f"streamauth local API: {_bind_refusal(args.host, args.port, exc)}", file=sys.stderr)
        return 1
    feed = StreamFeed(backend, lambdas).start()  # the table's stream to its functions (localapi/streams.py)

    def interrupt(*_: Any) -> None:
        raise KeyboardInterrupt  # SIGTERM stops the runner as Ctrl-C (SIGINT) does

    signal.signal(signal.SIGTERM, interrupt)
    routes = tpl.routes()
    port_env = "" if args.port == DEFAULT_PORT else f"PORT={args.port} "
    print(f"streamauth local API on {base} ({len(routes)} routes from template.yaml)")
    for route in sorted(routes, key=lambda r: r.path):
        print(f"  {route.method:6} {route.path:55} {route.function}{'' if route.authorizer else '  (public)'}")
    print(f"DynamoDB: {backend.dynamodb_endpoint} tables {', '.join(backend.table_names.values())}")
    print(feed.describe())
    if backend.state_path is not None:
        kept = backend.state_path.relative_to(tpl.ROOT) if backend.state_path.is_relative_to(tpl.ROOT) else None
        print(
            f"Data: {backend.restored} items restored from {kept or backend.state_path}, kept there as you go"
            " (make reset, or FRESH=1 make run, starts empty)"
        )
    else:
        print("Data: in memory only (gone when this stops)")
    print(f"API docs: {base}/docs   contract: {base}/openapi.json")
    print(f"Operator console: {base}/console  (sign in with make -s admin-token)")
    print(f"Operator JWT for curl:  export API={base} TOKEN=$(make -s admin-token)")
    print('  then: curl -fsS -H "Authorization: Bearer $TOKEN" "$API/v2/broadcasts/stream1/tokens/list/0/10"')
    print(f"Media-server hook URLs: $({port_env}make -s hook-url)/nginx-rtmp | /srs | /mediamtx | /antmedia")
    print(f"Events: {port_env}make put-event EVENT=events/revoke_stream_tokens.json  (or POST it to /_local/events)")
    print("Ctrl-C stops it", flush=True)
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
        feed.stop()  # no new stream batches
        lambdas.stop()  # every worker killed and reaped; requests in flight get a 502
        feed.join()  # its batch in flight ended with its worker
        backend.stop()
    return 0


def cmd_invoke(args: argparse.Namespace) -> int:
    """One function on one event: in the running local API (its data) when one answers on
    --api, else in a backend of its own (the kept local state, when there is one)."""
    functions = tpl.functions()
    if args.function not in functions:
        print(f"unknown function {args.function}; known: {', '.join(sorted(functions))}", file=sys.stderr)
        return 2
    try:
        event = event_file(args.event) if args.event else {}
    except (OSError, ValueError) as exc:
        print(f"cannot read the event: {exc}", file=sys.stderr)
        return 2
    answer = _post_local(args.api, f"/_local/invoke/{args.function}", json.dumps(event).encode())
    if answer is not None and answer[0] != 404:
        status, text = answer
        reply = json.loads(text) if text.startswith("{") else {"error": text}
    else:
        reply = _invoke_alone(args.function, event)
    print(json.dumps(reply.get("result", reply), indent=2))
    return 0 if "result" in reply else 1


def _invoke_alone(function: str, event: dict[str, Any]) -> dict[str, Any]:
    from localapi.state import StateError

    state = None if os.environ.get("DYNAMODB_ENDPOINT") else tpl.ROOT / ".local" / "state.json"
    backend = Backend(os.environ.get("DYNAMODB_ENDPOINT") or None, state=state)
    try:
        backend.start()
    except StateError as exc:
        backend.stop()
        return {"error": str(exc), "errorType": "StateError"}
    lambdas = Lambdas(backend)
    try:
        return lambdas.invoke(function, event)
    finally:
        lambdas.stop()
        backend.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localapi", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="serve the API from template.yaml")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=default_port(), help="default: $PORT, else 3000")
    run.add_argument(
        "--state", help="keep the data in this snapshot file across restarts (make run: .local/state.json)"
    )
    run.add_argument("--fresh", action="store_true", help="start empty: forget the --state snapshot first")
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
    invoke.add_argument("--api", default=default_api(), help="a running local API to invoke it in (default: $PORT's)")
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
    put.add_argument("--api", default=default_api(), help="the running local API (default: http://127.0.0.1:$PORT)")
    put.set_defaults(func=cmd_put_event)
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
