"""The dataset page's viewer table in Chromium: the server-rendered first page (also without
JavaScript), switching split, paging and searching in place, column histograms, a private
dataset's table shown to its owner only, and axe finding nothing serious."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from datasets import ClassLabel, Dataset, DatasetDict, Features, Value
from huggingface_hub import HfApi
from playwright.sync_api import expect

from tests.support.accounts import Identities
from tests.support.browser import serious_accessibility_violations
from tests.support.server import LiveServer
from tests.support.waiting import wait_until
from tests.web.conftest import Browse

FEATURES = Features({"text": Value("string"), "label": ClassLabel(names=["calm", "stormy"]), "score": Value("float64")})
WORDS = ["harbour", "anchor", "gale", "tide", "beacon"]


def _rows(split: str, count: int) -> list[dict[str, Any]]:
    return [
        {"text": f"{split} row {i} {WORDS[i % 5]}" + (" sea" * 80 if i == 3 else ""), "label": i % 2, "score": i / 4}
        for i in range(count)
    ]


def _push(server: LiveServer, token: str, repo_id: str, private: bool = False) -> dict[str, list[dict[str, Any]]]:
    splits = {"train": _rows("train", 60), "test": _rows("test", 7)}
    DatasetDict({k: Dataset.from_list(v, features=FEATURES) for k, v in splits.items()}).push_to_hub(
        repo_id, token=token, private=private
    )
    sha = HfApi(endpoint=server.url, token=token).dataset_info(repo_id).sha

    def ready() -> bool:
        return all(
            httpx.get(
                f"{server.url}/api/viewer/statistics",
                params={"dataset": repo_id, "config": "default", "split": split, "revision": sha},
                headers={"Authorization": f"Bearer {token}"},
            ).status_code
            == 200
            for split in splits
        )

    assert wait_until(ready, timeout=180, poll=0.5)
    return splits


def _shown(text: str) -> str:
    """A cell as the table first shows it: long text folded to its first 200 characters."""
    return text if len(text) <= 200 else text[:200] + "…"


def _cells(page: Any, column: int) -> list[str]:
    return [text.strip() for text in page.locator(f"#viewer tbody tr > :nth-child({column})").all_inner_texts()]


def test_table_switch_page_search(page: Any, server: LiveServer, ids: Identities, repo_name: str) -> None:
    repo_id = f"alice/{repo_name}"
    splits = _push(server, ids.alice, repo_id)
    page.goto(f"/datasets/{repo_id}")
    viewer = page.locator("#viewer")
    expect(viewer.locator("[data-viewer-count]")).to_contain_text("60 rows")
    assert _cells(page, 1) == [str(i) for i in range(25)]
    assert _cells(page, 2)[0] == splits["train"][0]["text"]
    assert viewer.locator("thead svg.viewer-hist").count() == 3  # text lengths, labels, scores
    long_cell = viewer.locator("details.viewer-long").first
    expect(long_cell.locator(".viewer-full")).to_be_hidden()
    long_cell.locator("summary").click()
    expect(long_cell.locator(".viewer-full")).to_contain_text("sea sea")

    viewer.get_by_role("link", name="default / test (7)").click()
    expect(page.locator("#viewer [data-viewer-count]")).to_contain_text("7 rows")
    assert _cells(page, 2) == [_shown(r["text"]) for r in splits["test"]]
    assert "split=test" in page.url

    page.locator("#viewer").get_by_role("link", name="default / train (60)").click()
    expect(page.locator("#viewer [data-viewer-count]")).to_contain_text("60 rows")
    page.locator("#viewer .viewer-pages").get_by_role("link", name="2", exact=True).click()
    expect(page.locator("#viewer tbody tr").first.locator("th")).to_have_text("25")
    assert _cells(page, 1) == [str(i) for i in range(25, 50)]

    page.get_by_label("Search this split").fill("gale")
    page.locator("#viewer form.viewer-search").get_by_role("button", name="Search").click()
    expected = [str(i) for i, r in enumerate(splits["train"]) if "gale" in r["text"]]
    expect(page.locator("#viewer [data-viewer-count]")).to_contain_text(f"{len(expected)} matching rows of 60")
    assert _cells(page, 1) == expected

    page.get_by_label("Filter (SQL where)").fill("label = 1 AND score >= 10")
    page.locator("#viewer form.viewer-filter").get_by_role("button", name="Filter").click()
    matching = [str(i) for i, r in enumerate(splits["train"]) if r["label"] == 1 and r["score"] >= 10]
    expect(page.locator("#viewer [data-viewer-count]")).to_contain_text(f"{len(matching)} matching rows of 60")
    assert _cells(page, 1) == matching
    assert serious_accessibility_violations(page) == []


def test_table_without_javascript_and_private(
    server: LiveServer, ids: Identities, browse: Browse, repo_name: str
) -> None:
    repo_id = f"alice/{repo_name}"
    _push(server, ids.alice, repo_id, private=True)
    owner = browse("alice").get(f"/datasets/{repo_id}", params={"config": "default", "split": "train", "p": "1"})
    assert owner.status_code == 200
    assert '<th scope="row">25</th>' in owner.text
    assert "train row 25 " in owner.text
    for outsider in (browse(None), browse("bob")):
        answer = outsider.get(f"/datasets/{repo_id}")
        assert answer.status_code == 404
        assert "train row" not in answer.text


@pytest.mark.parametrize("where", ["label = 1; DROP TABLE x", "nope = 1"])
def test_bad_filter_is_a_message(
    server: LiveServer, ids: Identities, browse: Browse, repo_name: str, where: str
) -> None:
    repo_id = f"alice/{repo_name}"
    _push(server, ids.alice, repo_id)
    answer = browse(None).get(f"/datasets/{repo_id}", params={"where": where})
    assert answer.status_code == 200
    assert "Invalid filter" in answer.text
