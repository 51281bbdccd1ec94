"""The list pages' fast paths give the same answers as the plain queries: the search plans return
exactly the listing's results, both tag-count plans count the same, shared public counts plus the
viewer's private repos equal a direct count, and a repo made private leaves shared counts at once.

These run on a hub of their own (a few hundred repos written straight to the database), so every
figure is known exactly."""

from __future__ import annotations

import random
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import delete, select, update

from dockyard.accounts.models import Account
from dockyard.app import build_hub
from dockyard.auth.identity import Caller
from dockyard.db.migrate import upgrade
from dockyard.hub import Hub
from dockyard.identifiers import RepoType
from dockyard.repos.models import Repo, RepoTag
from dockyard.search import facets
from dockyard.search.facets import DENSE_MATCHES, PageQuery, count_repos, facets_of, list_page, summary
from dockyard.search.index import trigrams
from dockyard.search.listing import build_query
from dockyard.search.models import RepoSearchGram
from dockyard.settings import Settings
from tests.support.waiting import wait_until

WORDS = ["llama", "mistral", "phi", "gemma", "bert"]
TASKS = ["fill-mask", "text-generation", "text-classification"]
REPOS = 240


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    """A hub with owners ``ls-owner`` and ``ls-other``: models and a few datasets, some private,
    some disabled."""
    root: Path = tmp_path_factory.mktemp("listspeed")
    settings = Settings(data_dir=root / "data")
    settings.resolved_data_dir().mkdir(parents=True)
    upgrade(settings.resolved_database_url())
    built = build_hub(settings)
    rng = random.Random(11)
    with built.db.write() as session:
        owners = [Account(name=n, name_lower=n, kind="user") for n in ("ls-owner", "ls-other")]
        session.add_all(owners)
        session.flush()
        for index in range(REPOS):
            owner = owners[index % 2]
            name = f"{rng.choice(WORDS)}-{rng.choice(WORDS)}-{index}"
            full_id = f"{owner.name}/{name}"
            repo = Repo(
                uid=uuid.uuid4().hex, type="dataset" if index % 9 == 4 else "model", owner_id=owner.id, name=name,
                full_id=full_id,
                full_id_lower=full_id.lower(), private=index % 7 == 0, disabled=index % 53 == 1,
                downloads=rng.randint(0, 1000), likes=rng.randint(0, 50), trending_score=rng.random(),
                pipeline_tag=rng.choice(TASKS), library_name=rng.choice(["transformers", "gguf", None]),
            )  # fmt: skip
            session.add(repo)
            session.flush()
            tags = {f"license:{rng.choice(['mit', 'apache-2.0'])}", f"language:{rng.choice(['en', 'fr'])}"}
            tags |= {rng.choice(["chat", "code", "en"])} | ({repo.pipeline_tag} if repo.pipeline_tag else set())
            session.add_all(RepoTag(repo_id=repo.id, tag=tag) for tag in tags)
            session.add_all(RepoSearchGram(repo_id=repo.id, gram=gram) for gram in trigrams(full_id.lower()))
    try:
        yield built
    finally:
        built.db.dispose()


def _owner(hub: Hub) -> Caller:
    with hub.db.read() as session:
        return Caller(user=session.scalars(select(Account).where(Account.name == "ls-owner")).one())


QUERIES = [
    PageQuery(RepoType.MODEL, search="llama"),
    PageQuery(RepoType.MODEL, search="mistral-phi", sort="likes"),
    PageQuery(RepoType.MODEL, search="ls-owner/gemma-b", sort="downloads"),
    PageQuery(RepoType.MODEL, search="zzz"),
    PageQuery(RepoType.MODEL, search="ph", page=1),
    PageQuery(RepoType.MODEL, search="a-l", pipeline_tag="fill-mask", license="mit"),
]


@pytest.mark.parametrize("query", QUERIES, ids=lambda q: f"{q.search}-{q.sort}-{q.page}")
@pytest.mark.parametrize("matches", [None, 0, DENSE_MATCHES])
def test_every_search_plan_returns_the_listings_results(hub: Hub, query: PageQuery, matches: int | None) -> None:
    for caller in (Caller(), _owner(hub)):
        with hub.db.read() as session:
            planned = facets._filtered(session, query, caller, matches=matches)
            expected = build_query(query.listing(), caller)
            if query.library:
                expected = expected.where(Repo.library_name == query.library)
            got = list(session.scalars(planned.with_only_columns(Repo.id)))
            want = list(session.scalars(expected.with_only_columns(Repo.id)))
        assert got == want
        assert query.search != "zzz" or got == []


def _direct(hub: Hub, caller: Caller, query: PageQuery) -> Counter[str]:
    """The counts by hand: load the visible matching repos and their tags, count in Python."""
    with hub.db.read() as session:
        ids = list(session.scalars(build_query(query.listing(), caller).with_only_columns(Repo.id)))
        rows = session.execute(select(RepoTag.tag).where(RepoTag.repo_id.in_(ids))).all()
        tasks = session.scalars(select(Repo.pipeline_tag).where(Repo.id.in_(ids))).all()
    found = Counter(f"tag={tag}" for (tag,) in rows) + Counter(f"task={task}" for task in tasks if task)
    found["total"] = len(ids)
    return found


def _as_counter(total: int, counts: facets.Counts) -> Counter[str]:
    found = Counter({f"tag={t}": n for t, n in counts.tags.items()}) + Counter(
        {f"task={t}": n for t, n in counts.tasks.items()}
    )
    found["total"] = total
    return found


@pytest.mark.parametrize("plan", ["results", "complement", "walk", None])
@pytest.mark.parametrize("query", [PageQuery(RepoType.MODEL, pipeline_tag="fill-mask"), PageQuery(RepoType.MODEL)])
def test_every_tag_plan_counts_exactly(hub: Hub, query: PageQuery, plan: facets.TagPlan | None) -> None:
    caller = _owner(hub)
    with hub.db.read() as session:
        counts = count_repos(session, facets._filtered(session, query, caller), tag_plan=plan)
    assert counts.total > 0
    assert _as_counter(counts.total, counts) == _direct(hub, caller, query)


@pytest.mark.parametrize("who", ["anonymous", "owner"])
def test_shared_public_counts_plus_own_private_repos_are_exact(hub: Hub, who: str) -> None:
    caller = Caller() if who == "anonymous" else _owner(hub)
    query = PageQuery(RepoType.MODEL, license="mit")
    with hub.db.read() as session:
        summary(session, Caller(), query)  # the public counts are now shared, whoever asks next
        total, shown = summary(session, caller, query)
        counts = facets.public_counts(session, query)
        if caller.user is not None:
            private = facets._filtered(session, query, caller).where(Repo.private.is_(True))
            counts = counts + count_repos(session, private)
    direct = _direct(hub, caller, query)
    assert _as_counter(total, counts) == direct
    tasks = {v.value: v.count for v in shown[0].values}
    assert tasks == {task[5:]: n for task, n in direct.items() if task.startswith("task=")}
    assert shown == facets_of(query, counts)


def test_a_repo_made_private_leaves_the_shared_counts_at_once(hub: Hub) -> None:
    query = PageQuery(RepoType.MODEL, search="gemma", language="fr")
    with hub.db.read() as session:
        before, _ = summary(session, Caller(), query)
        public = list_page(session, Caller(), query).repos
    assert before > 0
    assert public
    hidden = public[0].id
    with hub.db.write() as session:
        session.execute(update(Repo).where(Repo.id == hidden).values(private=True))
    try:
        with hub.db.read() as session:
            after, _ = summary(session, Caller(), query)
            owner_total, _ = summary(session, _owner(hub), query)
        assert after == before - 1
        assert after == _direct(hub, Caller(), query)["total"]
        assert owner_total == _direct(hub, _owner(hub), query)["total"]
    finally:
        with hub.db.write() as session:
            session.execute(update(Repo).where(Repo.id == hidden).values(private=False))


def test_stale_public_counts_are_served_while_recounted_then_replaced(hub: Hub) -> None:
    """After their half minute, shared counts still answer at once (no page waits for a recount)
    while a background thread recounts them; a public repo added meanwhile shows up after."""
    query = PageQuery(RepoType.MODEL, pipeline_tag="text-generation", language="en")
    key = (str(hub.db.engine.url), replace(query, sort=facets.DEFAULT_SORT, page=0))
    with hub.db.read() as session:
        before = facets.public_counts(session, query).total
    with hub.db.write() as session:
        owner = session.scalars(select(Account).where(Account.name == "ls-other")).one()
        name = f"fresh-{uuid.uuid4().hex[:6]}"
        added = Repo(
            uid=uuid.uuid4().hex, type="model", owner_id=owner.id, name=name, full_id=f"ls-other/{name}",
            full_id_lower=f"ls-other/{name}", pipeline_tag="text-generation",
        )  # fmt: skip
        session.add(added)
        session.flush()
        session.add(RepoTag(repo_id=added.id, tag="language:en"))
    try:
        with hub.db.read() as session:
            assert facets.public_counts(session, query).total == before  # fresh: the cached counts
            facets._public[key] = replace(facets._public[key], fresh_until=0.0)
            assert facets.public_counts(session, query).total == before  # stale, served at once

        def recounted() -> bool:
            snapshot = facets._public.get(key)
            return snapshot is not None and not snapshot.refreshing and snapshot.counts.total == before + 1

        assert wait_until(recounted)
    finally:
        with hub.db.write() as session:
            session.execute(delete(Repo).where(Repo.full_id_lower == f"ls-other/{name}"))
