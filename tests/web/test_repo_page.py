"""The repo page: the card rendered and its metadata as data, the sidebar, "Use this model", likes
and the gated request form, in a real browser where it is interaction and over httpx otherwise."""

from __future__ import annotations

import json
import math
import re
import struct
from typing import Any

import httpx
import pytest
from huggingface_hub import HfApi
from playwright.sync_api import expect

from tests.support.accounts import Identities
from tests.support.browser import XSS_PAYLOADS, ScriptWatch, screenshots, serious_accessibility_violations
from tests.support.server import LiveServer
from tests.support.waiting import wait_until
from tests.web.conftest import Browse, log_in

CARD = """---
license: mit
language:
- en
- fr
pipeline_tag: text-classification
library_name: transformers
tags:
- demo-tag
datasets:
- alice/some-data
base_model: alice/the-base
model-index:
- name: nested
  results: []
---
# The demo model

Energy is $E = mc^2$.

```python
def greet(name):
    return f"hello {name}"
```

![a diagram](images/diagram.png)

See [the notes](docs/notes.md).
"""


def _model(
    server: LiveServer, token: str, repo_id: str, card: str, *, gated: str | None = None, repo_type: str = "model"
) -> None:
    api = HfApi(endpoint=server.url, token=token)
    api.create_repo(repo_id, repo_type=repo_type)
    api.upload_file(path_or_fileobj=card.encode(), path_in_repo="README.md", repo_id=repo_id, repo_type=repo_type)
    if gated:
        api.update_repo_settings(repo_id, gated=gated, repo_type=repo_type)


@pytest.fixture
def demo(server: LiveServer, ids: Identities, repo_name: str) -> str:
    repo_id = f"alice/{repo_name}"
    _model(server, ids.alice, repo_id, CARD)
    return repo_id


def test_the_card_is_rendered_with_its_metadata_as_data_and_chips(browse: Browse, demo: str) -> None:
    html = browse(None).get(f"/{demo}").text
    body = html[html.index('class="markdown card-markdown"') :]
    assert "<math" in body  # TeX became MathML on the server
    assert 'class="highlight"' in body
    assert "greet" in body
    assert f'src="/{demo}/resolve/main/images/diagram.png"' in body
    assert f'href="/{demo}/blob/main/docs/notes.md"' in body
    assert "pipeline_tag" not in body.split("</article>")[0]  # the front matter is not in the body
    assert "<code>model-index</code>" in html
    assert "<code>license</code>" in html
    for chip in (
        "/models?pipeline_tag=text-classification",
        "/models?library=transformers",
        "/models?language=fr",
        "/models?license=mit",
        "/models?other=demo-tag",
        "/datasets/alice/some-data",
    ):
        assert f'href="{chip}"' in html, chip
    assert 'href="/alice/the-base"' in html  # base model in the sidebar


def test_use_this_model_snippets_are_filled_for_the_repo(browse: Browse, server: LiveServer, demo: str) -> None:
    html = browse(None).get(f"/{demo}").text
    assert f"pipeline(&#34;text-classification&#34;, model=&#34;{demo}&#34;)" in html
    assert f"AutoModelForSequenceClassification.from_pretrained(&#34;{demo}&#34;)" in html
    assert f"hf download {demo}" in html
    assert f"git clone {server.url}/{demo}" in html
    assert f'data-copy="HF_ENDPOINT={server.url} hf download {demo}"' in html  # a copy button per snippet
    assert f"/collections/add?item=model%2F{demo.replace('/', '%2F')}" in html


def test_a_person_likes_and_unlikes_a_model_in_the_browser(page: Any, demo: str) -> None:
    log_in(page, "bob")
    page.goto(f"/{demo}")
    button = page.locator(".like-button")
    expect(button.locator(".like-count")).to_have_text("0")
    button.click()
    expect(button.locator(".like-count")).to_have_text("1")
    expect(button).to_have_attribute("aria-pressed", "true")
    page.reload()
    expect(page.locator(".like-button .like-count")).to_have_text("1")  # it was stored
    page.locator(".like-button").click()
    expect(page.locator(".like-button .like-count")).to_have_text("0")
    page.reload()
    expect(page.locator(".like-button .like-count")).to_have_text("0")


def test_the_like_form_works_without_javascript(browse: Browse, demo: str) -> None:
    client = browse("carol")
    token = re.search(r'name="_csrf" value="([^"]+)"', client.get(f"/{demo}").text)
    assert token is not None
    liked = client.post(f"/{demo}/like", data={"_csrf": token.group(1), "action": "like"})
    assert liked.status_code == 303
    assert liked.headers["location"] == f"/{demo}"
    assert 'aria-pressed="true"' in client.get(f"/{demo}").text
    client.post(f"/{demo}/like", data={"_csrf": token.group(1), "action": "unlike"})
    assert 'aria-pressed="false"' in client.get(f"/{demo}").text
    assert client.post(f"/{demo}/like", data={"_csrf": "forged", "action": "like"}).status_code == 403


def test_anonymous_visitors_are_sent_to_log_in_to_like(browse: Browse, demo: str) -> None:
    html = browse(None).get(f"/{demo}").text
    assert f'href="/login?next=/{demo}"' in html.replace("%2F", "/")


GATED_CARD = """---
license: other
extra_gated_prompt: Tell us who you are.
extra_gated_fields:
  Company: text
  Country: country
  I agree to the licence: checkbox
---
# Gated model

The card is public.
"""


def test_gated_access_is_requested_in_the_browser_and_granted_by_the_owner(
    page: Any, server: LiveServer, ids: Identities, repo_name: str
) -> None:
    repo_id = f"alice/{repo_name}"
    _model(server, ids.alice, repo_id, GATED_CARD, gated="manual")
    log_in(page, "dave")
    page.goto(f"/{repo_id}")
    expect(page.get_by_text("The card is public.")).to_be_visible()
    expect(page.locator("#access").get_by_text("Tell us who you are.")).to_be_visible()
    page.get_by_label("Company").fill("Dave's Garage")
    page.get_by_label("Country").fill("Iceland")
    page.get_by_label("I agree to the licence").check()
    page.get_by_role("button", name="Agree and access repository").click()
    expect(page.locator(".gate-state")).to_contain_text("pending")
    pending = httpx.get(
        f"{server.url}/api/models/{repo_id}/user-access-request/pending",
        headers={"Authorization": f"Bearer {ids.alice}"},
    ).json()
    assert [(r["user"]["user"], r["fields"]["Company"], r["fields"]["I agree to the licence"]) for r in pending] == [
        ("dave", "Dave's Garage", True)
    ]
    accepted = httpx.post(
        f"{server.url}/api/models/{repo_id}/user-access-request/handle",
        headers={"Authorization": f"Bearer {ids.alice}"},
        json={"user": "dave", "status": "accepted"},
    )
    assert accepted.status_code == 200, accepted.text
    page.reload()
    expect(page.locator(".gate-state")).to_contain_text("access granted")


def test_a_gated_form_missing_an_answer_is_refused_with_a_message(
    browse: Browse, server: LiveServer, ids: Identities, repo_name: str
) -> None:
    repo_id = f"alice/{repo_name}"
    _model(server, ids.alice, repo_id, GATED_CARD, gated="manual")
    client = browse("bob")
    token = re.search(r'name="_csrf" value="([^"]+)"', client.get(f"/{repo_id}").text)
    assert token is not None
    refused = client.post(f"/{repo_id}/ask-access", data={"_csrf": token.group(1), "field:Company": "Bob Inc"})
    assert refused.status_code == 400
    assert "Please fill in: Country, I agree to the licence" in refused.text


def test_anonymous_visitors_of_a_gated_repo_are_asked_to_log_in(browse: Browse, web_repos: Any) -> None:
    html = browse(None).get(f"/{web_repos.gated}").text
    assert "Hello." in html  # the card is public, as on the Hub
    assert "to request access to this repository" in html
    assert "ask-access" not in html


def test_models_fine_tuned_from_this_one_are_listed_when_visible(
    browse: Browse, server: LiveServer, ids: Identities, demo: str, repo_name: str
) -> None:
    card = f"---\nbase_model: {demo}\n---\nA fine-tune.\n"
    _model(server, ids.alice, f"alice/{repo_name}-ft", card)
    api = HfApi(endpoint=server.url, token=ids.alice)
    api.create_repo(f"alice/{repo_name}-secret", private=True)
    api.upload_file(path_or_fileobj=card.encode(), path_in_repo="README.md", repo_id=f"alice/{repo_name}-secret")
    for viewer, expected in (("alice", 2), ("bob", 1), (None, 1)):
        html = browse(viewer).get(f"/{demo}").text
        assert f"Fine-tuned from this model ({expected})" in html, viewer
        assert f'href="/alice/{repo_name}-ft"' in html
        assert (f"{repo_name}-secret" in html) is (viewer == "alice")


def test_downloads_last_month_are_counted_and_charted(
    browse: Browse, server: LiveServer, ids: Identities, demo: str
) -> None:
    HfApi(endpoint=server.url, token=ids.alice).upload_file(
        path_or_fileobj=b"{}", path_in_repo="config.json", repo_id=demo
    )
    for _ in range(3):
        assert httpx.get(f"{server.url}/{demo}/resolve/main/config.json").status_code == 200
    client = browse(None)
    assert wait_until(lambda: 'class="side-figure">3</p>' in client.get(f"/{demo}").text)
    html = client.get(f"/{demo}").text
    assert html.count('class="chart-bar"') == 1
    assert ": 3</title>" in html


@pytest.mark.parametrize(
    ("repo_type", "prefix", "snippet"),
    [
        ("dataset", "/datasets", "load_dataset"),
        ("space", "/spaces", "git clone"),
        ("kernel", "/kernels", "--repo-type kernel"),
    ],
)
def test_dataset_space_and_kernel_pages_render(
    browse: Browse, server: LiveServer, ids: Identities, repo_name: str, repo_type: str, prefix: str, snippet: str
) -> None:
    created = httpx.post(
        f"{server.url}/api/repos/create",
        headers={"Authorization": f"Bearer {ids.alice}"},
        json={"name": repo_name, "type": repo_type, **({"sdk": "static"} if repo_type == "space" else {})},
    )
    assert created.status_code == 200, created.text
    response = browse(None).get(f"{prefix}/alice/{repo_name}")
    assert response.status_code == 200
    assert f"alice/{repo_name}" in response.text
    assert snippet in response.text
    assert browse(None).get(f"/alice/{repo_name}").status_code == 404  # no model of that name


def test_model_dataset_and_gated_pages_are_accessible_and_pictured(
    page: Any, server: LiveServer, ids: Identities, demo: str, repo_name: str, web_repos: Any
) -> None:
    dataset = f"alice/{repo_name}-data"
    _model(
        server,
        ids.alice,
        dataset,
        "---\nlicense: cc-by-4.0\ntask_categories:\n- text-classification\n---\n# Data\n",
        repo_type="dataset",
    )
    log_in(page, "bob")
    for name, url in (
        ("repo-model", f"/{demo}"),
        ("repo-dataset", f"/datasets/{dataset}"),
        ("repo-gated", f"/{web_repos.gated}"),
    ):
        page.goto(url)
        assert serious_accessibility_violations(page) == [], name
        assert all(path.stat().st_size > 0 for path in screenshots(page, name))


def test_xss_in_the_readme_and_its_front_matter_is_inert(
    page: Any, server: LiveServer, ids: Identities, repo_name: str
) -> None:
    repo_id = f"alice/{repo_name}"
    quoted = "\n".join(f"- {json.dumps(payload)}" for payload in XSS_PAYLOADS)
    title, nested = json.dumps(XSS_PAYLOADS[1]), json.dumps(XSS_PAYLOADS[2])
    card = f"---\ntags:\n{quoted}\ntitle: {title}\nnested:\n  key: {nested}\n---\n"
    card += "\n\n".join(XSS_PAYLOADS) + "\n"
    _model(server, ids.alice, repo_id, card)
    watch = ScriptWatch(page)
    log_in(page, "bob")
    page.goto(f"/{repo_id}")
    page.locator("details.front-matter summary").click()
    assert 'href="javascript:' not in page.locator(".card-markdown").inner_html()
    expect(page.locator(".front-matter")).to_contain_text("onerror")  # shown as text, not markup
    assert not watch.ran()


def _safetensors(tensors: dict[str, tuple[str, list[int]]]) -> bytes:
    sizes = {"F32": 4, "BF16": 2, "I64": 8}
    header: dict[str, Any] = {}
    offset = 0
    for name, (dtype, shape) in tensors.items():
        length = sizes[dtype] * math.prod(shape)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + length]}
        offset += length
    encoded = json.dumps(header).encode()
    return struct.pack("<Q", len(encoded)) + encoded + b"\0" * offset


def test_parameters_by_dtype_come_from_the_safetensors_headers(
    browse: Browse, server: LiveServer, ids: Identities, demo: str
) -> None:
    weights = _safetensors({"a": ("F32", [1000, 1500]), "b": ("BF16", [2000]), "c": ("F32", [10])})
    HfApi(endpoint=server.url, token=ids.alice).upload_file(
        path_or_fileobj=weights, path_in_repo="model.safetensors", repo_id=demo
    )
    html = browse(None).get(f"/{demo}").text
    section = html[html.index('id="params-heading"') :]
    assert "1.5M params" in section  # 1,500,000 + 2,000 + 10
    assert "<td><code>F32</code></td><td>1.5M</td>" in section
    assert "<td><code>BF16</code></td><td>2k</td>" in section


def test_the_security_scan_badge_names_a_dangerous_pickle(
    browse: Browse, server: LiveServer, ids: Identities, demo: str
) -> None:
    client = browse(None)
    assert "no issue found" in client.get(f"/{demo}").text
    evil = b"\x80\x02cos\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85q\x02Rq\x03."
    HfApi(endpoint=server.url, token=ids.alice).upload_file(path_or_fileobj=evil, path_in_repo="evil.pkl", repo_id=demo)
    assert wait_until(lambda: "1 file with issues" in client.get(f"/{demo}").text, timeout=30)
    section = client.get(f"/{demo}").text.split('id="security-heading"')[1]
    assert "<code>evil.pkl</code>" in section
    assert "unsafe" in section


def test_card_names_that_are_no_repo_ids_are_not_links(
    browse: Browse, server: LiveServer, ids: Identities, repo_name: str
) -> None:
    repo_id = f"alice/{repo_name}"
    _model(server, ids.alice, repo_id, "---\nbase_model: /evil.example\ndatasets:\n- /evil.example/x\n---\nHi.\n")
    html = browse(None).get(f"/{repo_id}").text
    sidebar = html[html.index("<aside") : html.index("</aside>")]
    assert "evil.example" in sidebar  # shown as text...
    assert 'href="//evil.example' not in html  # ...never as an off-site link
