"""`cryptography` only where it is needed: one layer (CryptoLayer) attached to exactly the functions
that sign or verify ES256 tokens, seal or unseal subscribers' secrets, sign CloudFront cookies or
rotate the signing keys; and no function imports it when it starts (only on first use)."""

from __future__ import annotations

import json
import subprocess
import sys

from localapi import iam
from localapi import template as tpl
from tests.conftest import ROOT

HOOKS = {"NginxHookFunction", "SrsHookFunction", "MediaMtxHookFunction", "AntMediaHookFunction", "HttpHookFunction"}
SEALERS = HOOKS | {"CreateSubscriberFunction", "SubscriberTotpFunction", "VerifySubscriberCodeFunction"}
ES256 = HOOKS | {
    "OperatorAuthorizerFunction",  # viewer JWTs
    "IssueJwtTokenFunction",
    "ValidateTokenFunction",
    "CreateViewerTokenFunction",
    "MediaMtxTokenFunction",
    "SigningKeyRotationFunction",
}
NEEDS_CRYPTOGRAPHY = SEALERS | ES256 | {"CloudFrontPlaybackFunction"}


def test_the_crypto_layer_is_on_exactly_the_functions_that_need_it_after_the_shared_layer() -> None:
    functions = tpl.functions()
    assert {name for name, f in functions.items() if "CryptoLayer" in f.layers} == NEEDS_CRYPTOGRAPHY
    assert "JwksFunction" not in NEEDS_CRYPTOGRAPHY  # it serves public parts the rotation computed
    layer = tpl.load()["Resources"]["CryptoLayer"]
    assert layer["Metadata"]["BuildMethod"] == "python3.12" and layer["Properties"]["ContentUri"] == "layers/crypto"
    assert "cryptography" in (ROOT / "layers/crypto/requirements.txt").read_text()
    assert "cryptography" not in (ROOT / "layers/streamauth/requirements.txt").read_text()
    cfn = iam.translate()["Resources"]
    for name in NEEDS_CRYPTOGRAPHY:  # SAM appends a function's Layers to the Globals' (shared layer first)
        layers = [ref["Ref"] for ref in cfn[name]["Properties"]["Layers"]]
        assert len(layers) == 2 and layers[0].startswith("StreamAuthLayer") and layers[1].startswith("CryptoLayer")
    assert len(cfn["IssueTokenFunction"]["Properties"]["Layers"]) == 1


def test_the_tests_run_the_cryptography_the_layer_ships() -> None:
    """The dev venv's requirement is the layer's pin, word for word, and the installed version
    satisfies it: what the tests exercise is what `sam build` puts in CryptoLayer."""
    import re
    import tomllib
    from importlib.metadata import version

    from packaging.specifiers import SpecifierSet

    shipped = re.search(r"^cryptography(\S*)", (ROOT / "layers/crypto/requirements.txt").read_text(), re.M)
    assert shipped is not None
    dev = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert f"cryptography{shipped.group(1)}" in dev
    assert version("cryptography") in SpecifierSet(shipped.group(1))


def test_no_function_imports_cryptography_when_it_starts() -> None:
    """Every handler module imported in one fresh process: cryptography is not among its modules
    (it is imported inside the seal, sign and verify calls)."""
    functions = {name: str(f.code_uri / "app.py") for name, f in tpl.functions().items()}
    code = f"""
import importlib.util, json, sys
for name, path in {functions!r}.items():
    spec = importlib.util.spec_from_file_location("fn_" + name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
print(json.dumps(sorted({{m.split(".")[0] for m in sys.modules}} & {{"cryptography", "jwcrypto", "moto"}})))
"""
    env = {"POWERTOOLS_SERVICE_NAME": "streamauth", "AWS_DEFAULT_REGION": "us-east-1", "PATH": ""}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env, cwd=ROOT)
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
