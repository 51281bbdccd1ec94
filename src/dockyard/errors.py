"""The one error hierarchy: every failure a client can see is a :class:`DockyardError`.

Each class knows its HTTP status and the Hub's ``X-Error-Code``; a single exception handler in
:mod:`dockyard.api.errors` turns them into responses, so the real clients raise the matching
``huggingface_hub`` exception (RepositoryNotFoundError, RevisionNotFoundError, ...).
"""

from __future__ import annotations

import re


class DockyardError(Exception):
    """Base class. ``status`` is the HTTP status; ``code`` the Hub's X-Error-Code (or None)."""

    status: int = 500
    code: str | None = None
    default_message: str = "Internal error"

    def __init__(self, message: str | None = None, *, headers: dict[str, str] | None = None) -> None:
        self.message = message or self.default_message
        self.headers = headers or {}
        super().__init__(self.message)


class WouldBlockError(Exception):
    """Internal, never shown to a client: a read tried on the event loop needs work that may take
    long there (a cache miss, a database lock), so the caller redoes it in a thread
    (see :mod:`dockyard.api.hot_work`). Raised before any side effect."""


class BadRequestError(DockyardError):
    status = 400
    code = "BadRequest"
    default_message = "Bad request"


class InvalidNameError(BadRequestError):
    default_message = "Invalid name"


class InvalidPathError(BadRequestError):
    """A path that escapes the repo or names ``.git``: the Hub answers these with 422."""

    status = 422
    default_message = "Invalid path in repository"


class PayloadTooLargeError(DockyardError):
    status = 413
    code = "PayloadTooLarge"
    default_message = "Request body too large"


class UnauthorizedError(DockyardError):
    """A credential was sent but is not valid (the one 401 the client must not map to 'not found')."""

    status = 401
    code = None
    default_message = "Invalid credentials in Authorization header"


class AuthenticationRequiredError(DockyardError):
    status = 401
    code = None
    default_message = "Authentication required"


class ForbiddenError(DockyardError):
    status = 403
    code = "Forbidden"
    default_message = "You don't have the rights to perform this action"


class AccountDisabledError(ForbiddenError):
    """A hub admin disabled this account: it can neither sign in nor get a token."""

    default_message = "This account is disabled; ask an administrator of this hub."


class QuotaExceededError(ForbiddenError):
    """An upload that would take a namespace past the storage quota an administrator set; refused
    before any byte is sent."""

    code = "StorageQuotaExceeded"
    default_message = "Storage quota exceeded"


class GatedRepoError(DockyardError):
    status = 403
    code = "GatedRepo"
    default_message = "Access to this repository is restricted: you must ask for access first"


class NotFoundError(DockyardError):
    status = 404
    code: str | None = None
    default_message = "Not found"


class RepoNotFoundError(NotFoundError):
    code = "RepoNotFound"
    default_message = "Repository not found"


class RevisionNotFoundError(NotFoundError):
    code = "RevisionNotFound"
    default_message = "Invalid rev id"


class EntryNotFoundError(NotFoundError):
    code = "EntryNotFound"
    default_message = "Entry not found"


class AccountNotFoundError(NotFoundError):
    code = "UserNotFound"
    default_message = "User or organization not found"


class ConflictError(DockyardError):
    status = 409
    code = "Conflict"
    default_message = "Conflict"


class RepoExistsError(ConflictError):
    code = "RepoExists"
    default_message = "You already created this repository"


class RefExistsError(ConflictError):
    code = "RefExists"
    default_message = "Reference already exists"


class StaleParentError(DockyardError):
    """The commit's ``parentCommit`` is not the branch head any more: refresh and retry."""

    status = 412
    code = "PreconditionFailed"
    default_message = "The branch was updated since you opened this page. Please refresh and try again."


class RangeNotSatisfiableError(DockyardError):
    status = 416
    code = "RangeNotSatisfiable"
    default_message = "Requested range not satisfiable"


class UploadVerificationError(BadRequestError):
    """Uploaded bytes do not match the declared sha256 or size: nothing was stored."""

    default_message = "Uploaded content does not match its declared sha256 and size"


class RateLimitedError(DockyardError):
    status = 429
    code = "RateLimited"
    default_message = "Too many requests"


class StorageError(DockyardError):
    """The blob store failed: a server problem, never reported as a 404."""

    status = 503
    code = "StorageUnavailable"
    default_message = "Storage backend unavailable"


class BlobMissingError(StorageError):
    """A row says content is stored, but storage does not have the bytes: the server's fault (503),
    never a 404 that would tell the client the file does not exist."""

    default_message = "Stored content is missing from the storage backend"


class NotImplementedApiError(DockyardError):
    """A Hub endpoint Dockyard knowingly does not offer (the message says what to do instead)."""

    status = 501
    code = "NotImplemented"
    default_message = "Not implemented"


_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def header_safe(text: str, limit: int = 1000) -> str:
    """An error message fit for an ``X-Error-Message`` header: one line of latin-1 without control
    characters. Messages echo what the caller sent (a path, a revision), and one control
    character in a header makes the server drop the connection instead of answering."""
    cleaned = _UNPRINTABLE.sub("?", " ".join(text.split()))
    return cleaned.encode("latin-1", "replace").decode("latin-1")[:limit]
