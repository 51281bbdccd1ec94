"""Dockyard as an OpenID Connect provider, spoken to as an app would (httpx): discovery, consent,
the code exchange (both client authentications, PKCE), id_tokens checked against the JWKS,
userinfo, and the RFC 6749 errors."""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import jwt
import pytest
from sqlalchemy import select, update

from dockyard.accounts import service as accounts
from dockyard.cli.common import open_hub
from dockyard.db.base import utcnow
from dockyard.oauth import service as oauth
from dockyard.oauth.models import OAuthApp, OAuthCode, OAuthToken
from tests.support.accounts import Identities
from tests.support.server import LiveServer
from tests.web.conftest import Browse, csrf_of

REDIRECT = "https://app.example.org/callback"


def register_app(
    data_dir: Path,
    env: dict[str, str],
    owner: str,
    redirect_uris: list[str],
    *,
    name: str = "Test app",
    confidential: bool = True,
    actor: str | None = None,
) -> tuple[str, str | None]:
    """Register an app straight through the service (client_id, secret), as the CLI would."""
    saved = dict(os.environ)
    os.environ.update({k: v for k, v in env.items() if k.startswith("DOCKYARD_")})
    try:
        hub = open_hub(data_dir)
        with hub.db.write() as session:
            owner_account = accounts.get_account(session, owner)
            acting = accounts.get_account(session, actor or owner)
            created = oauth.create_app(
                session, owner_account, acting, name=name, redirect_uris=redirect_uris, confidential=confidential
            )
            result = (created.app.client_id, created.secret)
        hub.db.dispose()
        return result
    finally:
        os.environ.clear()
        os.environ.update(saved)


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


@pytest.fixture(scope="module")
def confidential_app(server: LiveServer, ids: Identities) -> tuple[str, str]:
    client_id, secret = register_app(server.data_dir, server.env, "alice", [REDIRECT], name="Notebook")
    assert secret is not None
    return client_id, secret


@pytest.fixture(scope="module")
def public_app(server: LiveServer, ids: Identities) -> str:
    client_id, secret = register_app(server.data_dir, server.env, "alice", [REDIRECT], confidential=False)
    assert secret is None
    return client_id


def authorize(client: httpx.Client, params: dict[str, str], decision: str = "approve") -> httpx.Response:
    """Open the consent page as the signed-in ``client`` and answer it."""
    page = client.get("/oauth/authorize", params=params)
    assert page.status_code == 200, page.text
    form = {**params, "_csrf": csrf_of(page.text), "decision": decision}
    return client.post("/oauth/authorize", data=form)


def code_params(client_id: str, **extra: str) -> dict[str, str]:
    base = {"response_type": "code", "client_id": client_id, "redirect_uri": REDIRECT, "scope": "openid profile email"}
    return {**base, "state": "st-" + secrets.token_hex(4), "nonce": "n-" + secrets.token_hex(4), **extra}


def code_of(answer: httpx.Response, state: str) -> str:
    assert answer.status_code == 303, answer.text
    location = answer.headers["location"]
    assert location.startswith(REDIRECT + "?")
    query = parse_qs(urlsplit(location).query)
    assert query["state"] == [state]
    return query["code"][0]


def exchange(server: LiveServer, data: dict[str, str], auth: tuple[str, str] | None = None) -> httpx.Response:
    return httpx.post(f"{server.url}/oauth/token", data={"grant_type": "authorization_code", **data}, auth=auth)


def test_discovery_document_names_every_endpoint(server: LiveServer) -> None:
    document = httpx.get(f"{server.url}/.well-known/openid-configuration").json()
    assert document["issuer"] == server.url
    assert document["authorization_endpoint"] == f"{server.url}/oauth/authorize"
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert {"client_secret_basic", "client_secret_post"} <= set(document["token_endpoint_auth_methods_supported"])
    keys = httpx.get(document["jwks_uri"]).json()["keys"]
    assert keys[0]["kty"] == "RSA"
    assert keys[0]["alg"] == "RS256"
    assert keys[0]["kid"]
    assert "d" not in keys[0]  # the public half only


def test_code_flow_gives_a_signed_id_token_and_userinfo(
    server: LiveServer, browse: Browse, confidential_app: tuple[str, str]
) -> None:
    client_id, secret = confidential_app
    params = code_params(client_id)
    code = code_of(authorize(browse("alice"), params), params["state"])
    answer = exchange(server, {"code": code, "redirect_uri": REDIRECT}, auth=(client_id, secret))
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] > 0
    assert body["scope"] == "openid profile email"
    jwks = jwt.PyJWKClient(f"{server.url}/oauth/jwks")
    claims = jwt.decode(
        body["id_token"],
        jwks.get_signing_key_from_jwt(body["id_token"]).key,
        algorithms=["RS256"],
        audience=client_id,
        issuer=server.url,
    )
    assert claims["preferred_username"] == "alice"
    assert claims["name"] == "Alice Liddell"
    assert claims["email"] == "alice@example.org"
    assert claims["nonce"] == params["nonce"]
    assert claims["profile"] == f"{server.url}/alice"
    assert claims["picture"].startswith(server.url)
    assert claims["exp"] > claims["iat"]
    assert claims["sub"]
    info = httpx.get(f"{server.url}/oauth/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert info.status_code == 200
    assert info.json()["preferred_username"] == "alice"
    assert info.json()["sub"] == claims["sub"]


def test_client_secret_post_works_and_scopes_limit_the_claims(
    server: LiveServer, browse: Browse, confidential_app: tuple[str, str]
) -> None:
    client_id, secret = confidential_app
    params = code_params(client_id, scope="openid")
    code = code_of(authorize(browse("bob"), params), params["state"])
    data = {"code": code, "redirect_uri": REDIRECT, "client_id": client_id, "client_secret": secret}
    body = exchange(server, data).json()
    claims = jwt.decode(body["id_token"], options={"verify_signature": False})
    assert "email" not in claims
    assert "preferred_username" not in claims
    assert claims["sub"]
    info = httpx.get(f"{server.url}/oauth/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert set(info.json()) == {"sub"}


def test_a_code_is_single_use_and_a_replay_revokes_its_token(
    server: LiveServer, browse: Browse, confidential_app: tuple[str, str]
) -> None:
    client_id, secret = confidential_app
    params = code_params(client_id)
    code = code_of(authorize(browse("alice"), params), params["state"])
    first = exchange(server, {"code": code, "redirect_uri": REDIRECT}, auth=(client_id, secret))
    token = first.json()["access_token"]
    again = exchange(server, {"code": code, "redirect_uri": REDIRECT}, auth=(client_id, secret))
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"
    info = httpx.get(f"{server.url}/oauth/userinfo", headers={"Authorization": f"Bearer {token}"})
    assert info.status_code == 401
    assert "invalid_token" in info.headers["www-authenticate"]


def test_token_endpoint_errors_follow_rfc6749(
    server: LiveServer, browse: Browse, confidential_app: tuple[str, str]
) -> None:
    client_id, secret = confidential_app
    params = code_params(client_id)
    code = code_of(authorize(browse("alice"), params), params["state"])
    wrong_secret = exchange(server, {"code": code, "redirect_uri": REDIRECT}, auth=(client_id, "dyos_wrong"))
    assert wrong_secret.status_code == 401
    assert wrong_secret.json()["error"] == "invalid_client"
    wrong_uri = exchange(server, {"code": code, "redirect_uri": REDIRECT + "x"}, auth=(client_id, secret))
    assert wrong_uri.json()["error"] == "invalid_grant"
    unknown = exchange(server, {"code": "dyoc_nope", "redirect_uri": REDIRECT}, auth=(client_id, secret))
    assert unknown.status_code == 400
    assert unknown.json()["error"] == "invalid_grant"
    grant = httpx.post(f"{server.url}/oauth/token", data={"grant_type": "password"}, auth=(client_id, secret))
    assert grant.json()["error"] == "unsupported_grant_type"
    assert exchange(server, {"code": code, "redirect_uri": REDIRECT}, auth=(client_id, secret)).status_code == 200


def test_public_clients_must_use_pkce_and_the_verifier_must_match(
    server: LiveServer, browse: Browse, public_app: str
) -> None:
    alice = browse("alice")
    refused = alice.get("/oauth/authorize", params=code_params(public_app))
    assert refused.status_code == 303
    assert parse_qs(urlsplit(refused.headers["location"]).query)["error"] == ["invalid_request"]
    verifier, challenge = pkce_pair()
    params = code_params(public_app, code_challenge=challenge, code_challenge_method="S256")
    code = code_of(authorize(alice, params), params["state"])
    base = {"code": code, "redirect_uri": REDIRECT, "client_id": public_app}
    wrong = exchange(server, {**base, "code_verifier": pkce_pair()[0]})
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_grant"
    right = exchange(server, {**base, "code_verifier": verifier})
    assert right.status_code == 200
    assert right.json()["id_token"]


def test_confidential_clients_may_use_pkce_too(
    server: LiveServer, browse: Browse, confidential_app: tuple[str, str]
) -> None:
    client_id, secret = confidential_app
    verifier, challenge = pkce_pair()
    params = code_params(client_id, code_challenge=challenge, code_challenge_method="S256")
    code = code_of(authorize(browse("alice"), params), params["state"])
    missing = exchange(server, {"code": code, "redirect_uri": REDIRECT}, auth=(client_id, secret))
    assert missing.json()["error"] == "invalid_grant"
    data = {"code": code, "redirect_uri": REDIRECT, "code_verifier": verifier}
    assert exchange(server, data, auth=(client_id, secret)).status_code == 200


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://evil.example/callback",
        "https://app.example.org/callback/../evil",
        "https://app.example.org/callbackx",
        "http://app.example.org/callback",
        "https://app.example.org:8443/callback",
        "https://app.example.org/callback#frag",
        "https://app.example.org/callback?code=planted",
        "https://app.example.org/callback?x=1&state=planted",
        "https://user@app.example.org/callback",
        "",
    ],
)
def test_an_unregistered_redirect_uri_is_an_error_page_never_a_redirect(
    browse: Browse, confidential_app: tuple[str, str], redirect_uri: str
) -> None:
    params = code_params(confidential_app[0], redirect_uri=redirect_uri)
    response = browse("alice").get("/oauth/authorize", params=params)
    assert response.status_code == 400
    assert "location" not in response.headers
    assert "redirect_uri is not one registered" in response.text


def test_a_query_may_be_added_to_a_registered_redirect_uri(
    server: LiveServer, browse: Browse, confidential_app: tuple[str, str]
) -> None:
    """What attach_huggingface_oauth sends: ``.../callback?_target_url=...``."""
    client_id, secret = confidential_app
    target = REDIRECT + "?" + urlencode({"_target_url": "/?"})
    params = code_params(client_id, redirect_uri=target)
    answer = authorize(browse("alice"), params)
    assert answer.headers["location"].startswith(target + "&code=")
    code = parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]
    assert exchange(server, {"code": code, "redirect_uri": target}, auth=(client_id, secret)).status_code == 200


def test_unknown_clients_and_bad_scopes(browse: Browse, confidential_app: tuple[str, str]) -> None:
    alice = browse("alice")
    unknown = alice.get("/oauth/authorize", params=code_params("no-such-client"))
    assert unknown.status_code == 400
    assert "location" not in unknown.headers
    params = code_params(confidential_app[0], scope="openid write-repos")
    bad_scope = alice.get("/oauth/authorize", params=params)
    query = parse_qs(urlsplit(bad_scope.headers["location"]).query)
    assert query["error"] == ["invalid_scope"]
    assert query["state"] == [params["state"]]


def test_denying_sends_access_denied_with_the_state(browse: Browse, confidential_app: tuple[str, str]) -> None:
    params = code_params(confidential_app[0])
    answer = authorize(browse("alice"), params, decision="deny")
    query = parse_qs(urlsplit(answer.headers["location"]).query)
    assert query["error"] == ["access_denied"]
    assert query["state"] == [params["state"]]
    assert "code" not in query


def test_anonymous_visitors_are_sent_to_log_in_first(browse: Browse, confidential_app: tuple[str, str]) -> None:
    params = code_params(confidential_app[0])
    response = browse(None).get("/oauth/authorize", params=params)
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith("/login?next=/oauth/authorize%3F")
    assert params["state"] in location


def test_the_consent_form_needs_its_csrf_token(browse: Browse, confidential_app: tuple[str, str]) -> None:
    params = code_params(confidential_app[0])
    forged = browse("alice").post("/oauth/authorize", data={**params, "decision": "approve", "_csrf": "forged"})
    assert forged.status_code == 403
    assert "location" not in forged.headers


def test_the_consent_page_may_post_only_to_the_app_origin(browse: Browse, confidential_app: tuple[str, str]) -> None:
    page = browse("alice").get("/oauth/authorize", params=code_params(confidential_app[0]))
    csp = page.headers["content-security-policy"]
    assert "form-action 'self' https://app.example.org;" in csp + ";"
    assert "frame-ancestors 'none'" in csp


def test_userinfo_refuses_missing_and_api_tokens(server: LiveServer, ids: Identities) -> None:
    """An access token of the API is not an OAuth token, and the other way round (see service)."""
    assert httpx.get(f"{server.url}/oauth/userinfo").status_code == 401
    api_token = httpx.get(f"{server.url}/oauth/userinfo", headers={"Authorization": f"Bearer {ids.alice}"})
    assert api_token.status_code == 401


def test_secrets_codes_and_tokens_are_stored_hashed(
    server: LiveServer, browse: Browse, confidential_app: tuple[str, str]
) -> None:
    client_id, secret = confidential_app
    params = code_params(client_id)
    code = code_of(authorize(browse("alice"), params), params["state"])
    token = exchange(server, {"code": code, "redirect_uri": REDIRECT}, auth=(client_id, secret)).json()["access_token"]
    database = (server.data_dir / "dockyard.sqlite3").read_bytes()
    for value in (secret, code, token):
        assert value.encode() not in database


def _age_rows(server: LiveServer, model: Any, client_id: str) -> None:
    """Move the app's rows of ``model`` past their expiry, as ten minutes (or eight hours) would."""
    saved = dict(os.environ)
    os.environ.update({k: v for k, v in server.env.items() if k.startswith("DOCKYARD_")})
    try:
        hub = open_hub(server.data_dir)
        with hub.db.write() as session:
            app_id = select(OAuthApp.id).where(OAuthApp.client_id == client_id).scalar_subquery()
            session.execute(
                update(model).where(model.app_id == app_id).values(expires_at=utcnow() - timedelta(seconds=1))
            )
        hub.db.dispose()
    finally:
        os.environ.clear()
        os.environ.update(saved)


def test_expired_codes_and_tokens_are_refused(
    server: LiveServer, browse: Browse, confidential_app: tuple[str, str]
) -> None:
    client_id, secret = confidential_app
    first, second = code_params(client_id), code_params(client_id)
    alice = browse("alice")
    live_code = code_of(authorize(alice, first), first["state"])
    token = exchange(server, {"code": live_code, "redirect_uri": REDIRECT}, auth=(client_id, secret)).json()
    stale_code = code_of(authorize(alice, second), second["state"])
    _age_rows(server, OAuthCode, client_id)
    _age_rows(server, OAuthToken, client_id)
    late = exchange(server, {"code": stale_code, "redirect_uri": REDIRECT}, auth=(client_id, secret))
    assert late.status_code == 400
    assert late.json() == {"error": "invalid_grant", "error_description": "The code has expired"}
    info = httpx.get(f"{server.url}/oauth/userinfo", headers={"Authorization": f"Bearer {token['access_token']}"})
    assert info.status_code == 401
