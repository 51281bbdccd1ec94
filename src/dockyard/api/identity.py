"""Who am I, and the small endpoints every client process touches first."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, PlainTextResponse, Response

from dockyard.accounts import service as accounts
from dockyard.api.deps import caller_of, hub_of
from dockyard.api.serialize import iso
from dockyard.auth.identity import Caller
from dockyard.errors import UnauthorizedError
from dockyard.repos.card_schema import EMPTY_CARD_HELP, EMPTY_CARD_WARNING, check_metadata
from dockyard.repos.cards import parse_card
from dockyard.request_bodies import read_limited

router = APIRouter()


@router.get("/api/whoami-v2")
def whoami(request: Request) -> dict[str, Any]:
    caller = caller_of(request)
    if caller.user is None or caller.token is None:
        raise UnauthorizedError("Invalid user token. Make sure you are logged in")
    hub = hub_of(request)
    user = caller.user
    with hub.db.read() as session:
        memberships = accounts.memberships_of(session, user)
        orgs = [
            {
                "type": "org",
                "id": str(m.org.id),
                "name": m.org.name,
                "fullname": m.org.fullname,
                "email": None,
                "canPay": False,
                "avatarUrl": "",
                "roleInOrg": m.role,
                "isEnterprise": False,
                "periodEnd": None,
            }
            for m in memberships
        ]
    return {
        "type": "user",
        "id": str(user.id),
        "name": user.name,
        "fullname": user.fullname,
        "email": user.email,
        "emailVerified": user.email is not None,
        "canPay": False,
        "isPro": False,
        "periodEnd": None,
        "avatarUrl": "",
        "isAdmin": user.is_admin,
        "orgs": orgs,
        "auth": {"type": "access_token", "accessToken": _token_json(caller)},
    }


def _token_json(caller: Caller) -> dict[str, Any]:
    assert caller.token is not None
    data: dict[str, Any] = {
        "displayName": caller.token.display_name,
        "role": caller.token.role,
        "createdAt": iso(caller.token.created_at),
    }
    if caller.scopes is not None:
        data["fineGrained"] = {
            "canReadGatedRepos": False,  # gated content needs a scope covering the repo
            "global": [],
            "scoped": [scope.as_hub_json() for scope in caller.scopes],
        }
    return data


@router.get("/api/agent-harnesses")
async def agent_harnesses() -> dict[str, Any]:
    """Asked by every client process on start; an empty registry is cached by them for 24 h."""
    return {"standardEnvVars": [], "harnesses": {}}


@router.api_route("/api/telemetry/{topic:path}", methods=["HEAD", "GET", "POST"])
async def telemetry(topic: str) -> Response:
    return Response(status_code=200)


@router.post("/api/validate-yaml")
async def validate_yaml(request: Request) -> Response:
    """JSON whatever the status (the client parses the body before checking it), or one message
    per line when the caller asks for ``text/plain`` (``RepoCard.validate`` shows that text)."""
    plain = "text/plain" in request.headers.get("accept", "")
    try:  # anyone may call this: a card-sized body at most
        body = json.loads(await read_limited(request, hub_of(request).settings.max_query_body))
    except (ValueError, RecursionError):  # RecursionError: JSON nested deeper than the parser goes
        return _validation_answer(["Body must be JSON"], [], plain=plain)
    content = body.get("content") if isinstance(body, dict) else None
    if not isinstance(content, str):
        return _validation_answer(["Missing 'content'"], [], plain=plain)
    errors, warnings = await run_in_threadpool(_validate_card, content)  # CPU work: never on the event loop
    return _validation_answer(errors, warnings, plain=plain)


def _validate_card(content: str) -> tuple[list[str], list[str]]:
    """The bounded YAML parse first, then the Hub's metadata schema on what it parsed."""
    card = parse_card(content)
    if card.errors:
        return card.errors, card.warnings
    schema = check_metadata(card.data)
    return schema.errors, card.warnings + schema.warnings


def _validation_answer(errors: list[str], warnings: list[str], *, plain: bool) -> Response:
    status = 400 if errors else 200
    if plain:
        return PlainTextResponse("".join(f"{line}\n" for line in errors + warnings), status_code=status)
    payload = {
        "errors": [{"message": message} for message in errors],
        "warnings": [_warning(message) for message in warnings],
    }
    return JSONResponse(payload, status_code=status)


def _warning(message: str) -> dict[str, str]:
    return {"message": message, "help": EMPTY_CARD_HELP} if message == EMPTY_CARD_WARNING else {"message": message}
