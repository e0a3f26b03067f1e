"""Bearer tokens (JWT, HS256) and the roles and scopes of SPEC §3 / issue 4.

A token names its subject (a staff id), its role, and for `clerk` and `supervisor` its service
point: the role acts on that point's subtree of the network. Keys have ids (`kid` in the token
header), so a new key can sign new tokens while tokens of the previous key still verify until
that key is removed. Expired, forged and unknown-key tokens are all refused with 401.

A clerk sends the same token with every step, and checking its signature and claims costs more
than the rest of the request's own work, so a verified token is remembered until its `exp`
(refusals are not remembered: a bad token is checked again each time).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

import jwt

from api.problems import Problem

ISSUER = "sixhours"
AUDIENCE = "sixhours-api"
ALGORITHM = "HS256"
MIN_KEY_BYTES = 32
VERIFIED_TOKENS_KEPT = 4096  # about 1.5 MB of tokens; past it the memory starts afresh


class Role(StrEnum):
    clerk = "clerk"
    supervisor = "supervisor"
    leadership = "leadership"
    auditor = "auditor"
    admin = "admin"


class Action(StrEnum):
    record = "record"
    read_case = "read_case"
    history = "history"
    replay = "replay"
    figures = "figures"
    open_clocks = "open_clocks"
    network = "network"
    tokens = "tokens"


READ = {Action.read_case, Action.history, Action.replay, Action.figures, Action.open_clocks}
PERMISSIONS: Mapping[Role, frozenset[Action]] = {
    Role.clerk: frozenset({Action.record, Action.read_case, Action.history, Action.open_clocks}),
    Role.supervisor: frozenset(READ),
    Role.leadership: frozenset(READ),
    Role.auditor: frozenset(READ),
    Role.admin: frozenset({Action.network, Action.tokens}),
}
SCOPED_ROLES = frozenset({Role.clerk, Role.supervisor})  # act on their service point's subtree
# Roles that may be granted personal data (the `pii` claim); leadership never sees it.
PERSONAL_DATA_ROLES = frozenset({Role.clerk, Role.auditor})


@dataclass(frozen=True)
class Principal:
    subject: str
    role: Role
    service_point: str | None = None
    pii: bool = False
    token_id: str | None = None

    def may(self, action: Action) -> bool:
        return action in PERMISSIONS[self.role]

    def require(self, action: Action) -> None:
        if not self.may(action):
            raise Problem(403, "role_not_allowed",
                          f"role {self.role} may not {action.replace('_', ' ')}", role=self.role,
                          action=str(action))

    def scope(self, subtree: Callable[[str], frozenset[str]]) -> frozenset[str] | None:
        """The service points this principal acts on; None means the whole network."""
        if self.role not in SCOPED_ROLES:
            return None
        assert self.service_point is not None
        return subtree(self.service_point)

    def require_personal_data(self) -> None:
        if not (self.pii and self.role in PERSONAL_DATA_ROLES):
            raise Problem(403, "personal_data_not_granted",
                          "this token is not granted personal data (the pii claim of a clerk or "
                          "auditor token)", role=self.role)


class KeyRing:
    """HS256 keys by key id; `signing_key_id` signs new tokens, every listed key verifies."""

    def __init__(self, keys: Mapping[str, bytes], signing_key_id: str | None = None) -> None:
        if not keys:
            raise ValueError("the API needs at least one token key (SIXHOURS_API_KEYS)")
        for kid, key in keys.items():
            if len(key) < MIN_KEY_BYTES:
                raise ValueError(f"token key {kid!r} is shorter than {MIN_KEY_BYTES} bytes")
        self.keys: Mapping[str, bytes] = MappingProxyType(dict(keys))  # fixed: verified stay so
        self._verified: dict[str, tuple[Principal, float]] = {}  # token -> (principal, exp)
        self.signing_key_id = signing_key_id or list(self.keys)[-1]
        if self.signing_key_id not in self.keys:
            raise ValueError(f"signing key id {self.signing_key_id!r} is not among the keys")

    def issue(self, principal: Principal, ttl_seconds: int, *, now: float | None = None) -> str:
        check_claims(principal)
        issued = int(now if now is not None else time.time())
        claims: dict[str, object] = {
            "iss": ISSUER, "aud": AUDIENCE, "sub": principal.subject, "role": str(principal.role),
            "iat": issued, "exp": issued + ttl_seconds, "jti": uuid.uuid4().hex}
        if principal.service_point is not None:
            claims["sp"] = principal.service_point
        if principal.pii:
            claims["pii"] = True
        return jwt.encode(claims, self.keys[self.signing_key_id], algorithm=ALGORITHM,
                          headers={"kid": self.signing_key_id})

    def verify(self, token: str) -> Principal:
        """The token's principal, or 401: expired, forged, unknown key, or invalid claims."""
        remembered = self._verified.get(token)
        if remembered is not None:
            if time.time() < remembered[1]:  # PyJWT's own rule: expired once exp <= now
                return remembered[0]
            self._verified.pop(token, None)  # expired: the full check answers token_expired
        principal, expires = self._check(token)
        if len(self._verified) >= VERIFIED_TOKENS_KEPT:
            self._verified.clear()
        self._verified[token] = (principal, expires)
        return principal

    def _check(self, token: str) -> tuple[Principal, float]:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError:
            raise _unauthorized("token_invalid", "the bearer token is malformed") from None
        key = self.keys.get(kid) if isinstance(kid, str) else None
        if key is None:
            raise _unauthorized("token_unknown_key", f"the token's key id {kid!r} is not known")
        try:
            claims = jwt.decode(token, key, algorithms=[ALGORITHM], audience=AUDIENCE,
                                issuer=ISSUER, options={"require": ["exp", "iat", "sub", "iss", "aud"]})
        except jwt.ExpiredSignatureError:
            raise _unauthorized("token_expired", "the bearer token has expired") from None
        except jwt.PyJWTError as error:
            raise _unauthorized("token_invalid", f"the bearer token is not valid: {error}") from None
        try:
            principal = Principal(subject=str(claims["sub"]), role=Role(str(claims.get("role"))),
                                  service_point=claims.get("sp"), pii=claims.get("pii") is True,
                                  token_id=claims.get("jti"))
            check_claims(principal)
        except ValueError as error:
            raise _unauthorized("token_invalid", f"the token's claims are not valid: {error}") from None
        return principal, int(claims["exp"])  # as PyJWT read it


def check_claims(principal: Principal) -> None:
    if principal.role in SCOPED_ROLES and not principal.service_point:
        raise ValueError(f"a {principal.role} token needs a service point")
    if principal.role not in SCOPED_ROLES and principal.service_point is not None:
        raise ValueError(f"a {principal.role} token acts on the whole network: no service point")
    if principal.pii and principal.role not in PERSONAL_DATA_ROLES:
        raise ValueError(f"role {principal.role} cannot be granted personal data")


def _unauthorized(code: str, detail: str) -> Problem:
    return Problem(401, code, detail, headers={"WWW-Authenticate": 'Bearer realm="sixhours"'})


def bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise _unauthorized("token_missing", "send a bearer token: Authorization: Bearer <token>")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("token_missing", "the Authorization header must be Bearer <token>")
    return token.strip()
