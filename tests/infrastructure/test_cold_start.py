"""What a cold start loads: each function's first request builds its clients with botocore
alone (boto3 imports s3transfer and its thread pools), and takes Powertools' API Gateway
resolver without the rest of the event_handler package (AppSync pulls in asyncio), nor the
service-account store (only a token a service account issued needs it); and what the build
ships is bytecode Lambda uses as it is (`make build`: localapi.bytecode). The costs these save
are measured by `make bench`; these tests keep them saved."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from localapi import template as tpl
from tests.conftest import ROOT

NOT_AT_START = (
    "boto3",
    "s3transfer",
    "asyncio",
    "aws_lambda_powertools.event_handler.appsync",
    "streamauth.store.accounts",
)

_START = """
import importlib, json, sys
sys.path[0:0] = [{code!r}, {layer!r}]
module = importlib.import_module({module!r})
from streamauth import aws
aws.dynamodb_client(); aws.secrets_client()  # the clients a first request makes
print(json.dumps(sorted(name for name in {watch!r} if name in sys.modules)))
"""


def _loaded_at_start(name: str) -> list[str]:
    function = tpl.functions()[name]
    module, _, _ = function.handler.rpartition(".")
    code = _START.format(
        code=str(function.code_uri), layer=str(ROOT / "layers/streamauth"), module=module, watch=NOT_AT_START
    )
    env = {"PATH": "/usr/bin:/bin", "AWS_DEFAULT_REGION": "us-east-1", "POWERTOOLS_SERVICE_NAME": "t"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env, cwd="/")
    loaded: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return loaded


@pytest.mark.parametrize("name", ["NginxHookFunction", "ValidateTokenFunction", "CreateViewerTokenFunction"])
def test_the_functions_a_crowd_lands_on_start_without_boto3_or_the_other_resolvers(name: str) -> None:
    assert _loaded_at_start(name) == []


def test_every_function_starts_without_boto3() -> None:
    """(The two DynamoDB Streams consumers use Powertools' batch utility, which imports asyncio:
    kept, they are not on a viewer's path.)"""
    slow = {}
    for name in tpl.functions():
        loaded = [m for m in _loaded_at_start(name) if m in ("boto3", "s3transfer")]
        if loaded:
            slow[name] = loaded
    assert slow == {}


def test_the_deferred_event_handler_package_still_answers_every_name() -> None:
    code = """
import sys
sys.path.insert(0, {layer!r})
from streamauth.resolver import APIGatewayRestResolver
assert "aws_lambda_powertools.event_handler.appsync" not in sys.modules
from aws_lambda_powertools.event_handler import content_types  # a submodule: imported, no __init__
assert "aws_lambda_powertools.event_handler.appsync" not in sys.modules
from aws_lambda_powertools.event_handler import AppSyncResolver, APIGatewayRestResolver as Same
assert Same is APIGatewayRestResolver and AppSyncResolver.__name__ == "AppSyncResolver"
import aws_lambda_powertools.event_handler as package
assert package.Response is not None and content_types.APPLICATION_JSON
try:
    package.NoSuchName
except AttributeError:
    print("ok")
""".format(layer=str(ROOT / "layers/streamauth"))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={"PATH": "/usr/bin"})
    assert done.stdout.strip() == "ok", done.stderr


_SNAPSHOT = """
import importlib, json, sys
sys.path[0:0] = [{code!r}, {layer!r}]
importlib.import_module({module!r})
from streamauth import aws, keys, settings
from streamauth.service import streams
held = {{
    "clients": sum(f.cache_info().currsize for f in (aws.dynamodb_client, aws.secrets_client, aws._session)),
    "secrets": len(keys._ring._loaded) + len(keys._ring._documents),
    "settings": settings.get_settings.cache_info().currsize,
    "stream states": len(streams.states._entries),
}}
print(json.dumps(held))
"""


def _snapstarted() -> dict[str, dict[str, object]]:
    resources = tpl.load()["Resources"]
    return {
        name: resources[name]["Properties"] for name in tpl.functions() if "SnapStart" in resources[name]["Properties"]
    }


@pytest.mark.parametrize("name", sorted(_snapstarted()))
def test_what_snapstart_snapshots_holds_no_secret_client_or_clock(name: str) -> None:
    """SnapStart snapshots the environment after init and restores that one snapshot into many
    environments: nothing fetched, connected, timed or random may be in it. The init of each
    SnapStart function (its import) holds no client, no secret, no settings, no cached stream
    state. (Its before-snapshot hook then primes, holding no secret or resolved credential:
    test_snapstart.py. Retry jitter draws from the OS: store/base.py.)"""
    function = tpl.functions()[name]
    module, _, _ = function.handler.rpartition(".")
    code = _SNAPSHOT.format(code=str(function.code_uri), layer=str(ROOT / "layers/streamauth"), module=module)
    env = {"PATH": "/usr/bin:/bin", "AWS_DEFAULT_REGION": "us-east-1", "POWERTOOLS_SERVICE_NAME": "t"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env, cwd="/")
    held = json.loads(done.stdout.strip().splitlines()[-1])
    assert held == {"clients": 0, "secrets": 0, "settings": 0, "stream states": 0}


def test_snapstart_is_on_the_functions_a_crowd_lands_on_behind_a_parameter() -> None:
    from localapi import iam

    hot = {"NginxHookFunction", "SrsHookFunction", "MediaMtxHookFunction", "AntMediaHookFunction"}
    hot |= {"HttpHookFunction", "ValidateTokenFunction", "CreateViewerTokenFunction"}
    assert set(_snapstarted()) == hot
    template = tpl.load()
    assert template["Parameters"]["SnapStart"]["Default"] == "enabled"
    for name in hot:
        properties = _snapstarted()[name]
        assert properties["AutoPublishAlias"] == "live"  # SnapStart applies to published versions only
        assert properties["SnapStart"] == {"ApplyOn": {"Fn::If": ["SnapStartEnabled", "PublishedVersions", "None"]}}
        assert "ProvisionedConcurrencyConfig" not in properties and "FileSystemConfigs" not in properties
    cfn = iam.translate()["Resources"]
    # API Gateway invokes the alias (the published, snapshotted version), not $LATEST
    permissions = [r for r in cfn.values() if r["Type"] == "AWS::Lambda::Permission"]
    assert any(p["Properties"]["FunctionName"] == {"Ref": "NginxHookFunctionAliaslive"} for p in permissions)


def test_the_build_ships_bytecode_lambda_uses_as_it_is(tmp_path: Path) -> None:
    """`make build` compiles what `sam build` made (source only) in place: a layer's python/ as
    /opt/python, a function as /var/task, as unchecked-hash pycs (PEP 552) that Python uses
    without comparing the source's time (a zip does not keep it exactly), any earlier pyc
    replaced. Proof of use: the source changed afterwards is not what runs."""
    import importlib.util

    from localapi import bytecode

    layer, function = tmp_path / "StreamAuthLayer" / "python" / "pkg", tmp_path / "NginxHookFunction"
    layer.mkdir(parents=True)
    function.mkdir()
    (layer / "__init__.py").write_text("")
    (layer / "mod.py").write_text("WHAT = 'built'\n")
    (function / "app.py").write_text("def handler(event, context):\n    return 1\n")
    stale = function / "__pycache__"
    stale.mkdir()
    (stale / "old.cpython-312.pyc").write_bytes(b"stale")
    assert sorted(bytecode.compile_build(tmp_path)) == [function, layer.parent]
    assert not (stale / "old.cpython-312.pyc").exists()
    for source, shown_as in ((layer / "mod.py", "/opt/python/pkg/mod.py"), (function / "app.py", "/var/task/app.py")):
        pyc = Path(importlib.util.cache_from_source(str(source)))
        data = pyc.read_bytes()
        assert data[:4] == importlib.util.MAGIC_NUMBER
        assert int.from_bytes(data[4:8], "little") == 0b01  # hash-based, source never checked
        assert shown_as.encode() in data  # tracebacks name Lambda's paths
    (layer / "mod.py").write_text("WHAT = 'edited after the build'\n")
    done = subprocess.run(
        [sys.executable, "-c", "import pkg.mod; print(pkg.mod.WHAT)"],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(layer.parent)},
    )
    assert done.stdout.strip() == "built"


def test_the_build_step_runs_after_sam_build() -> None:
    """`make build` is `sam build` then the bytecode step, on SAM's output."""
    recipe = (ROOT / "Makefile").read_text().split("\nbuild:", 1)[1].split("\n\n", 1)[0]
    lines = [line.strip() for line in recipe.splitlines()[1:]]
    assert lines[0].endswith("$(SAM) build") and lines[1] == "$(PY) -m localapi.bytecode .aws-sam/build"
