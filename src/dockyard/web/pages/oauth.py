"""Dockyard as an OpenID Connect provider: discovery, JWKS, the consent page, the token and
userinfo endpoints, and the pages where users and org admins register OAuth apps.

The rules (redirect URI matching, PKCE, single-use codes) live in :mod:`dockyard.oauth.service`;
this module turns them into HTTP: RFC 6749 JSON errors at the token endpoint, errors sent back
to the app once its redirect URI is trusted, an error page before."""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import unquote_plus, urlencode, urlsplit

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import JSONResponse, RedirectResponse, Response

from dockyard.accounts.models import Account
from dockyard.errors import DockyardError, NotFoundError
from dockyard.oauth import service as oauth
from dockyard.oauth.keys import signing_key
from dockyard.oauth.tokens import id_token
from dockyard.request_context import base_url, hub_of
from dockyard.web.csrf import VerifiedForm
from dockyard.web.errors import error_page
from dockyard.web.redirects import login_url, see_other
from dockyard.web.security import CONTENT_SECURITY_POLICY
from dockyard.web.templating import render
from dockyard.web.viewer import viewer_of

router = APIRouter(include_in_schema=False)

_AUTHORIZE_FIELDS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
)
_CLAIMS = [
    "sub",
    "name",
    "preferred_username",
    "email",
    "email_verified",
    "picture",
    "profile",
    "iss",
    "aud",
    "exp",
    "iat",
    "nonce",
]
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


# -- discovery ----------------------------------------------------------------------------------------


@router.get("/.well-known/openid-configuration")
def discovery(request: Request) -> JSONResponse:
    issuer = base_url(request)
    return JSONResponse(
        {
            "issuer": issuer,
            "authorization_endpoint": f"{issuer}/oauth/authorize",
            "token_endpoint": f"{issuer}/oauth/token",
            "userinfo_endpoint": f"{issuer}/oauth/userinfo",
            "jwks_uri": f"{issuer}/oauth/jwks",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": list(oauth.SCOPES),
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": list(_CLAIMS),
        }
    )


@router.get("/oauth/jwks")
def jwks(request: Request) -> JSONResponse:
    key = signing_key(hub_of(request).db)
    return JSONResponse({"keys": [key.public_jwk]}, headers={"Cache-Control": "public, max-age=300"})


# -- authorization (the consent page) -----------------------------------------------------------------


@router.get("/oauth/authorize")
def authorize_page(request: Request) -> Response:
    viewer = viewer_of(request)
    if viewer.session is None or viewer.user is None:
        return RedirectResponse(login_url(request.url.path + "?" + request.url.query), status_code=303)
    params = {k: v for k, v in request.query_params.items() if k in _AUTHORIZE_FIELDS}
    try:
        with hub_of(request).db.read() as session:
            checked = oauth.check_authorization(session, params)
            page = render(
                request,
                "oauth/consent.html",
                viewer=viewer,
                app=checked.app,
                scopes=checked.scopes,
                descriptions=oauth.SCOPE_DESCRIPTIONS,
                params=params,
                redirect_origin=_origin(checked.redirect_uri),
            )
    except oauth.RedirectableError as exc:
        return _error_redirect(exc)
    except oauth.OAuthError as exc:
        return error_page(request, 400, exc.description)
    # The answer redirects the browser to the app: let this page's form go there, and nowhere else.
    page.headers["Content-Security-Policy"] = _csp_allowing(checked.redirect_uri)
    return page


@router.post("/oauth/authorize")
def authorize_answer(request: Request, form: VerifiedForm) -> Response:
    viewer = viewer_of(request)
    if viewer.session is None or viewer.user is None:
        return see_other("/login")
    params = {k: str(form.get(k, "")) for k in _AUTHORIZE_FIELDS if form.get(k)}
    try:
        with hub_of(request).db.write() as session:
            checked = oauth.check_authorization(session, params)
            if form.get("decision") != "approve":
                raise oauth.RedirectableError(checked.app, params, "access_denied", "The user denied access")
            code = oauth.issue_code(session, checked, session.merge(viewer.user))
    except oauth.RedirectableError as exc:
        return _error_redirect(exc)
    except oauth.OAuthError as exc:
        return error_page(request, 400, exc.description)
    return see_other(_with_query(checked.redirect_uri, {"code": code, "state": checked.state}))


def _error_redirect(exc: oauth.RedirectableError) -> Response:
    query = {"error": exc.error, "error_description": exc.description, "state": exc.state}
    return see_other(_with_query(exc.redirect_uri, query))


def _with_query(uri: str, values: dict[str, str | None]) -> str:
    extra = urlencode({k: v for k, v in values.items() if v is not None})
    return f"{uri}{'&' if urlsplit(uri).query else '?'}{extra}"


def _origin(uri: str) -> str:
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.netloc}"


def _csp_allowing(redirect_uri: str) -> str:
    """The page CSP with the app's origin added to form-action (Chromium applies form-action to
    the redirect that follows the post). The origin comes from a registered URI, checked for
    characters that could end a CSP source."""
    return CONTENT_SECURITY_POLICY.replace("form-action 'self'", f"form-action 'self' {_origin(redirect_uri)}")


# -- token and userinfo endpoints (called by apps, not browsers) -------------------------------------


@router.post("/oauth/token")
async def token_endpoint(request: Request) -> JSONResponse:
    form = await request.form()
    try:
        answer = await run_in_threadpool(_exchange, request, form)
    except oauth.OAuthError as exc:
        headers = dict(_NO_STORE)
        if exc.status == 401:
            headers["WWW-Authenticate"] = 'Basic realm="dockyard"'
        body = {"error": exc.error, "error_description": exc.description}
        return JSONResponse(body, status_code=exc.status, headers=headers)
    return JSONResponse(answer, headers=_NO_STORE)


def _exchange(request: Request, form: FormData) -> dict[str, Any]:
    if form.get("grant_type") != "authorization_code":
        raise oauth.OAuthError("unsupported_grant_type", "Only grant_type=authorization_code is supported")
    client_id, secret = _client_credentials(request, form)
    hub = hub_of(request)
    try:
        return _grant(request, form, client_id, secret)
    except oauth.CodeReplayedError as exc:
        with hub.db.write() as session:
            oauth.revoke_tokens_of_code(session, exc.code_id)
        raise


def _grant(request: Request, form: FormData, client_id: str, secret: str | None) -> dict[str, Any]:
    hub = hub_of(request)
    key = signing_key(hub.db)  # before the transaction: its first use writes the key (SQLite: one writer)
    with hub.db.write() as session:
        app = oauth.authenticate_client(session, client_id, secret)
        verifier = str(form.get("code_verifier", "")) or None
        code, redirect_uri = str(form.get("code", "")), str(form.get("redirect_uri", ""))
        grant = oauth.exchange_code(session, app, code, redirect_uri, verifier)
        issuer = base_url(request)
        answer: dict[str, Any] = {
            "access_token": grant.access_token,
            "token_type": "Bearer",
            "expires_in": grant.expires_in,
            "scope": grant.scope,
        }
        if "openid" in grant.scope.split():
            claims = oauth.claims_of(grant.user, grant.scope, issuer)
            answer["id_token"] = id_token(key, issuer=issuer, audience=app.client_id, claims=claims, nonce=grant.nonce)
    return answer


def _client_credentials(request: Request, form: FormData) -> tuple[str, str | None]:
    """client_secret_basic (form-urlencoded id and secret, RFC 6749 §2.3.1) or client_secret_post;
    not both."""
    header = request.headers.get("authorization", "")
    posted_secret = str(form.get("client_secret", "")) or None
    if header.lower().startswith("basic "):
        if posted_secret:
            raise oauth.OAuthError("invalid_request", "Use one client authentication method, not two")
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
            client_id, _, secret = decoded.partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise oauth.OAuthError("invalid_client", "Malformed Basic credentials", status=401) from None
        return unquote_plus(client_id), unquote_plus(secret) or None
    return str(form.get("client_id", "")), posted_secret


@router.api_route("/oauth/userinfo", methods=["GET", "POST"])
def userinfo(request: Request) -> JSONResponse:
    header = request.headers.get("authorization", "")
    value = header[7:].strip() if header.lower().startswith("bearer ") else ""
    with hub_of(request).db.read() as session:
        row = oauth.token_owner(session, value)
        claims = oauth.claims_of(row.user, row.scope, base_url(request)) if row is not None else None
    if claims is None:
        challenge = 'Bearer error="invalid_token", error_description="The access token is missing, expired or revoked"'
        return JSONResponse({"error": "invalid_token"}, status_code=401, headers={"WWW-Authenticate": challenge})
    return JSONResponse(claims, headers=_NO_STORE)


# -- OAuth apps of a user or an organisation ---------------------------------------------------------


@router.get("/settings/applications")
def my_applications(request: Request) -> Response:
    return _applications(request, None)


@router.get("/organizations/{org}/settings/applications")
def org_applications(request: Request, org: str) -> Response:
    return _applications(request, org)


@router.post("/settings/applications")
def create_my_application(request: Request, form: VerifiedForm) -> Response:
    return _create(request, None, form)


@router.post("/organizations/{org}/settings/applications")
def create_org_application(request: Request, org: str, form: VerifiedForm) -> Response:
    return _create(request, org, form)


@router.post("/settings/applications/{client_id}/delete")
def delete_application(request: Request, client_id: str, form: VerifiedForm) -> Response:
    viewer = viewer_of(request)
    if viewer.user is None:
        return see_other(login_url("/settings/applications"))
    with hub_of(request).db.write() as session:
        app = oauth.delete_app(session, session.merge(viewer.user), client_id)
        owner = app.owner
    return see_other(_apps_url(owner))


def _apps_url(owner: Account) -> str:
    return f"/organizations/{owner.name}/settings/applications" if owner.is_org else "/settings/applications"


def _applications(
    request: Request,
    org: str | None,
    *,
    status: int = 200,
    created: oauth.CreatedApp | None = None,
    error: str | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    viewer = viewer_of(request)
    if viewer.user is None:
        return see_other(login_url(request.url.path))
    with hub_of(request).db.read() as session:
        user = session.merge(viewer.user)
        owner = oauth.managed_owner(session, user, org or user.name)
        if org is not None and not owner.is_org:
            raise NotFoundError(f"No organisation {org}")
        return render(
            request,
            "oauth/applications.html",
            status=status,
            viewer=viewer,
            owner=owner,
            apps=oauth.apps_of(session, owner),
            orgs=oauth.admin_orgs(session, user),
            created=created,
            error=error,
            form=form or {},
            form_action=_apps_url(owner),
            issuer=base_url(request),
        )


def _create(request: Request, org: str | None, form: FormData) -> Response:
    viewer = viewer_of(request)
    if viewer.user is None:
        return see_other(login_url(request.url.path))
    fields = {k: str(form.get(k, "")) for k in ("name", "redirect_uris", "homepage", "client_type")}
    try:
        with hub_of(request).db.write() as session:
            user = session.merge(viewer.user)
            owner = oauth.managed_owner(session, user, org or user.name)
            created = oauth.create_app(
                session,
                owner,
                user,
                name=fields["name"],
                redirect_uris=fields["redirect_uris"].splitlines(),
                homepage=fields["homepage"],
                confidential=fields["client_type"] != "public",
            )
    except NotFoundError:
        raise
    except DockyardError as exc:
        return _applications(request, org, status=400, error=exc.message, form=fields)
    return _applications(request, org, created=created)
