"""Who is looking at a page: the signed-in user (by session cookie, or a token for scripts that
fetch pages) or nobody."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from dockyard.accounts.models import Account, WebSession
from dockyard.auth.identity import Caller
from dockyard.request_context import caller_of


@dataclass(frozen=True, slots=True)
class Viewer:
    caller: Caller

    @property
    def user(self) -> Account | None:
        return self.caller.user

    @property
    def session(self) -> WebSession | None:
        return self.caller.web_session

    @property
    def signed_in(self) -> bool:
        return self.caller.user is not None

    @property
    def is_admin(self) -> bool:
        return self.caller.is_admin


def viewer_of(request: Request) -> Viewer:
    return Viewer(caller=caller_of(request))
