"""Who may create an account and with what: the sign-up policy, the name and password rules, and
changing a password. Shared by the /join page and the password forms."""

from __future__ import annotations

import re

from sqlalchemy.orm import Session

from dockyard.accounts import sessions
from dockyard.accounts.invites import find_signup_invite, use_signup_invite
from dockyard.accounts.models import Account
from dockyard.accounts.passwords import hash_password, verify_password
from dockyard.accounts.service import create_user, find_account
from dockyard.audit.service import record
from dockyard.errors import BadRequestError, ConflictError, DockyardError, ForbiddenError
from dockyard.identifiers import RESERVED_NAMESPACES, is_valid_name

MIN_PASSWORD = 8
MAX_PASSWORD = 1024
# Top-level page paths that are not namespaces in the API but are pages here.
WEB_RESERVED = frozenset({"reset", "invite", "profile", "notifications", "-"})
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class SignupError(DockyardError):
    """A form field the person must correct; ``field`` says which."""

    status = 400

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def check_name(session: Session, name: str) -> None:
    if name.lower() in RESERVED_NAMESPACES or name.lower() in WEB_RESERVED:
        raise SignupError("username", f"{name!r} is reserved: choose another username")
    if not is_valid_name(name):
        raise SignupError(
            "username", "Use letters, digits, '-', '_' and '.', starting and ending with a letter or digit"
        )
    if find_account(session, name) is not None:
        raise SignupError("username", f"The username {name!r} is already taken")


def check_password(password: str, confirm: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise SignupError("password", f"The password is too short: use at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise SignupError("password", f"The password is too long: at most {MAX_PASSWORD} characters")
    if password != confirm:
        raise SignupError("confirm", "The two passwords differ")


def check_email(email: str) -> None:
    if email and (len(email) > 320 or not _EMAIL.match(email)):
        raise SignupError("email", "This does not look like an email address")


def sign_up(
    session: Session,
    *,
    policy: str,
    username: str,
    fullname: str,
    email: str,
    password: str,
    confirm: str,
    invite: str = "",
) -> Account:
    """Create the account if the policy allows it (``invite``: the link must be valid)."""
    if policy == "admin":
        raise ForbiddenError("Accounts on this hub are created by an administrator")
    if policy == "invite" and find_signup_invite(session, invite) is None:
        raise SignupError("invite", "Joining this hub needs a valid invite link: ask an administrator for one")
    check_name(session, username)
    check_email(email)
    check_password(password, confirm)
    if len(fullname) > 200:
        raise SignupError("fullname", "The full name is too long: at most 200 characters")
    try:
        user = create_user(session, username, fullname=fullname.strip() or None, email=email or None, password=password)
    except (BadRequestError, ConflictError) as error:
        raise SignupError("username", error.message) from None
    if policy == "invite" or (invite and find_signup_invite(session, invite) is not None):
        use_signup_invite(session, invite, user)  # an org invite also makes them a member
    record(session, "account.signed_up", actor=user.name, target=user.name)
    return user


def change_password(
    session: Session, user: Account, *, current: str, new: str, confirm: str, keep_session: int | None
) -> None:
    """Needs the current password; signs out every other session (a thief's included)."""
    if not verify_password(user.password_hash, current):
        raise SignupError("current", "The current password is wrong")
    check_password(new, confirm)
    user.password_hash = hash_password(new)
    sessions.revoke_all_sessions(session, user, keep=keep_session)
    record(session, "password.changed", actor=user.name, target=user.name)
