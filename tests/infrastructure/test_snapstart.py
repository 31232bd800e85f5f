"""SnapStart priming (streamauth/priming.py): what a snapshot holds, and what a restore makes anew.

Lambda snapshots a SnapStart function's memory after init and its before-snapshot hook, and
restores that one snapshot into every new environment. These tests run the real hooks in a fresh
interpreter, with the function's secrets in (moto's) Secrets Manager and credentials in the
environment, so a hook that fetched a secret or resolved a credential would succeed, and be seen.
A restore is emulated with fork; fork's own reseed of `random` (os.register_at_fork) is undone in
the child, since a restore copies memory as it was: only the after-restore hook may change it.
"""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
import textwrap
from typing import Any

import pytest

from localapi import template as tpl
from tests.conftest import ROOT, Aws, LambdaContext, event, load_function, reset_layer_state

CREDENTIAL = "AKIAFUNCTIONSOWNKEY01"  # the function's access key id, as the runtime would give it

_DEPLOYED = """
import gc, importlib, json, os, random, sys
sys.path[0:0] = [{code!r}, {layer!r}]
os.environ.update({{"AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": {credential!r},
    "AWS_SECRET_ACCESS_KEY": "function-secret-access-key", "AWS_SESSION_TOKEN": "function-session-token",
    "POWERTOOLS_SERVICE_NAME": "t", "POWERTOOLS_METRICS_DISABLED": "true"}})
for name in [k for k in os.environ if k.startswith("AWS_ENDPOINT_URL")]:
    del os.environ[name]
from moto import mock_aws
from localapi import keys as local_keys
from localapi import template as tpl
with mock_aws():
    import botocore.session
    secrets = botocore.session.get_session().create_client("secretsmanager")
    refs = dict(tpl.parameter_defaults())
    refs.update(local_keys.create(secrets, "t", local_keys.test_secret_strings()))
    refs.update({{"StreamAuthTable": "t", "StreamAuthBus": "t", "EventsDeadLetterQueue": "t"}})
    resolvable = {{k: refs.get(k, k) for k in [*refs, *tpl.load()["Resources"]]}}
    for name, value in tpl.functions()[{name!r}].environment.items():
        os.environ[name] = tpl.resolve(value, resolvable)
    del secrets
    importlib.import_module({module!r})
    from streamauth import aws, keys, priming, settings
    from streamauth.service import issuers, streams
{body}
"""

_BEFORE_SNAPSHOT = """
    priming.before_snapshot()
    gc.collect()
    from botocore.credentials import Credentials
    held = {
        "secrets": keys.held_secrets(),
        "clients": sum(f.cache_info().currsize for f in aws.snapstart_clients()),
        "credentials unresolved": aws.unresolved_credentials(),
        "resolved credential objects": [
            type(c).__name__ for c in gc.get_objects() if isinstance(c, Credentials) and vars(c).get("resolved", c)
        ],
        "stream states": len(streams.states._entries),
        "issuers": len(issuers._standing._entries),
        "settings read": settings.get_settings.cache_info().currsize,
        "primed": sorted(m for m in ("jwt", "botocore.client", "streamauth.store") if m in sys.modules),
    }
    print(json.dumps(held))
"""


def _run(name: str, body: str) -> str:
    function = tpl.functions()[name]
    module, _, _ = function.handler.rpartition(".")
    code = _DEPLOYED.format(
        code=str(function.code_uri),
        layer=str(ROOT / "layers/streamauth"),
        credential=CREDENTIAL,
        name=name,
        module=module,
        body=textwrap.indent(textwrap.dedent(body), "    "),
    )
    env = {"PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd="/")
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def _snapstarted() -> list[str]:
    resources = tpl.load()["Resources"]
    return sorted(name for name in tpl.functions() if "SnapStart" in resources[name]["Properties"])


@pytest.mark.parametrize("name", _snapstarted())
def test_the_snapshot_holds_no_secret_credential_client_or_state(name: str) -> None:
    """Before the snapshot: modules imported, settings read (environment variables) and the
    clients made, but no secret fetched, no credential resolved (the priming clients' placeholder
    keys are gone with them; the kept clients' credentials resolve on first use), no cached
    stream or issuer state."""
    held = json.loads(_run(name, _BEFORE_SNAPSHOT))
    assert held == {
        "secrets": 0,
        "clients": 3,  # kept, with credentials resolved on first use: after the restore
        "credentials unresolved": True,
        "resolved credential objects": [],
        "stream states": 0,
        "issuers": 0,
        "settings read": 1,
        "primed": ["botocore.client", "jwt", "streamauth.store"],
    }


_RESTORES = """
    priming.before_snapshot()
    snapshot = random.getstate()
    import secrets, uuid
    results = []
    for number, restore_hook in enumerate((True, True, False, False)):
        read, write = os.pipe()
        if os.fork() == 0:
            random.setstate(snapshot)  # undo fork's reseed: a restore copies memory as it was
            os.environ["AWS_ACCESS_KEY_ID"] = f"AKIARESTORED{number}"  # each environment's own credentials
            if restore_hook:
                priming.after_restore()
            client = aws.dynamodb_client() if restore_hook else None
            drawn = {
                "random": random.random(),
                "token": secrets.token_hex(16),
                "uuid": uuid.uuid4().hex,
                "client": id(client) if client else None,
                "credential": client._request_signer._credentials.access_key if client else None,
            }
            os.write(write, json.dumps(drawn).encode())
            os._exit(0)
        os.close(write)
        results.append(json.loads(os.read(read, 65536)))
        os.wait()
    print(json.dumps({"unresolved before": aws.unresolved_credentials(), "restores": results}))
"""


@pytest.mark.parametrize("name", ["NginxHookFunction", "CreateViewerTokenFunction"])
def test_two_environments_restored_from_one_snapshot_draw_their_own_randomness(name: str) -> None:
    """Two restores of one snapshot: each reseeds `random` (botocore's retry jitter draws from it)
    and its client resolves its own credentials after the restore (each environment's own). The control pair,
    restored without the hook, draws the same `random` value: the emulation copies the state, so
    the test would fail if the hook did not reseed. `secrets` and `uuid4` read the OS."""
    found = json.loads(_run(name, _RESTORES))
    first, second, control, control_again = found["restores"]
    assert found["unresolved before"] is True
    assert first["random"] != second["random"]
    assert control["random"] == control_again["random"]  # a snapshot's shared state, unrefreshed
    assert first["token"] != second["token"] and first["uuid"] != second["uuid"]
    assert first["client"] is not None and second["client"] is not None
    assert (first["credential"], second["credential"]) == ("AKIARESTORED0", "AKIARESTORED1")  # resolved after it


def _declared(name: str, monkeypatch: pytest.MonkeyPatch) -> tuple[str, ...]:
    """What a function's init declares its after-restore hook reads: its app module run afresh
    (as Lambda runs one function per process), with priming's declarations emptied first."""
    import importlib.util

    from streamauth import priming

    monkeypatch.setattr(priming, "_reads", [])
    monkeypatch.setattr(priming, "_modules", [])
    function = tpl.functions()[name]
    path = function.code_uri / f"{function.handler.rpartition('.')[0]}.py"
    spec = importlib.util.spec_from_file_location(f"snapstart_{name}", path)
    assert spec is not None and spec.loader is not None
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
    return tuple(priming._reads)


HOOKS = ("NginxHookFunction", "SrsHookFunction", "MediaMtxHookFunction", "AntMediaHookFunction", "HttpHookFunction")
EXPECTED_READS = {
    **dict.fromkeys(HOOKS, ("hook secret",)),
    "CreateViewerTokenFunction": ("viewer signing key",),
    "ValidateTokenFunction": (),  # one-time tokens need no key, JWT stream tokens one: none is read by every request
}


@pytest.mark.parametrize("name", _snapstarted())
def test_after_a_restore_the_secrets_every_request_reads_are_read_under_the_functions_own_role(
    name: str, aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The after-restore hook reads what every request of the function reads (the hook secret,
    the viewer signing key), with the function's role (test_iam.py's rule: every call allowed,
    nothing more), so the first request after the restore reads no secret."""
    from localapi import iam
    from streamauth import keys, priming

    assert _declared(name, monkeypatch) == EXPECTED_READS[name]
    reset_layer_state()
    recorder = iam.Recorder()
    with iam.acting_as(name, recorder=recorder) as active:
        assert active is not None
        priming.after_restore()
    assert active.denied == []
    assert keys.held_secrets() == len(EXPECTED_READS[name])
    reads = [r for r in recorder.counts if r.action == "secretsmanager:GetSecretValue"]
    assert len(reads) == len(EXPECTED_READS[name])
    if EXPECTED_READS[name]:
        recorder.clear()
        handler = inspect.unwrap(load_function(name).lambda_handler)
        with iam.acting_as(name, recorder=recorder):
            handler(event(tpl.functions()[name].code_uri.name), LambdaContext(function_name=name))
        assert [r for r in recorder.counts if r.action == "secretsmanager:GetSecretValue"] == []


def test_a_secret_read_after_a_restore_expires_as_any_read_does(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
    """Held SecretCacheSeconds from the restore's read, then read again (a rotation reaches a
    restored environment as it reaches any): the key ring's clock is a parameter."""
    from streamauth import keys, priming, settings

    monkeypatch.setattr(priming, "_reads", [priming.HOOK_SECRET])
    fetched: list[str] = []
    now = [1000.0]

    def fetch(arn: str) -> str:
        fetched.append(arn)
        return keys._fetch_secret_string(arn)

    monkeypatch.setattr(keys, "_ring", keys._KeyRing(fetch, lambda: now[0]))
    reset_layer_state()
    priming.after_restore()
    assert len(fetched) == 1
    hook_secret = keys.get_keys().hook_secret  # the first request: from the restore's read
    now[0] += settings.get_settings().secret_cache_seconds - 0.001
    assert keys.get_keys().hook_secret == hook_secret and len(fetched) == 1
    now[0] += 0.001
    assert keys.get_keys().hook_secret == hook_secret and len(fetched) == 2


@pytest.mark.parametrize("failure", ["unreadable", "unavailable"])
def test_a_read_that_fails_after_a_restore_is_left_to_the_first_request(
    failure: str, aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A restore never fails for a secret: a secret that cannot be read (a wrong ARN) or a
    Secrets Manager that does not answer is logged by the hook (no value), and the first
    request reads again and answers as it would without SnapStart (a 503 or the configuration
    error, named)."""
    from botocore.exceptions import EndpointConnectionError

    from streamauth import aws as clients
    from streamauth import keys, priming
    from streamauth.errors import ConfigurationError, StoreUnavailable

    monkeypatch.setattr(priming, "_reads", [priming.HOOK_SECRET])
    if failure == "unreadable":
        monkeypatch.setenv("HOOK_SECRET_ARN", aws.secret_arns["HookSecret"] + "-gone")
    reset_layer_state()
    if failure == "unavailable":  # on the client the snapshot keeps (credentials unresolved: kept by the restore)

        def unreachable(request: Any, **_: Any) -> Any:
            raise EndpointConnectionError(endpoint_url=request.url)

        clients.prime_session()
        clients.secrets_client().meta.events.register_first("before-send.secrets-manager", unreachable)
    warned: list[str] = []
    from streamauth.observability import logger

    monkeypatch.setattr(logger, "warning", lambda message, *_, **__: warned.append(message))
    priming.after_restore()  # does not raise
    assert keys.held_secrets() == 0
    assert len(warned) == 1 and "left to the first request" in warned[0]
    expected = ConfigurationError if failure == "unreadable" else StoreUnavailable
    with pytest.raises(expected):
        keys.get_keys().hook_secret  # noqa: B018 - the property reads the secret
