"""Hot reads are tried on the event loop and redone in a thread whenever they could block there."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pygit2
import pytest

from dockyard.api.hot_work import run_hot
from dockyard.errors import RepoNotFoundError, WouldBlockError
from dockyard.hub import Hub
from dockyard.repos.git_repo import PutBlob

AUTHOR = pygit2.Signature("alice", "alice@example.org")


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="hot-test") as executor:
        yield executor


def test_the_embedded_hub_reads_on_the_loop(hub: Hub) -> None:
    assert hub.db.quick.local
    assert hub.reads_on_loop


def test_an_answer_from_the_caches_never_leaves_the_loop(hub: Hub, pool: ThreadPoolExecutor) -> None:
    calls: list[tuple[bool, str]] = []

    def work(*, cached_only: bool) -> str:
        calls.append((cached_only, threading.current_thread().name))
        return "answer"

    assert asyncio.run(run_hot(hub, pool, work)) == "answer"
    assert calls == [(True, threading.current_thread().name)]


def test_work_that_would_block_is_redone_from_the_start_in_a_thread(hub: Hub, pool: ThreadPoolExecutor) -> None:
    calls: list[tuple[bool, str]] = []

    def work(*, cached_only: bool) -> str:
        calls.append((cached_only, threading.current_thread().name))
        if cached_only:
            raise WouldBlockError("cache miss")
        return "answer"

    assert asyncio.run(run_hot(hub, pool, work)) == "answer"
    assert [cached_only for cached_only, _ in calls] == [True, False]
    assert calls[1][1].startswith("hot-test")


def test_a_client_error_on_the_loop_is_the_answer(hub: Hub, pool: ThreadPoolExecutor) -> None:
    calls: list[bool] = []

    def work(*, cached_only: bool) -> str:
        calls.append(cached_only)
        raise RepoNotFoundError("Repository not found")

    with pytest.raises(RepoNotFoundError):
        asyncio.run(run_hot(hub, pool, work))
    assert calls == [True]  # answered on the loop, not tried again in a thread


def test_a_quick_read_on_the_loop_never_waits_for_a_lock(hub: Hub) -> None:
    path = hub.db.engine.url.database
    assert path is not None
    hub.db.engine.dispose()  # an exclusive lock needs every other connection closed first
    hub.db.quick.close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")  # even WAL readers must wait for this one
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("UPDATE server_state SET value = value")
    try:
        with pytest.raises(WouldBlockError):
            hub.db.quick.first("SELECT 1 FROM server_state", {}, wait=False)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert hub.db.quick.first("SELECT 1", {}, wait=False) == (1,)


def test_an_entry_not_yet_cached_is_not_read_from_git_on_the_loop(hub: Hub) -> None:
    git = hub.git.init("e" * 32)
    tree = git.build_tree(None, [PutBlob("a.txt", b"A")])
    commit = git.create_commit(tree_id=tree, parents=[], author=AUTHOR, message="one file")
    with pytest.raises(WouldBlockError):
        hub.entries.entry(git, "e" * 32, commit, "a.txt", cached_only=True)
    with pytest.raises(WouldBlockError):
        hub.entries.has_file(git, "e" * 32, commit, "a.txt", cached_only=True)
    read = hub.entries.entry(git, "e" * 32, commit, "a.txt")
    assert hub.entries.entry(git, "e" * 32, commit, "a.txt", cached_only=True) == read
    assert hub.entries.has_file(git, "e" * 32, commit, "a.txt")
    assert hub.entries.has_file(git, "e" * 32, commit, "a.txt", cached_only=True)
