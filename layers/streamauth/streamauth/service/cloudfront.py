"""HLS/DASH behind CloudFront: a player presents a play credential once and gets CloudFront
signed cookies (a custom policy: the stream's URL prefix, an expiry and, when the deployment
binds sessions to addresses, the client's IPv4 address; the access policies' notBefore,
maxSessionSeconds and allowCidrs compiled in), with which CloudFront itself admits its playlists
and segments. The admission goes through the ONE access decision, so a one-time
token is consumed once and every grant is a session (listed, counted against a subscriber's
connection limit) whose lease is the cookies' life. A session is the credential used from one
client address: asking again from there (before the cookies expire) renews it.

CloudFront never asks streamauth again: revoking, closing, blocking or ending the session
refuses new cookies at once (the grant reads the stream's state fresh, and an ended session's
identity is never admitted again), and ends playback when the cookies expire (`cookie_seconds`). A
JWT's `exp` bounds the cookies too, when the deployment lets a JWT's expiry end sessions.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from streamauth.errors import ConfigurationError, NotFound
from streamauth.keys import secret_document
from streamauth.logic import cloudfront
from streamauth.logic.admission import Reason
from streamauth.logic.signing import looks_like_jwt
from streamauth.models.cloudfront import CloudFrontPlaybackRequest, SigningKey, parse_signing_key
from streamauth.models.hooks import CLOUDFRONT as CLOUDFRONT  # the sessions' server
from streamauth.models.hooks import HookRequest
from streamauth.service.access import AccessService, access_service
from streamauth.settings import CloudFrontSettings, get_cloudfront_settings, get_settings

FEATURE_OFF = (
    "CloudFront signed cookies are not set up on this deployment: set the CloudFrontDomain parameter"
    ' (README, "CloudFront signed cookies")'
)


@dataclass(frozen=True)
class CloudFrontGrant:
    allow: bool
    reason: Reason
    session_id: str | None = None
    expires: int = 0  # unix s: the policy's DateLessThan (the session's lease ends no earlier)
    resource: str = ""  # the URL prefix the cookies open: https://<domain>/<prefix>/<stream>/
    cookies: tuple[tuple[str, str], ...] = ()  # (name, value), CloudFront's three (or four)
    cookie_domain: str = ""  # the distribution's domain, or a parent of it and of the API's host
    cookie_path: str = "/"  # the stream's directory: cookies of several streams live side by side
    max_age: int = 0
    same_site: str = "Lax"


class CloudFrontPlaybackService:
    def __init__(
        self,
        access: AccessService,
        settings: CloudFrontSettings,
        signing_key: Callable[[], SigningKey],
        bind_address: bool,
        jwt_expiry_ends_sessions: bool,
    ) -> None:
        self._access = access
        self._settings = settings
        self._signing_key = signing_key
        self._bind_address = bind_address
        self._jwt_expiry_ends = jwt_expiry_ends_sessions

    def require_enabled(self) -> None:
        if not self._settings.enabled:
            raise NotFound(FEATURE_OFF)

    def grant(self, request: CloudFrontPlaybackRequest, now: float) -> CloudFrontGrant:
        self.require_enabled()
        settings = self._settings
        # Everything that can fail on configuration fails before a credential is used.
        key = self._signing_key()
        key_pair_id = key.key_pair_id or settings.key_pair_id
        if not key_pair_id:
            raise ConfigurationError(
                "no CloudFront public key ID: set the CloudFrontKeyPairId parameter,"
                " or keyPairId in the cloudFront secret"
            )
        credentials = request.credentials
        if not credentials.token and not (credentials.subscriber_id and credentials.subscriber_code):
            return CloudFrontGrant(False, Reason.MISSING_CREDENTIALS)
        source_ip: str | None = None
        if self._bind_address:
            source_ip = cloudfront.source_ip_cidr(request.client_ip)
            if source_ip is None:  # CloudFront's IpAddress takes IPv4 only: refuse rather than not bind
                return CloudFrontGrant(False, Reason.ADDRESS_NOT_BINDABLE)
        lifetime = self._lifetime(credentials.token, now)
        hook = HookRequest(
            CLOUDFRONT,
            "admit",
            request.stream_id,
            ("play",),
            credentials,
            # The viewer's identity for its session: its address. A player refreshing its cookies
            # with the same credential renews its session (a subscriber keeps its slot); another
            # address is another session (and another slot).
            request.client_ip or uuid.uuid4().hex,
            request.client_ip,
            lease_seconds=lifetime,
            country=request.country,
            origin=request.origin,
        )
        # CloudFront never asks again: judge against the stream as stored now, not a cached state
        decision = self._access.decide(hook, now, fresh=True)
        if not decision.allow or decision.session_id is None:
            return CloudFrontGrant(False, decision.reason)
        # the access policies the decision applied, compiled into what CloudFront checks on every
        # request: the times, and allowCidrs as IpAddress (logic/cloudfront.py compile_policies)
        conditions = cloudfront.compile_policies(
            decision.policies, int(now) + lifetime, now, request.client_ip, source_ip
        )
        resource = cloudfront.resource_prefix(settings.domain, settings.path_prefix, request.stream_id)
        cookies = cloudfront.signed_cookies(
            key.private_key,
            key_pair_id,
            resource + "*",
            conditions.expires,
            conditions.source_ip,
            settings.hash_algorithm,
            conditions.starts,
        )
        return CloudFrontGrant(
            True,
            Reason.ALLOWED,
            decision.session_id,
            conditions.expires,
            resource,
            tuple(cookies),
            settings.cookie_domain,
            resource.removeprefix(f"https://{settings.domain}"),
            conditions.expires - int(now),
            settings.same_site,
        )

    def _lifetime(self, token: str | None, now: float) -> int:
        """The cookies' life: the setting's, and no longer than a JWT's own `exp` when a JWT's
        expiry ends the sessions it admitted (the access decision checks the token itself)."""
        lifetime = self._settings.cookie_seconds
        if token and self._jwt_expiry_ends and looks_like_jwt(token):
            exp = cloudfront.jwt_expiry(token)
            if exp is not None:
                lifetime = max(1, min(lifetime, exp - int(now)))
        return lifetime


def _signing_key() -> SigningKey:
    return secret_document("cloudFront", parse_signing_key)


def cloudfront_service() -> CloudFrontPlaybackService:
    return CloudFrontPlaybackService(
        access_service(),
        get_cloudfront_settings(),
        _signing_key,
        get_settings().playback_bind_address,
        get_settings().jwt_expiry_ends_sessions,
    )
