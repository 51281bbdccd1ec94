"""Repo info answers remembered per process, valid only while the database says nothing changed.

An info answer is a pure function of: the repo's row (every column: visibility, gating, card and
metadata columns, likes, downloads, last-modified...), its owner's name, its stored tags, the
commit asked about (resolved from the refs on disk by every request, so a push through any
process is seen), and the request's parameters (``expand``, ``blobs``). The commit's files and
the metadata extracted from it never change (a commit id names its tree). So each request reads
the row and the tags (one indexed query on SQLite, without a pooled session, see
:mod:`dockyard.db.quick_read`) and the answer is reused only when the row and tags read *now*
equal those it was rendered from: any change committed by any process (a like, a card edit, a
flush of download counts, a visibility flip) makes the next request in every process miss.
Nothing is invalidated by process memory; there is no time-to-live and no lag, download counts
included (they are as fresh as the row, written behind by :class:`~dockyard.repos.downloads.DownloadCounter`
within about a second, as before).

The answer is rendered from the very row it is keyed on (:meth:`RepoRow.repo`), never from a
second read, so a change landing between the two can never be stored under the older version.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm.attributes import set_committed_value

from dockyard.accounts.models import Account
from dockyard.auth.cache import detached
from dockyard.db.database import Database
from dockyard.errors import WouldBlockError
from dockyard.repos.models import Repo

_MAX_BYTES = 64 * 1024 * 1024  # all answers of one process together
_MAX_ANSWER_BYTES = 4 * 1024 * 1024  # a bigger answer (a huge file list) is rendered each time
_COLUMNS = tuple(Repo.__table__.columns)
_ROW_SQL = (
    "SELECT "
    + ", ".join(f"repos.{column.name}" for column in _COLUMNS)
    + ", accounts.name FROM repos JOIN accounts ON accounts.id = repos.owner_id WHERE repos.id = :pk"
)
# SQLite: the tags ride on the row's query as one JSON array (one statement instead of two); its
# order is not guaranteed, so they are sorted here (code point order = SQLite's binary collation).
_SQLITE_ROW_SQL = _ROW_SQL.replace(
    ", accounts.name FROM",
    ", (SELECT json_group_array(tag) FROM repo_tags WHERE repo_id = repos.id), accounts.name FROM",
)
_TAGS_SQL = "SELECT tag FROM repo_tags WHERE repo_id = :pk ORDER BY tag"


@dataclass(frozen=True, slots=True)
class RepoRow:
    """One repo's row as the database holds it now, with its owner's name and stored tags."""

    version: tuple[Any, ...]  # compared with ``==`` to the version an answer was rendered from
    values: tuple[Any, ...]  # the repo's columns in ``_COLUMNS`` order, as the driver gave them
    owner_name: str
    tags: list[str]
    convert: bool  # SQLite's raw values still need the column types' processing (JSON, dates)

    def repo(self, db: Database) -> Repo:
        """A detached ``Repo`` built from exactly this row (its owner carries only id and name).
        Only a cache miss pays for the conversion (parsing the JSON columns and dates)."""
        values = (
            [_processor(c, db)(v) for c, v in zip(_COLUMNS, self.values, strict=True)] if self.convert else self.values
        )
        columns = {column.key: value for column, value in zip(_COLUMNS, values, strict=True)}
        repo: Repo = detached(Repo, columns)
        owner = detached(Account, {"id": columns["owner_id"], "name": self.owner_name})
        set_committed_value(repo, "owner", owner)
        return repo


def read_repo_row(db: Database, pk: int, *, wait: bool = True) -> RepoRow | None:
    """The repo's row now (None: deleted meanwhile). On SQLite the raw column values (JSON still
    text) are the version, so comparing costs no parsing; other databases go through the pool."""
    if db.engine.dialect.name == "sqlite":
        raw = db.quick.first(_SQLITE_ROW_SQL, {"pk": pk}, wait=wait)
        if raw is None:
            return None
        tags = sorted(json.loads(raw[-2] or "[]"))
        return RepoRow(version=raw, values=raw[:-2], owner_name=raw[-1], tags=tags, convert=True)
    if not wait:
        raise WouldBlockError("a network database")
    with db.engine.connect() as connection:
        typed = connection.execute(select(*_COLUMNS, Account.name).join_from(Repo, Account).where(Repo.id == pk))
        found = typed.first()
    if found is None:
        return None
    row = tuple(found)
    tags = [tag for (tag,) in db.quick.all(_TAGS_SQL, {"pk": pk})]
    return RepoRow(version=(row, tuple(tags)), values=row[:-1], owner_name=row[-1], tags=tags, convert=False)


def _identity(value: Any) -> Any:
    return value


_PROCESSORS: dict[tuple[str, str], Any] = {}


def _processor(column: Any, db: Database) -> Any:
    """The column type's result processor for the dialect (JSON text → dict, 0/1 → bool...)."""
    key = (db.engine.dialect.name, column.key)
    found = _PROCESSORS.get(key)
    if found is None:
        dialect = db.engine.dialect
        found = column.type.dialect_impl(dialect).result_processor(dialect, None) or _identity
        _PROCESSORS[key] = found
    return found


@dataclass(frozen=True, slots=True)
class InfoAnswer:
    body: bytes  # the JSON document
    warnings: tuple[str, ...]  # for the X-HF-Warning headers


class InfoAnswerCache:
    """``slot → (version, answer)``: one answer per repo, commit and parameters; a newer version
    replaces the older one in place, so a busy repo's changes do not pile up."""

    def __init__(self, max_bytes: int = _MAX_BYTES) -> None:
        self._lock = threading.Lock()
        self._answers: dict[tuple[Any, ...], tuple[tuple[Any, ...], InfoAnswer]] = {}
        self._bytes = 0
        self._max = max_bytes

    def get(self, slot: tuple[Any, ...], version: tuple[Any, ...]) -> InfoAnswer | None:
        with self._lock:
            found = self._answers.get(slot)
        if found is None or found[0] != version:
            return None
        return found[1]

    def put(self, slot: tuple[Any, ...], version: tuple[Any, ...], answer: InfoAnswer) -> None:
        size = len(answer.body)
        if size > _MAX_ANSWER_BYTES:
            return
        with self._lock:
            old = self._answers.pop(slot, None)
            if old is not None:
                self._bytes -= len(old[1].body)
            if self._bytes + size > self._max:
                self._answers.clear()
                self._bytes = 0
            self._answers[slot] = (version, answer)
            self._bytes += size
