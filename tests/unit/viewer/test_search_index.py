"""The full-text search index over real Parquet shards (several shards and row groups): its answers
against the scan's on the same split, against a plain-Python model of word matching (case and
accents folded), FTS5 operators searched as text, paging, the size limit, and the local cache of
indexes stored in a remote-like blob store."""

from __future__ import annotations

import os
import random
import re
import unicodedata
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dockyard.hub import Hub
from dockyard.settings import Settings
from dockyard.storage.local import LocalBlobStore
from dockyard.viewer import features as feats
from dockyard.viewer import fulltext, query, search_store
from dockyard.viewer.errors import TooBigContentError
from dockyard.viewer.shards import Shard, local_shards

VOCAB = ["keel", "harbour", "hull", "tide", "gale", "gales", "Café", "cafe", "CAFÉ", "naïve", "NEAR(beacon)",
         'say "ahoy"', "star*fish", "x OR y", "well-known", "col:val", "-minus", "mast^2"]  # fmt: skip
#: Queries whose whole-word answer is the scan's substring answer on this vocabulary.
SAME_AS_SCAN = ["keel", "KEEL Harbour", "hull tide keel", "NEAR(", "NEAR(beacon)", 'say "ahoy"', '"ahoy',
                "star*fish", "x OR y", "well-known", "col:val", "-minus", "mast^2", "naïve"]  # fmt: skip
#: Queries where words differ from substrings: accents folded, "gale" is not "gales", and FTS5
#: syntax ("OR", "*", NEAR groups, column filters, "^") has no effect.
WORD_ONLY = ["cafe", "CAFÉ", "gale", "gale*", "gale OR keel", "NEAR(gale keel)", "c0:keel", "rank:keel", "^keel",
             "NOT keel", "keel AND", "keel -", "naive", "{c0 c1}: keel", "keel + tide"]  # fmt: skip


def _text(rng: random.Random) -> str | None:
    if rng.random() < 0.08:
        return None
    return " ".join(rng.choice(VOCAB) for _ in range(rng.randint(0, 4)))


@pytest.fixture(scope="module")
def split(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, list[Any]], list[Shard], pa.Schema, Path]:
    """2,500 rows in 3 shards of row groups of 300; a string column named ``rank`` (an FTS5 name)."""
    folder: Path = tmp_path_factory.mktemp("split")
    rng = random.Random(13)
    n = 2500
    data: dict[str, list[Any]] = {
        "title": [_text(rng) for _ in range(n)],
        "rank": [_text(rng) for _ in range(n)],
        "n": [rng.randint(0, 100) for _ in range(n)],
    }
    table = pa.table(data)
    paths = []
    for index, (lo, hi) in enumerate([(0, 900), (900, 1700), (1700, n)]):
        path = folder / f"{index:04d}.parquet"
        pq.write_table(table.slice(lo, hi - lo), path, row_group_size=300)
        paths.append(path)
    shards = local_shards(paths)
    index_path = folder / "index.sqlite3"
    stats = fulltext.build(index_path, shards, ["title", "rank"], max_text_bytes=10**9)
    assert stats.num_rows == n
    assert stats.text_bytes == sum(len((t or "").encode()) for col in ("title", "rank") for t in data[col])
    return data, shards, table.schema, index_path


def _tokens(text: str) -> list[str]:
    folded = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c)).lower()
    return re.findall(r"[^\W_]+", folded)


def _holds(tokens: list[str], phrase: list[str]) -> bool:
    return any(tokens[i : i + len(phrase)] == phrase for i in range(len(tokens) - len(phrase) + 1))


def _expected(data: dict[str, list[Any]], text: str) -> list[int]:
    """Every word (its tokens, as a phrase) in some string column, case and accents folded."""
    phrases = [_tokens(word) for word in text.split()]
    phrases = [p for p in phrases if p]
    columns = [[_tokens(t or "") for t in data[name]] for name in ("title", "rank")]
    return [i for i in range(len(data["n"])) if all(any(_holds(col[i], p) for col in columns) for p in phrases)]


def _search(split: Any, text: str, offset: int = 0, length: int = 100, indexed: bool = True) -> query.Hits:
    _, shards, schema, index_path = split
    features = feats.features_of(schema)
    return query.search_rows(
        shards, schema, features, query=text, offset=offset, length=length, index=index_path if indexed else None
    )


@pytest.mark.parametrize("text", SAME_AS_SCAN)
def test_index_answers_as_the_scan(split: Any, text: str) -> None:
    data = split[0]
    indexed, scanned = _search(split, text), _search(split, text, indexed=False)
    assert indexed.total > 0
    assert indexed == scanned
    assert indexed.total == len(_expected(data, text))


@pytest.mark.parametrize("text", WORD_ONLY)
def test_words_and_operators_are_text(split: Any, text: str) -> None:
    """Straight on the index (no fallback to the scan could hide an FTS5 syntax error)."""
    data, _, _, index_path = split
    expected = _expected(data, text)
    expression = fulltext.match_expression(text)
    assert expression is not None
    found, total = fulltext.search(index_path, expression, offset=0, length=100)
    assert total == len(expected)
    assert found == expected[:100]


def test_accents_and_case_fold_both_ways(split: Any) -> None:
    data = split[0]
    cafe = _search(split, "cafe", length=100).total
    assert cafe == _search(split, "CAFÉ").total == _search(split, "Café").total
    with_accent = [
        i for i in range(len(data["n"])) if any("é" in (data[c][i] or "").lower() for c in ("title", "rank"))
    ]
    plain = [i for i in range(len(data["n"])) if any("cafe" in (data[c][i] or "").lower() for c in ("title", "rank"))]
    assert cafe == len(set(with_accent) | set(plain)) > len(set(plain))  # the scan would miss the accented rows


def test_operators_have_no_effect(split: Any) -> None:
    data = split[0]
    only_keel = set(_expected(data, "keel")) - set(_expected(data, "gale"))
    assert only_keel
    either = _search(split, "gale OR keel", length=100)
    assert not set(either.row_indexes) & set(only_keel)  # OR as syntax would return them
    gales = set(_expected(data, "gales")) - set(_expected(data, "gale"))
    assert gales
    assert not set(_search(split, "gale*", length=100).row_indexes) & gales  # a prefix query would


def test_paging_walks_every_hit_once(split: Any) -> None:
    data = split[0]
    expected = _expected(data, "keel")
    assert len(expected) > 250
    seen: list[int] = []
    for offset in range(0, len(expected) + 40, 40):
        page = _search(split, "keel", offset=offset, length=40)
        assert page.total == len(expected)
        seen += page.row_indexes
    assert seen == expected
    assert _search(split, "keel", offset=len(expected), length=10).row_indexes == []


def test_punctuation_only_query_falls_back_to_the_scan(split: Any) -> None:
    assert fulltext.match_expression("- * ^") is None
    assert _search(split, "*") == _search(split, "*", indexed=False)
    assert _search(split, "*").total > 0  # "star*fish" holds one


def test_match_expression_quotes_every_word() -> None:
    assert fulltext.match_expression('say "hi" NEAR(a b) x*') == '"say" """hi""" "NEAR(a" "b)" "x*"'
    assert fulltext.match_expression(" ".join(f"w{i}" for i in range(40))) == " ".join(f'"w{i}"' for i in range(16))


def test_text_over_the_limit_is_refused(split: Any, tmp_path: Path) -> None:
    _, shards, _, _ = split
    assert fulltext.footer_text_bytes(shards, ["title", "rank"]) > 0
    with pytest.raises(TooBigContentError):
        fulltext.build(tmp_path / "small.sqlite3", shards, ["title", "rank"], max_text_bytes=1000)


def test_nulls_and_empty_split(tmp_path: Path) -> None:
    path = tmp_path / "empty.parquet"
    pq.write_table(pa.table({"t": pa.array([None, None], pa.string())}), path)
    stats = fulltext.build(tmp_path / "i.sqlite3", local_shards([path]), ["t"], max_text_bytes=10)
    assert stats == fulltext.IndexStats(2, 0)
    assert fulltext.search(tmp_path / "i.sqlite3", '"x"', offset=0, length=10) == ([], 0)


# -- storage and the local cache ---------------------------------------------------------------------
class RemoteLikeStore(LocalBlobStore):
    """The local store without a local path, as S3: readers must go through the cache."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.opened = 0

    def local_path(self, key: str) -> None:
        return None

    def open(self, key: str) -> Any:
        self.opened += 1
        return super().open(key)


def _hub(tmp_path: Path, store: LocalBlobStore, cache_bytes: int = 10**9) -> Hub:
    settings = Settings(data_dir=tmp_path / "data", viewer_search_cache_bytes=cache_bytes)
    return cast(Hub, SimpleNamespace(blobs=store, settings=settings))


def test_keys_differ_by_every_part() -> None:
    base = search_store.index_key("u1", "a" * 40, "default", "train", 1)
    others = [
        search_store.index_key("u2", "a" * 40, "default", "train", 1),
        search_store.index_key("u1", "b" * 40, "default", "train", 1),
        search_store.index_key("u1", "a" * 40, "default\0train", "", 1),
        search_store.index_key("u1", "a" * 40, "default", "test", 1),
        search_store.index_key("u1", "a" * 40, "default", "train", 2),
    ]
    assert len({base, *others}) == 6
    assert base.startswith("viewer/search/u1/")


def test_local_store_is_read_in_place(split: Any, tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    hub = _hub(tmp_path, store)
    search_store.store(hub, split[3], "viewer/search/k.sqlite3")
    assert search_store.local_file(hub, "viewer/search/k.sqlite3") == store.local_path("viewer/search/k.sqlite3")
    assert not search_store.cache_dir(hub).exists()


def test_remote_store_goes_through_the_cache(split: Any, tmp_path: Path) -> None:
    store = RemoteLikeStore(tmp_path / "blobs")
    hub = _hub(tmp_path, store)
    size = search_store.store(hub, split[3], "viewer/search/u/r/a.sqlite3")
    assert size == split[3].stat().st_size
    first = search_store.local_file(hub, "viewer/search/u/r/a.sqlite3")
    assert first.parent == search_store.cache_dir(hub)
    assert first.read_bytes() == split[3].read_bytes()
    assert search_store.local_file(hub, "viewer/search/u/r/a.sqlite3") == first
    assert store.opened == 1  # the second read found the cached copy
    expression = fulltext.match_expression("keel")
    assert expression is not None
    assert fulltext.search(first, expression, offset=0, length=5)[1] == _search(split, "keel").total
    first.unlink()  # evicted, or a fresh API host: fetched again
    assert search_store.local_file(hub, "viewer/search/u/r/a.sqlite3").read_bytes() == split[3].read_bytes()
    assert store.opened == 2
    assert [p.name for p in search_store.cache_dir(hub).iterdir()] == [first.name]  # no temporary left


def test_cache_evicts_the_least_recently_used(split: Any, tmp_path: Path) -> None:
    store = RemoteLikeStore(tmp_path / "blobs")
    size = split[3].stat().st_size
    hub = _hub(tmp_path, store, cache_bytes=2 * size)
    for name in ("a", "b", "c"):
        search_store.store(hub, split[3], f"viewer/search/{name}.sqlite3")
    a = search_store.local_file(hub, "viewer/search/a.sqlite3")
    b = search_store.local_file(hub, "viewer/search/b.sqlite3")
    os.utime(a, (1, 1))
    os.utime(b, (2, 2))
    search_store.local_file(hub, "viewer/search/a.sqlite3")  # used again: now the newest
    c = search_store.local_file(hub, "viewer/search/c.sqlite3")
    assert sorted(p.name for p in search_store.cache_dir(hub).iterdir()) == sorted([a.name, c.name])
    assert not b.exists()
