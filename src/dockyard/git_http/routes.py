"""git smart HTTP: ``git clone/fetch/pull/push http://HOST/[datasets/|spaces/|kernels/]{ns}/{name}[.git]``.

A thin surface: authenticate (HTTP Basic, any user name, a Dockyard token as the password), check
the caller's rights on the repository, then hand the request to ``git http-backend``
(:mod:`dockyard.git_http.backend`). Pushes are checked by git's ``pre-receive`` hook, which calls
back ``POST /-/git/push-check/{signed token}`` (:mod:`dockyard.git_http.push_policy`), and recorded
once ``git receive-pack`` has finished, before the client sees the end of the response.

Refusals are ``text/plain``: git prints such bodies as ``remote: ...`` lines.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, PlainTextResponse, Response

from dockyard.accounts.models import Account
from dockyard.auth import access
from dockyard.auth.access import Right
from dockyard.auth.identity import Caller, caller_for_token_id
from dockyard.errors import BadRequestError, DockyardError, InvalidNameError, UnauthorizedError, header_safe
from dockyard.git_http import backend, push_policy
from dockyard.identifiers import RepoId, RepoType
from dockyard.repos.models import Repo
from dockyard.repos.service import RepoRef, find_repo
from dockyard.request_bodies import limit_body, read_limited
from dockyard.request_context import base_url, caller_of, hub_of
from dockyard.url_convertors import RepoIdConvertor  # noqa: F401 (registers the ``repo`` convertor)

router = APIRouter()

UPLOAD_PACK, RECEIVE_PACK = "git-upload-pack", "git-receive-pack"
SERVICES = (UPLOAD_PACK, RECEIVE_PACK)
PUSH_CHECK_TTL = 6 * 3600  # the hook calls back once the pack is indexed, which can take a while
_CHALLENGE = {"WWW-Authenticate": 'Basic realm="Dockyard", charset="UTF-8"'}


@dataclass(frozen=True, slots=True)
class Access:
    repo: Repo
    caller: Caller


def _refusal(status: int, message: str, *, challenge: bool = False) -> Response:
    headers = {"X-Error-Message": header_safe(message, 500), "Cache-Control": "no-cache"}
    if challenge:
        headers.update(_CHALLENGE)
    return PlainTextResponse(message + "\n", status_code=status, headers=headers)


def _strip_git_suffix(repo_id: str) -> str:
    return repo_id.removesuffix(".git")


def _authorise(request: Request, repo_type: RepoType, repo_id: str, service: str) -> Access | Response:
    """The repo and the caller, or the refusal git should show. Anonymous callers are challenged
    wherever a token could help, so that git asks its credential helper and retries."""
    hub = hub_of(request)
    try:
        caller = caller_of(request)
    except UnauthorizedError:
        return _refusal(401, "Invalid credentials: use a Dockyard access token as the password", challenge=True)
    name = f"{repo_type.url_prefix}{repo_id}"
    try:
        ref = RepoRef(repo_type, RepoId.parse(repo_id))
    except InvalidNameError:
        return _refusal(404, f"Repository not found: {name}")
    with hub.db.read() as session:
        repo = find_repo(session, ref)
        if repo is None or not access.may(session, caller, repo, Right.SEE):
            if caller.is_anonymous:
                return _refusal(401, f"Authentication required for {name}", challenge=True)
            return _refusal(404, f"Repository not found: {name}")
        if service == RECEIVE_PACK:
            refusal = _write_refusal(session, caller, repo)
        else:
            refusal = _read_refusal(session, caller, repo)
        if refusal is not None:
            return refusal
    return Access(repo=repo, caller=caller)


def _write_refusal(session: Any, caller: Caller, repo: Repo) -> Response | None:
    if caller.is_anonymous:
        return _refusal(401, f"Authentication required to push to {repo.full_id}", challenge=True)
    if access.may(session, caller, repo, Right.WRITE):
        return None
    if caller.role == "read":
        message = f"Your token has read access only: use a write token to push to {repo.full_id}"
    elif caller.scopes is not None:
        message = f"This fine-grained token has no write scope covering {repo.full_id}"
    else:
        message = f"You don't have the rights to push to {repo.full_id}"
    return _refusal(403, message)


def _read_refusal(session: Any, caller: Caller, repo: Repo) -> Response | None:
    """A clone or fetch sends every file: it needs the download right, not just sight."""
    if access.may(session, caller, repo, Right.DOWNLOAD):
        return None
    if caller.is_anonymous:
        return _refusal(401, f"{repo.full_id} is gated: log in and ask for access on its page", challenge=True)
    return _refusal(403, f"{repo.full_id} is gated and you are not in the authorized list: ask for access first")


def _committer(account: Account | None) -> tuple[str, str] | None:
    if account is None:
        return None
    return account.name, account.email or f"{account.name}@users.noreply.dockyard"


def _callback_base(request: Request) -> str:
    """How the hook reaches this very server: the address the request came in on, not the public
    URL (which may be a proxy the server cannot reach)."""
    server = request.scope.get("server")
    if server and server[1] is not None:
        host, port = server
        try:
            if ipaddress.ip_address(host).version == 6:
                host = f"[{host}]"
        except ValueError:
            pass
        return f"{request.url.scheme}://{host}:{port}"
    return base_url(request)


async def _run(
    request: Request, access: Access, path_info: str, *, service: str, body: backend.SpooledBody | None
) -> Response:
    hub = hub_of(request)
    repo, caller = access.repo, access.caller
    extra_env: dict[str, str] = {}
    before_last = None
    if service == RECEIVE_PACK and body is not None:
        claims = {
            "repo": repo.id,
            **push_policy.pusher_claims(caller, request.client, request.headers.get("user-agent")),
        }
        token = hub.signer.sign(push_policy.PUSH_CHECK_PURPOSE, claims, ttl=PUSH_CHECK_TTL)
        extra_env = {
            "DOCKYARD_PUSH_CHECK_URL": f"{_callback_base(request)}/-/git/push-check/{token}",
            "DOCKYARD_REGULAR_FILE_LIMIT": str(hub.settings.regular_file_limit),
        }
        before = await run_in_threadpool(push_policy.ref_snapshot, hub, repo)

        async def before_last() -> None:
            await run_in_threadpool(push_policy.record_push, hub, repo, caller, before)

    cgi = backend.CgiRequest(
        git_dir=hub.git.path(repo.uid),
        path_info=path_info,
        method=request.method,
        query=request.url.query,
        content_type=request.headers.get("content-type", ""),
        content_encoding=request.headers.get("content-encoding", ""),
        git_protocol=request.headers.get("git-protocol", ""),
        remote_addr=request.client.host if request.client else "",
        remote_user=caller.user.name if caller.user else "",
        committer=_committer(caller.user),
        extra_env=extra_env,
    )
    hooks = await run_in_threadpool(backend.hooks_dir, hub.settings.resolved_data_dir())
    process = None
    try:
        process = await backend.start(cgi, body, hooks)
        await process.read_headers()
    except BaseException:
        if process is not None:
            await process.finish(abandoned=True)
        if body is not None:
            body.close()
        raise
    return backend.CgiResponse(process, before_last=before_last, body=body)


async def _info_refs(request: Request, repo_type: RepoType, repo_id: str) -> Response:
    service = request.query_params.get("service", "")
    if service not in SERVICES:
        return _refusal(403, "Only git's smart HTTP protocol is supported: upgrade git")
    access = await run_in_threadpool(_authorise, request, repo_type, _strip_git_suffix(repo_id), service)
    if isinstance(access, Response):
        return access
    return await _run(request, access, "info/refs", service=service, body=None)


async def _service(request: Request, repo_type: RepoType, repo_id: str, service: str) -> Response:
    access = await run_in_threadpool(_authorise, request, repo_type, _strip_git_suffix(repo_id), service)
    if isinstance(access, Response):
        return access
    settings = hub_of(request).settings
    limit = settings.max_upload_pack_body if service == UPLOAD_PACK else settings.max_push_body
    limit_body(request, limit)  # refused with 413 while it streams in, once past the limit
    body = await backend.read_body(request)
    return await _run(request, access, service, service=service, body=body)


def _make_info_refs(kind: RepoType):  # type: ignore[no-untyped-def]
    async def info_refs(request: Request, repo_id: str) -> Response:
        return await _info_refs(request, kind, repo_id)

    return info_refs


def _make_service(kind: RepoType, service: str):  # type: ignore[no-untyped-def]
    async def rpc(request: Request, repo_id: str) -> Response:
        return await _service(request, kind, repo_id, service)

    return rpc


for _kind in RepoType.routing_order():
    _prefix = _kind.route_prefix
    router.add_api_route(
        f"{_prefix}/{{repo_id:repo}}/info/refs", _make_info_refs(_kind), methods=["GET"], include_in_schema=False
    )
    for _service_name in SERVICES:
        router.add_api_route(
            f"{_prefix}/{{repo_id:repo}}/{_service_name}",
            _make_service(_kind, _service_name),
            methods=["POST"],
            include_in_schema=False,
        )


@router.post("/-/git/push-check/{token}", include_in_schema=False)
async def push_check(request: Request, token: str) -> Response:
    """Called by the pre-receive hook with what a push contains; answers accept or refuse."""
    hub = hub_of(request)
    claims = hub.signer.verify(push_policy.PUSH_CHECK_PURPOSE, token)
    raw = await read_limited(request, hub.settings.max_commit_body)  # lists a push's files, like a commit
    try:
        report = push_policy.PushReport.from_json(json.loads(raw))
    except (ValueError, RecursionError):  # bad UTF-8 or JSON, a 4,300-digit integer, deep nesting
        raise BadRequestError("The push report must be JSON") from None
    verdict = await run_in_threadpool(_review, request, claims, report)
    return JSONResponse(verdict.as_json())


def _review(request: Request, claims: dict[str, Any], report: push_policy.PushReport) -> push_policy.Verdict:
    hub = hub_of(request)
    with hub.db.read() as session:
        repo = session.get(Repo, int(claims["repo"]))
        if repo is None:
            return push_policy.Verdict(accepted=False, messages=["error: this repository was deleted"])
        caller = caller_for_token_id(session, claims.get("token"))
        try:
            verdict = push_policy.review(hub, session, repo, caller, report)
        except DockyardError as error:
            return push_policy.Verdict(accepted=False, messages=[f"error: {error.message}"])
    if verdict.accepted:  # git moves the refs once we answer: promise their records first
        push_policy.promise_records(hub, repo.id, report, claims)
    return verdict
