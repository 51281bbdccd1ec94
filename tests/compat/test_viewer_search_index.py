"""The dataset viewer's full-text search index (issue 13, step 4) against the live server, with
datasets pushed by the real ``datasets`` library: once the ``search-index`` step has run,
``/api/viewer/search`` answers from the index, and its answers equal the scan's (run here on the
export's Parquet files) for whole-word queries, FTS5 operators included, and a plain-Python model
of word matching where words and substrings differ (accents folded, "gale" is not "gales").
A private dataset's search stays 404 to others."""

from __future__ import annotations

import json
import random
import re
import unicodedata
import uuid
from pathlib import Path
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest
from datasets import Dataset, DatasetDict, Features, Value
from huggingface_hub import HfApi

from dockyard.viewer import features as feats
from dockyard.viewer import query
from dockyard.viewer.shards import local_shards
from tests.support.accounts import Identities
from tests.support.server import LiveServer
from tests.support.waiting import wait_until

FEATURES = Features({"title": Value("string"), "body": Value("string"), "n": Value("int64")})
VOCAB = ["keel", "harbour", "hull", "tide", "gale", "gales", "Café", "cafe", "CAFÉ", "naïve", "NEAR(beacon)",
         'say "ahoy"', "star*fish", "x OR y", "well-known", "col:val", "-minus", "mast^2"]  # fmt: skip
#: Whole-word queries: the index's answer is the scan's, operators and quotes searched as text.
SAME_AS_SCAN = ["keel", "KEEL Harbour", "hull tide keel", "NEAR(", "NEAR(beacon)", 'say "ahoy"', '"ahoy',
                "star*fish", "x OR y", "well-known", "col:val", "-minus", "mast^2"]  # fmt: skip
#: Where words and substrings differ, or where FTS5 syntax would change the answer if it were syntax.
WORD_ONLY = ["cafe", "CAFÉ", "naive", "gale", "gale*", "gale OR keel", "NEAR(gale keel)", "c0:keel", "NOT keel",
             "^keel", "keel -"]  # fmt: skip
TIMEOUT = 180.0


def _text(rng: random.Random) -> str | None:
    if rng.random() < 0.05:
        return None
    return " ".join(rng.choice(VOCAB) for _ in range(rng.randint(1, 4)))


def _rows(count: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [{"title": _text(rng), "body": _text(rng), "n": i} for i in range(count)]


def _get(server: LiveServer, token: str | None, **params: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.get(f"{server.url}/api/viewer/search", params=params, headers=headers, timeout=60)


def _push(repo_id: str, rows: list[dict[str, Any]], token: str, private: bool = False) -> str:
    data = DatasetDict({"train": Dataset.from_list(rows, features=FEATURES)})
    data.push_to_hub(repo_id, token=token, private=private)
    sha = HfApi(token=token).dataset_info(repo_id).sha
    assert sha is not None
    return sha


def _wait_index(server: LiveServer, repo_id: str, sha: str) -> dict[str, Any]:
    """The step's status through ``dockyard viewer status``, until it settled for this revision."""
    report: dict[str, Any] = {}

    def done() -> bool:
        nonlocal report
        report = json.loads(server.cli("viewer", "status", repo_id, "--revision", sha).stdout)
        return bool(report["steps"]["search-index"]["status"] != "pending")

    assert wait_until(done, timeout=TIMEOUT, poll=0.5), report
    assert report["steps"]["search-index"] == {"status": "ok", "errors": []}
    return report


@pytest.fixture(scope="module")
def pushed(server: LiveServer, ids: Identities, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A 700-row dataset, indexed; and the scan over its export's Parquet files, run here."""
    repo_id = f"alice/vsearch-{uuid.uuid4().hex[:8]}"
    rows = _rows(700, seed=5)
    sha = _push(repo_id, rows, ids.alice)
    _wait_index(server, repo_id, sha)
    folder: Path = tmp_path_factory.mktemp("export")
    api = HfApi(token=ids.alice)
    names = [f for f in api.list_repo_files(repo_id, repo_type="dataset", revision="refs/convert/parquet")
             if f.startswith("default/train/")]  # fmt: skip
    paths = [Path(api.hf_hub_download(repo_id, name, repo_type="dataset", revision="refs/convert/parquet",
                                      cache_dir=folder)) for name in sorted(names)]  # fmt: skip
    return repo_id, sha, rows, paths


def _scan(paths: list[Path], text: str, offset: int = 0, length: int = 100) -> query.Hits:
    shards = local_shards(paths)
    schema = pq.read_schema(paths[0])
    return query.scan_rows(shards, schema, feats.features_of(schema), words=text.split(), offset=offset, length=length)


def _tokens(text: str) -> list[str]:
    folded = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c)).lower()
    return re.findall(r"[^\W_]+", folded)


def _expected(rows: list[dict[str, Any]], text: str) -> list[int]:
    """Every word (its tokens, as a phrase) in the title or the body, case and accents folded."""
    phrases = [p for p in (_tokens(w) for w in text.split()) if p]

    def holds(cell: str | None, phrase: list[str]) -> bool:
        tokens = _tokens(cell or "")
        return any(tokens[i : i + len(phrase)] == phrase for i in range(len(tokens) - len(phrase) + 1))

    return [i for i, r in enumerate(rows) if all(holds(r["title"], p) or holds(r["body"], p) for p in phrases)]


def _answer(server: LiveServer, token: str, repo_id: str, text: str, offset: int = 0, length: int = 100) -> Any:
    found = _get(server, token, dataset=repo_id, config="default", split="train", query=text, offset=offset,
                 length=length)  # fmt: skip
    assert found.status_code == 200, found.text
    return found.json()


def test_the_index_is_stored_for_the_revision(server: LiveServer, pushed: Any) -> None:
    _, sha, _, _ = pushed
    stored = [p for p in server.blob_files("viewer/search") if p.parent.name == sha]
    assert len(stored) == 1
    assert stored[0].read_bytes().startswith(b"SQLite format 3\x00")


@pytest.mark.parametrize("text", SAME_AS_SCAN)
def test_search_answers_as_the_scan(server: LiveServer, ids: Identities, pushed: Any, text: str) -> None:
    repo_id, _, rows, paths = pushed
    body = _answer(server, ids.alice, repo_id, text)
    scanned = _scan(paths, text)
    assert scanned.total > 0
    assert body["num_rows_total"] == scanned.total == len(_expected(rows, text))
    assert [r["row_idx"] for r in body["rows"]] == scanned.row_indexes
    assert [r["row"] for r in body["rows"]] == [rows[i] for i in scanned.row_indexes]
    assert [f["name"] for f in body["features"]] == ["title", "body", "n"]
    assert body["num_rows_per_page"] == 100
    assert body["partial"] is False


@pytest.mark.parametrize("text", WORD_ONLY)
def test_words_are_matched_whole_and_operators_as_text(
    server: LiveServer, ids: Identities, pushed: Any, text: str
) -> None:
    repo_id, _, rows, _ = pushed
    expected = _expected(rows, text)
    body = _answer(server, ids.alice, repo_id, text)
    assert body["num_rows_total"] == len(expected)
    assert [r["row_idx"] for r in body["rows"]] == expected[:100]


def test_accents_fold_where_the_scan_would_not(server: LiveServer, ids: Identities, pushed: Any) -> None:
    repo_id, _, rows, paths = pushed
    cafe = _answer(server, ids.alice, repo_id, "cafe")["num_rows_total"]
    assert cafe == _answer(server, ids.alice, repo_id, "CAFÉ")["num_rows_total"] == len(_expected(rows, "café"))
    assert cafe > _scan(paths, "cafe").total  # so the index answered, not the scan
    either = {r["row_idx"] for r in _answer(server, ids.alice, repo_id, "gale OR keel")["rows"]}
    only_keel = set(_expected(rows, "keel")) - set(_expected(rows, "gale"))
    assert only_keel
    assert not either & only_keel  # OR as syntax would have returned them


def test_paging(server: LiveServer, ids: Identities, pushed: Any) -> None:
    repo_id, _, rows, paths = pushed
    expected = _expected(rows, "keel")
    assert len(expected) > 150
    seen: list[int] = []
    for offset in range(0, len(expected), 70):
        body = _answer(server, ids.alice, repo_id, "keel", offset=offset, length=70)
        assert body["num_rows_total"] == len(expected)
        seen += [r["row_idx"] for r in body["rows"]]
    assert seen == expected == _scan(paths, "keel", length=100_000).row_indexes
    assert _answer(server, ids.alice, repo_id, "keel", offset=len(expected))["rows"] == []
    too_long = _get(server, ids.alice, dataset=repo_id, config="default", split="train", query="keel", length=101)
    assert too_long.status_code == 422


def test_private_dataset_search_stays_hidden(server: LiveServer, ids: Identities) -> None:
    repo_id = f"alice/vsearch-private-{uuid.uuid4().hex[:8]}"
    rows = [{"title": f"secretive keel {i}", "body": "Café", "n": i} for i in range(30)]
    sha = _push(repo_id, rows, ids.alice, private=True)
    _wait_index(server, repo_id, sha)
    mine = _answer(server, ids.alice, repo_id, "cafe secretive")
    assert mine["num_rows_total"] == 30
    for token in (None, ids.bob):
        answer = _get(server, token, dataset=repo_id, config="default", split="train", query="keel")
        assert answer.status_code == 404, answer.status_code
        assert answer.headers.get("x-error-code") == "RepoNotFound"
        assert "secretive" not in answer.text


def test_dataset_page_search_uses_the_index(server: LiveServer, ids: Identities, pushed: Any) -> None:
    repo_id, _, rows, paths = pushed
    expected = len(_expected(rows, "cafe"))
    assert expected > _scan(paths, "cafe").total
    page = httpx.get(
        f"{server.url}/datasets/{repo_id}",
        params={"config": "default", "split": "train", "q": "cafe"},
        headers={"Authorization": f"Bearer {ids.alice}"},
        timeout=60,
    )
    assert page.status_code == 200
    assert f"{expected:,} matching rows of 700" in page.text


def test_a_lost_index_is_rebuilt(server: LiveServer, ids: Identities) -> None:
    """The index's blob vanishes behind the hub's back (a bad restore): search still answers, by
    the scan, and the first search queues a rebuild that stores the index again."""
    repo_id = f"alice/vsearch-lost-{uuid.uuid4().hex[:8]}"
    rows = _rows(120, seed=11)
    sha = _push(repo_id, rows, ids.alice)
    _wait_index(server, repo_id, sha)
    [stored] = [p for p in server.blob_files("viewer/search") if p.parent.name == sha]
    server.lose_blob(str(stored.relative_to(server.blob_root)))

    answer = _answer(server, ids.alice, repo_id, "keel")
    assert [r["row_idx"] for r in answer["rows"]] == _expected(rows, "keel")

    assert wait_until(lambda: stored.is_file(), timeout=TIMEOUT, poll=0.5), "the index was not rebuilt"
    _wait_index(server, repo_id, sha)
    again = _answer(server, ids.alice, repo_id, "keel")
    assert [r["row_idx"] for r in again["rows"]] == _expected(rows, "keel")
