"""The deployment's secrets, locally: one per AWS::SecretsManager::Secret in template.yaml,
generated once into `.local/secrets.json` (git-ignored, mode 600) for `make run`, and made up
(distinct, long enough) for the tests. Each secret is `{"<its GenerateStringKey>": "<value>"}`,
as CloudFormation generates it; an operator may add keys (e.g. publishTotpSecret). A secret the
template gives a `SecretString` (configuration, e.g. the media-server registry) starts as that
value, which an operator may edit in `.local/secrets.json` (register local media servers); the
CloudFront signing key, which the template leaves empty (CloudFormation cannot make an RSA key),
gets a throwaway RSA key locally so GET /v2/broadcasts/{id}/playback signs cookies under `make run`;
the ES256 signing keys, which the template leaves empty (the rotation function fills them), get a
first P-256 key locally, with its public parts in the published keys (`make rotate-keys` rotates
them as the rotation function does)."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

from localapi import template as tpl

SECRETS_ENV = "STREAMAUTH_LOCAL_SECRETS"  # another file in its place (a test's own local deployment)
LOCAL_FILE = Path(os.environ.get(SECRETS_ENV) or tpl.ROOT / ".local" / "secrets.json")


def template_secrets(template: dict[str, Any] | None = None) -> dict[str, str]:
    """Logical id → the key each generated secret generates."""
    template = template or tpl.load()
    return {
        name: res["Properties"]["GenerateSecretString"]["GenerateStringKey"]
        for name, res in template["Resources"].items()
        if res.get("Type") == "AWS::SecretsManager::Secret" and "GenerateSecretString" in res.get("Properties", {})
    }


def template_documents(template: dict[str, Any] | None = None) -> dict[str, str]:
    """Logical id → the initial value of each secret the template writes itself (configuration)."""
    template = template or tpl.load()
    return {
        name: str(res["Properties"]["SecretString"])
        for name, res in template["Resources"].items()
        if res.get("Type") == "AWS::SecretsManager::Secret" and "SecretString" in res.get("Properties", {})
    }


def settings_names(template: dict[str, Any] | None = None) -> dict[str, str]:
    """Logical id → the layer's name for the secret (settings.SECRETS), through the environment
    variable the template points at it."""
    from streamauth.settings import SECRETS

    template = template or tpl.load()
    variables = template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    by_env = {spec.env: name for name, spec in SECRETS.items()}
    return {
        value["Ref"]: by_env[env]
        for env, value in variables.items()
        if isinstance(value, dict) and "Ref" in value and env in by_env
    }


def local_secret_strings() -> dict[str, str]:
    """The local deployment's secrets: made once, kept out of git (.local/ is ignored)."""
    wanted = template_secrets()
    documents = template_documents()
    existing: dict[str, str] = json.loads(LOCAL_FILE.read_text()) if LOCAL_FILE.exists() else {}
    unset = [name for name, value in documents.items() if name in existing and _lacks_private_key(existing[name])]
    changed = False
    if (set(wanted) | set(documents)) - set(existing) or unset:
        for name, key in wanted.items():
            existing.setdefault(name, json.dumps({key: secrets.token_hex(32)}))
        for name, value in documents.items():
            if name not in existing or name in unset:
                existing[name] = _local_document(existing.get(name, value))
        changed = True
    if _local_signing_keys(existing) or changed:
        write_local(existing)
    return {name: existing[name] for name in (*wanted, *documents)}


def write_local(strings: dict[str, str]) -> None:
    """.local/secrets.json, mode 600."""
    LOCAL_FILE.parent.mkdir(exist_ok=True)
    fd = os.open(LOCAL_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(strings, handle, indent=2)


def signing_secret_ids() -> tuple[str, str]:
    """The logical ids of the ES256 private keys' secret and of their published public parts."""
    names = {purpose: logical_id for logical_id, purpose in settings_names().items()}
    return names["signingKeys"], names["publicSigningKeys"]


def signing_documents(now: int) -> tuple[str, str]:
    """A first key set, as the stack's first rotation makes it: (private, public) documents."""
    from streamauth.service.rotation import empty_document, local_rotation

    private, public, _ = local_rotation(empty_document(), now, local_timeline())
    return private, public


def local_timeline() -> Any:
    """The key timeline of the local deployment (its parameters, the layer's default secret cache)."""
    from streamauth.logic.keyset import Timeline

    params = tpl.parameter_defaults()
    longest = max(int(params["SignedTokenMaxSeconds"]), int(params["ViewerTokenLifetime"]))
    return Timeline.of(int(params["JwksCacheSeconds"]), 300, longest)


def _local_signing_keys(existing: dict[str, str]) -> bool:
    """An empty private key set (the template's start) gets a first key, and the published keys
    its public parts: whether anything changed."""
    private_id, public_id = signing_secret_ids()
    current = existing.get(private_id)
    if current is None or json.loads(current).get("keys"):
        return False
    import time

    existing[private_id], existing[public_id] = signing_documents(int(time.time()))
    return True


LOCAL_KEY_PAIR_ID = "KLOCALTHROWAWAY"


def _lacks_private_key(value: str) -> bool:
    """A document with an empty `privateKey`: the CloudFront signing key as the template makes it."""
    try:
        data = json.loads(value)
    except ValueError:
        return False
    return isinstance(data, dict) and data.get("privateKey") == ""


def _local_document(value: str) -> str:
    """A configuration secret's local start: the template's value, except that an empty
    `privateKey` (the CloudFront signing key) becomes a throwaway 2048-bit RSA key."""
    if not _lacks_private_key(value):
        return value
    data = json.loads(value)
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return json.dumps({**data, "privateKey": pem, "keyPairId": data.get("keyPairId") or LOCAL_KEY_PAIR_ID})


def test_secret_strings() -> dict[str, str]:
    """Made-up secrets for tests: distinct, 40+ bytes each; configuration as the template starts it."""
    made = {name: json.dumps({key: f"{name}-test-key-".ljust(48, "x")}) for name, key in template_secrets().items()}
    return {**made, **template_documents()}


def create(client: Any, prefix: str, strings: dict[str, str]) -> dict[str, str]:
    """Create each secret in (moto's) Secrets Manager; logical id → ARN."""
    return {
        name: client.create_secret(Name=f"{prefix}-{name}", SecretString=value)["ARN"]
        for name, value in strings.items()
    }


def key_of(strings: dict[str, str], key: str) -> str:
    """One key's value from the secrets (e.g. restJwtSecret for `make admin-token`)."""
    for value in strings.values():
        found = json.loads(value).get(key)
        if isinstance(found, str):
            return found
    raise KeyError(key)


def check(strings: dict[str, str]) -> None:
    """The layer's start-up rule across every secret: each key long enough, no two alike
    (ConfigurationError names the keys, never a value)."""
    from streamauth.keys import check_all_keys

    names = settings_names()
    check_all_keys({names[name]: value for name, value in strings.items() if name in names})
