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
  make the DynamoDB and Secrets Manager clients the function uses, with credentials that
  botocore's chain resolves on first use (aws.prime_session), and prime them (aws.prime_clients):
  each makes every request a first invocation may make, unsigned and answered in-process, never
  sent, so service models, serializers, parsers and endpoint rules are built in the snapshot.
- `after_restore`: reseed `random` (botocore's retry jitter draws from it: restored environments
  must not retry in step), forget any secret and cached state (none is held: the test checks),
  keep the clients only if their credentials are still unresolved (else make them anew), resolve
  this environment's credentials, and read the secrets every request of the function reads
  (`reads`: the hook secret for the media-server hooks, the signing key for viewer tokens), held
  and refreshed as any read of them: expiring `SecretCacheSeconds` after this read.

Not captured, by construction: no secret (the secrets cache is filled after the restore, never
before), no credential (the kept clients' credentials are looked up after the restore; priming
requests are unsigned), no connection (nothing is sent before the snapshot), no clock reading
kept, and no random value drawn from a shared state. `uuid4`, `secrets` and `SystemRandom` read
the OS, which Lambda reseeds on restore. Outside Lambda (local runs, tests) nothing registers and
nothing here runs at import: `make bench` and the tests call the two hooks themselves.
"""

from __future__ import annotations

import codecs
import importlib
import random

try:  # Lambda's Python runtimes ship it; it is not a dependency anywhere else
    from snapshot_restore_py import register_after_restore, register_before_snapshot  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - depends on where this runs
    register_before_snapshot = register_after_restore = None

# What the first request of every SnapStart function imports, whichever it is (found by running
# one after `before_snapshot` and listing what it still imported: `make bench` prints any left).
COMMON = (
    "encodings.idna",  # the first connection encodes its host name (getaddrinfo: the idna codec)
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

# What every request of a function reads, so its after-restore hook reads it first (`reads`).
HOOK_SECRET = "hook secret"  # a media-server hook checks it before anything else
VIEWER_SIGNING_KEY = "viewer signing key"  # a viewer token is signed with it (HS256 key or ES256 key set)


def _read(name: str) -> None:
    from streamauth.keys import get_keys
    from streamauth.service.jwt_codecs import viewer_codec

    if name == HOOK_SECRET:
        get_keys().hook_secret  # noqa: B018 - the property reads the secret
    elif name == VIEWER_SIGNING_KEY:
        viewer_codec().read_keys(signs=True)
    else:
        raise ValueError(f"unknown read {name!r}")


_modules: list[str] = []
_reads: list[str] = []
_registered: list[bool] = []


def snapstart(*modules: str, reads: tuple[str, ...] = ()) -> None:
    """A SnapStart function's init: `modules` are what its first request imports beyond COMMON
    (its service); `reads`, what every request reads (HOOK_SECRET, VIEWER_SIGNING_KEY), read by
    the after-restore hook. Registers the two hooks with the runtime, where there is one."""
    _modules.extend(m for m in modules if m not in _modules)
    _reads.extend(r for r in reads if r not in _reads)
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
    from streamauth import aws, store
    from streamauth.settings import get_settings

    for name in (*COMMON, *_modules):
        _optional(name)
    codecs.lookup("idna")  # found and registered once per process, on the first connection's lookup
    store.load_all()  # imported on first use otherwise (a rare path's store would be a first request's)
    settings = get_settings()  # environment variables only: the secrets' ARNs, never their values
    aws.prime_session()  # the clients kept resolve their credentials after the restore
    aws.prime_clients(settings.table_name)


def after_restore() -> None:
    """Make fresh what a snapshot shares between every environment restored from it, then read
    what every request reads. A read that fails (no credentials, the secret store unreachable,
    a secret misconfigured) is left to the first request, which reads it again and answers as it
    would have without SnapStart: a restore never fails for it. The log names the error, never a
    value."""
    from botocore.exceptions import BotoCoreError

    from streamauth import aws
    from streamauth.errors import StreamAuthError
    from streamauth.keys import forget_secrets
    from streamauth.service import issuers, streams

    random.seed()  # from os.urandom: the global Random's state was the snapshot's
    forget_secrets()
    streams.states.forget()
    issuers.forget()
    try:
        aws.refresh_clients()
        for name in _reads:
            _read(name)
    except (StreamAuthError, BotoCoreError) as exc:
        from streamauth.observability import logger

        logger.warning(f"after restore: left to the first request ({type(exc).__name__}: {exc})")
