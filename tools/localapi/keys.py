"""The deployment's secrets, locally: one per AWS::SecretsManager::Secret in template.yaml,
generated once into `.local/secrets.json` (git-ignored, mode 600) for `make run`, and made up
(distinct, long enough) for the tests. Each secret is `{"<its GenerateStringKey>": "<value>"}`,
as CloudFormation generates it; an operator may add keys (e.g. publishTotpSecret). A secret the
template gives a `SecretString` (configuration, e.g. the media-server registry) starts as that
value, which an operator may edit in `.local/secrets.json` (register local media servers)."""

from __future__ import annotations

import json
import os
import secrets
from typing import Any

from localapi import template as tpl

LOCAL_FILE = tpl.ROOT / ".local" / "secrets.json"


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
    if (set(wanted) | set(documents)) - set(existing):
        for name, key in wanted.items():
            existing.setdefault(name, json.dumps({key: secrets.token_hex(32)}))
        for name, value in documents.items():
            existing.setdefault(name, value)
        LOCAL_FILE.parent.mkdir(exist_ok=True)
        fd = os.open(LOCAL_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(existing, handle, indent=2)
    return {name: existing[name] for name in (*wanted, *documents)}


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
    from streamauth.settings import check_all_keys

    names = settings_names()
    check_all_keys({names[name]: value for name, value in strings.items() if name in names})
