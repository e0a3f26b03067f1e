"""Bearer tokens: only a current token signed by a known key gets in; keys rotate by key id."""

from __future__ import annotations

import time

import jwt
import pytest

from api.auth import AUDIENCE, ISSUER, KeyRing, Principal, Role
from api.problems import Problem
from tests.api.conftest import Api

OTHER_KEY = b"another-key-that-nobody-here-knows-about!"


def _problem(response: object, code: str) -> dict[str, object]:
    assert response.status_code == 401, response.text  # type: ignore[attr-defined]
    assert response.headers["content-type"] == "application/problem+json"  # type: ignore[attr-defined]
    assert response.headers["www-authenticate"].startswith("Bearer")  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert body["code"] == code and body["status"] == 401
    return body  # type: ignore[no-any-return]


def test_a_request_without_a_token_is_refused(api: Api) -> None:
    _problem(api.client.get("/figures"), "token_missing")
    _problem(api.client.get("/figures", headers={"Authorization": "Basic abc"}), "token_missing")


def test_an_expired_token_is_refused(api: Api) -> None:
    token = api.keys.issue(Principal("s", Role.leadership), 60, now=time.time() - 3600)
    _problem(api.client.get("/figures", headers={"Authorization": f"Bearer {token}"}),
             "token_expired")


def test_a_remembered_token_is_still_refused_once_it_expires() -> None:
    """Verified tokens are remembered until their exp, and not a moment longer."""
    ring = KeyRing({"k": b"k" * 32})
    issued = int(time.time())
    token = ring.issue(Principal("s", Role.leadership), 2, now=issued)  # exp = issued + 2
    assert ring.verify(token).subject == "s"
    assert ring.verify(token).subject == "s"  # remembered
    time.sleep(max(0.0, issued + 2 - time.time()) + 0.05)  # past exp (no timing is asserted)
    with pytest.raises(Problem) as refused:
        ring.verify(token)
    assert refused.value.code == "token_expired"


def test_a_token_refused_once_is_refused_again() -> None:
    ring = KeyRing({"k": b"k" * 32})
    token = ring.issue(Principal("s", Role.leadership), 600)
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    for _ in range(2):
        with pytest.raises(Problem) as refused:
            ring.verify(forged)
        assert refused.value.code == "token_invalid"
    assert ring.verify(token).subject == "s"


def test_a_forged_token_is_refused(api: Api) -> None:
    """Signed with another key under the right key id."""
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "s", "role": "admin",
              "iat": int(time.time()), "exp": int(time.time()) + 600}
    forged = jwt.encode(claims, OTHER_KEY, algorithm="HS256",
                        headers={"kid": api.keys.signing_key_id})
    _problem(api.client.get("/figures", headers={"Authorization": f"Bearer {forged}"}),
             "token_invalid")
    tampered = api.keys.issue(Principal("s", Role.clerk, "ly-yc"), 600)
    head, payload, signature = tampered.split(".")
    other = jwt.encode({**claims, "role": "leadership"}, OTHER_KEY, algorithm="HS256").split(".")[1]
    _problem(api.client.get("/figures", headers={"Authorization": f"Bearer {head}.{other}.{signature}"}),
             "token_invalid")
    _problem(api.client.get("/figures", headers={"Authorization": "Bearer not-a-jwt"}),
             "token_invalid")


def test_a_token_of_an_unknown_key_is_refused(api: Api) -> None:
    stranger = KeyRing({"k-unknown": OTHER_KEY})
    token = stranger.issue(Principal("s", Role.leadership), 600)
    body = _problem(api.client.get("/figures", headers={"Authorization": f"Bearer {token}"}),
                    "token_unknown_key")
    assert "k-unknown" in str(body["detail"])


def test_an_unsigned_token_is_refused(api: Api) -> None:
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "s", "role": "admin",
              "iat": int(time.time()), "exp": int(time.time()) + 600}
    unsigned = jwt.encode(claims, None, algorithm="none", headers={"kid": api.keys.signing_key_id})
    _problem(api.client.get("/figures", headers={"Authorization": f"Bearer {unsigned}"}),
             "token_invalid")


def test_a_clerk_token_without_a_service_point_is_refused(api: Api) -> None:
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "s", "role": "clerk",
              "iat": int(time.time()), "exp": int(time.time()) + 600}
    key = api.keys.keys[api.keys.signing_key_id]
    token = jwt.encode(claims, key, algorithm="HS256", headers={"kid": api.keys.signing_key_id})
    _problem(api.client.get("/clocks/open", headers={"Authorization": f"Bearer {token}"}),
             "token_invalid")


def test_keys_rotate_by_key_id() -> None:
    old = KeyRing({"2026-01": b"o" * 32})
    token = old.issue(Principal("s", Role.auditor), 600)
    rotated = KeyRing({"2026-01": b"o" * 32, "2026-02": b"n" * 32})
    assert rotated.signing_key_id == "2026-02"
    assert rotated.verify(token).role == Role.auditor  # old tokens verify while their key is listed
    assert jwt.get_unverified_header(rotated.issue(Principal("s", Role.auditor), 60))["kid"] == "2026-02"
    retired = KeyRing({"2026-02": b"n" * 32})
    with pytest.raises(Problem) as refused:
        retired.verify(token)
    assert refused.value.code == "token_unknown_key"


def test_short_keys_and_impossible_grants_are_refused_when_issuing() -> None:
    with pytest.raises(ValueError):
        KeyRing({"k": b"short"})
    ring = KeyRing({"k": b"k" * 32})
    with pytest.raises(ValueError):
        ring.issue(Principal("s", Role.leadership, pii=True), 60)
    with pytest.raises(ValueError):
        ring.issue(Principal("s", Role.supervisor), 60)
