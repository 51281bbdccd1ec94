"""Metadata on a real hub: stored only for a newer head, and never an exception because of content."""

from __future__ import annotations

from sqlalchemy import select, update

from dockyard.hub import Hub
from dockyard.repos import metadata
from dockyard.repos.commits import record_commit
from dockyard.repos.git_repo import BRANCH_PREFIX, PutBlob
from dockyard.repos.models import Repo, RepoTag
from dockyard.repos.service import signature_for
from tests.functional.test_scanning import make_repo

MAIN = BRANCH_PREFIX + "main"


def _commit_card(hub: Hub, repo: Repo, parent: str, tag: str) -> str:
    git = hub.git.open(repo.uid)
    tree = git.build_tree(parent, [PutBlob("README.md", f"---\ntags: [{tag}]\n---\n".encode())])
    return git.create_commit(tree_id=tree, parents=[parent], author=signature_for(None), message=tag)


def _stored(hub: Hub, repo_id: int) -> tuple[str | None, str | None, list[str]]:
    with hub.db.read() as session:
        repo = session.get_one(Repo, repo_id)
        tags = list(session.scalars(select(RepoTag.tag).where(RepoTag.repo_id == repo_id)))
        return repo.metadata_sha, repo.sha, tags


def test_an_older_commit_recorded_last_does_not_overwrite_newer_metadata(hub: Hub) -> None:
    repo, _ = make_repo(hub, "race")
    git = hub.git.open(repo.uid)
    start = git.ref_target(MAIN)
    assert start is not None
    older = _commit_card(hub, repo, start, "older")
    git.update_ref(MAIN, older, expected_old=start, message="older")
    newer = _commit_card(hub, repo, older, "newer")
    git.update_ref(MAIN, newer, expected_old=older, message="newer")

    # Two commits recorded at the same time, the older one's record finishing last.
    record_commit(hub, repo.id, MAIN, newer)
    record_commit(hub, repo.id, MAIN, older)

    metadata_sha, sha, tags = _stored(hub, repo.id)
    assert (metadata_sha, sha) == (newer, newer)
    assert "newer" in tags
    assert "older" not in tags


def test_after_a_force_push_the_head_wins_even_if_it_is_no_descendant(hub: Hub) -> None:
    repo, _ = make_repo(hub, "forced")
    git = hub.git.open(repo.uid)
    start = git.ref_target(MAIN)
    assert start is not None
    first = _commit_card(hub, repo, start, "first")
    git.update_ref(MAIN, first, expected_old=start, message="first")
    record_commit(hub, repo.id, MAIN, first)
    rewritten = _commit_card(hub, repo, start, "rewritten")  # a sibling of ``first``, not its child
    git.update_ref(MAIN, rewritten, expected_old=first, message="force")
    record_commit(hub, repo.id, MAIN, rewritten)

    metadata_sha, _, tags = _stored(hub, repo.id)
    assert metadata_sha == rewritten
    assert "rewritten" in tags
    assert "first" not in tags


def test_a_lost_compare_and_set_decides_again_on_the_fresh_row(hub: Hub) -> None:
    repo, _ = make_repo(hub, "cas")
    git = hub.git.open(repo.uid)
    start = git.ref_target(MAIN)
    assert start is not None
    older = _commit_card(hub, repo, start, "older")
    newer = _commit_card(hub, repo, older, "newer")
    git.update_ref(MAIN, newer, expected_old=start, message="two commits")
    with hub.db.write() as session:
        row = session.get_one(Repo, repo.id)
        stale = row.metadata_sha
        # Another process stores the newer commit's metadata after this one read the row.
        session.execute(
            update(Repo).where(Repo.id == repo.id).values(metadata_sha=newer),
            execution_options={"synchronize_session": False},
        )
        assert row.metadata_sha == stale
        assert metadata.refresh(hub, session, row, older) is False
        assert row.metadata_sha == newer
