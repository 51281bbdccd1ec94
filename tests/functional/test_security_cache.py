"""A revoked token never stays cached (attack 10): a token read before its revocation, by a
request that finishes after another request emptied the cache for the new epoch, is not stored.

The interleaving is driven step by step with the real services and the real request
authentication (``api.deps._authenticated``); over HTTP it would need a pause inside a request.
"""

from __future__ import annotations

import pytest

from dockyard.accounts import service as accounts
from dockyard.accounts.tokens import hash_token
from dockyard.auth.cache import columns_of, read_epoch
from dockyard.auth.identity import authenticate
from dockyard.errors import UnauthorizedError
from dockyard.hub import Hub
from dockyard.request_context import _authenticated


def test_a_token_read_before_its_revocation_is_not_cached_after_it(hub: Hub) -> None:
    with hub.db.write() as session:
        mallory = accounts.create_user(session, "mallory")
        issued = accounts.issue_token(session, mallory, role="write")
        token, token_id = issued.value, issued.token.id
    cache = hub.security_cache

    # Request 1 authenticates the token: it reads the epoch, then the (still valid) token ...
    with hub.db.read() as session:
        cache.validate(session)
        epoch = read_epoch(session)
        seen = authenticate(session, token)
        entry = (columns_of(seen.token), columns_of(seen.user))
    # ... meanwhile the owner revokes it, and request 2 empties the cache for the new epoch ...
    with hub.db.write() as session:
        accounts.revoke_token(session, accounts.get_user(session, "mallory"), token_id)
    with hub.db.read() as session:
        cache.validate(session)
    # ... and only then does request 1 store what it read.
    assert not cache.put(("token", hash_token(token)), entry, epoch)

    with hub.db.read() as session:  # request 3: the token is refused
        cache.validate(session)
        with pytest.raises(UnauthorizedError):
            _authenticated(hub, session, token, None)


def test_a_token_verified_in_the_current_epoch_is_served_from_the_cache(hub: Hub) -> None:
    with hub.db.write() as session:
        issued = accounts.issue_token(session, accounts.create_user(session, "trent"), role="read")
    with hub.db.read() as session:
        hub.security_cache.validate(session)
        first = _authenticated(hub, session, issued.value, None)
    assert hub.security_cache.get(("token", hash_token(issued.value))) is not None
    with hub.db.read() as session:
        hub.security_cache.validate(session)
        again = _authenticated(hub, session, issued.value, None)
    assert again.user is not None
    assert first.user is not None
    assert again.user.id == first.user.id
