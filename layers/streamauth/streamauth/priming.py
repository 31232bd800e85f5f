"""SnapStart priming: the work a first request would do, done once before the snapshot, and
what must not be shared, made fresh after each restore.

Lambda SnapStart runs a function's init once, snapshots the environment's memory, and restores
that one snapshot into every new environment. So init is the place for work that is the same
everywhere and holds nothing secret (AWS's "priming"), and a restore is the place for what
must differ per environment. A SnapStart function's init calls `snapstart(...)` in one line;
the runtime then calls, through its hooks (`snapshot_restore_py`, part of Lambda's Python
runtimes, absent elsewhere):

- `before_snapshot`: import every module a first request imports (the function's service, the
  store, PyJWT and the `cryptography` parts it uses, Powertools' event classes), read the
  settings (environment variables: table name, secret ARNs, algorithms; never a secret's value),
  prime the DynamoDB and Secrets Manager clients' machinery (aws.prime_clients: service models,
  endpoint rules, the request path) with placeholder keys, no connection, nothing sent; then make
  the clients the function uses, with credentials that botocore's chain resolves on their
  first request (aws.prime_session), so after the restore.
- `after_restore`: reseed `random` (botocore's retry jitter draws from it: restored environments
  must not retry in step), forget any secret and cached state (none is held: the test checks),
  and keep the clients only if their credentials are still unresolved (else make them anew).

Not captured, by construction: no secret (the secrets cache is filled by a request, never here),
no credential (the priming clients use placeholder keys and are dropped; the kept clients'
credentials are looked up on first use), no connection (nothing is sent before the snapshot),
no clock reading kept, and no random value drawn from a shared state. `uuid4`, `secrets` and
`SystemRandom` read the OS, which Lambda reseeds on restore. Outside Lambda (local runs, tests)
nothing registers and nothing here runs at import: `make bench` and the tests call the two hooks
themselves.
"""

from __future__ import annotations

import importlib
import random

try:  # Lambda's Python runtimes ship it; it is not a dependency anywhere else
    from snapshot_restore_py import register_after_restore, register_before_snapshot  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - depends on where this runs
    register_before_snapshot = register_after_restore = None

# What the first request of every SnapStart function imports, whichever it is (found by running
# one after `before_snapshot` and listing what it still imported: `make bench` prints any left).
COMMON = (
    "encodings.idna",  # the first connection encodes its host name
    "botocore.exceptions",
    "jwt",
    "jwt.algorithms",
    "cryptography.hazmat.primitives.asymmetric.ec",
    "cryptography.hazmat.primitives.ciphers.aead",
    "cryptography.hazmat.primitives.serialization",
    "streamauth.store",
    "streamauth.service.admission",
    "streamauth.service.jwt_codecs",
    "aws_lambda_powertools.utilities.data_classes.api_gateway_proxy_event",
)
SERVICES = ("dynamodb", "secretsmanager")

_modules: list[str] = []
_registered: list[bool] = []


def snapstart(*modules: str) -> None:
    """A SnapStart function's init: `modules` are what its first request imports beyond COMMON
    (its service). Registers the two hooks with the runtime, where there is one."""
    _modules.extend(m for m in modules if m not in _modules)
    if _registered or register_before_snapshot is None or register_after_restore is None:
        return
    _registered.append(True)
    register_before_snapshot(before_snapshot)
    register_after_restore(after_restore)


def _optional(name: str) -> None:
    try:
        importlib.import_module(name)
    except ImportError:  # cryptography comes with the crypto layer: a function without it never uses it
        if not name.startswith(("cryptography", "jwt.algorithms")):
            raise


def before_snapshot() -> None:
    """Import and build what holds no secret, no credential, no connection and no randomness."""
    from streamauth import aws
    from streamauth.settings import get_settings

    for name in (*COMMON, *_modules):
        _optional(name)
    get_settings()  # environment variables only: the secrets' ARNs, never their values
    aws.prime_clients(*SERVICES)
    aws.prime_session()  # the clients kept resolve their credentials on first use, after the restore
    for client in aws.snapstart_clients():
        client()


def after_restore() -> None:
    """Make fresh what a snapshot shares between every environment restored from it."""
    from streamauth import aws
    from streamauth.service import issuers, streams
    from streamauth.settings import forget_secrets

    random.seed()  # from os.urandom: the global Random's state was the snapshot's
    forget_secrets()
    streams.states.forget()
    issuers.forget()
    aws.refresh_clients()
