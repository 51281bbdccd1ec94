"""Collections with the real client: create, read, rename, reorder and delete collections and
their items; listings with filters and Link paging; who may see and who may edit."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import BadRequestError, HfHubHTTPError, RepositoryNotFoundError

from tests.support.accounts import Identities, issue_token
from tests.support.server import LiveServer


def _title() -> str:
    return f"Picks {uuid.uuid4().hex[:8]}"


def _status(error: pytest.ExceptionInfo[HfHubHTTPError]) -> int:
    return error.value.response.status_code


def test_create_read_rename_and_delete(api: HfApi) -> None:
    title = _title()
    created = api.create_collection(title, description="Models we like")
    assert re.fullmatch(rf"alice/{title.lower().replace(' ', '-')}-[0-9a-f]{{24}}", created.slug)
    assert (created.title, created.owner, created.items, created.private) == (title, "alice", [], False)
    assert (created.upvotes, created.description, created.theme) == (0, "Models we like", "orange")
    fetched = api.get_collection(created.slug)
    assert (fetched.slug, fetched.last_updated, fetched.position) == (created.slug, created.last_updated, 0)

    with pytest.raises(HfHubHTTPError) as duplicate:
        api.create_collection(title)
    assert _status(duplicate) == 409
    assert duplicate.value.response.json()["slug"] == created.slug
    assert api.create_collection(title, exists_ok=True).slug == created.slug

    renamed = api.update_collection_metadata(
        created.slug, title="Better name", description="Now private", theme="green", private=True
    )
    trailing = created.slug.rsplit("-", 1)[1]
    assert renamed.slug == f"alice/better-name-{trailing}"
    assert (renamed.title, renamed.description, renamed.theme, renamed.private) == (
        "Better name", "Now private", "green", True
    )  # fmt: skip
    assert api.get_collection(created.slug).title == "Better name"  # the old slug still resolves
    with pytest.raises(BadRequestError):
        api.update_collection_metadata(created.slug, theme="chartreuse")

    api.delete_collection(renamed.slug)
    with pytest.raises(HfHubHTTPError) as gone:
        api.get_collection(created.slug)
    assert _status(gone) == 404
    api.delete_collection(renamed.slug, missing_ok=True)


def test_collections_reorder_among_the_owners(api: HfApi) -> None:
    slugs = [api.create_collection(_title()).slug for _ in range(3)]
    first = api.get_collection(slugs[0]).position
    api.update_collection_metadata(slugs[2], position=first)
    assert [api.get_collection(s).position for s in slugs] == [first + 1, first + 2, first]


def test_items_add_note_reorder_and_delete(api: HfApi, repo_name: str) -> None:
    repos = [f"alice/{repo_name}-{i}" for i in range(3)]
    api.create_repo(repos[0])
    api.create_repo(repos[1], repo_type="dataset")
    api.create_repo(repos[2])
    slug = api.create_collection(_title()).slug
    api.add_collection_item(slug, repos[0], "model", note="the base")
    api.add_collection_item(slug, repos[1], "dataset")
    collection = api.add_collection_item(slug, repos[2], "model")
    assert [(i.item_id, i.item_type, i.position) for i in collection.items] == [
        (repos[0], "model", 0), (repos[1], "dataset", 1), (repos[2], "model", 2)
    ]  # fmt: skip
    assert collection.items[0].note == "the base"
    assert collection.items[1].note is None

    with pytest.raises(HfHubHTTPError) as duplicate:
        api.add_collection_item(slug, repos[0], "model")
    assert _status(duplicate) == 409
    assert len(api.add_collection_item(slug, repos[0], "model", exists_ok=True).items) == 3
    with pytest.raises(RepositoryNotFoundError):
        api.add_collection_item(slug, f"alice/{repo_name}-missing", "model")
    with pytest.raises(RepositoryNotFoundError):
        api.add_collection_item(slug, repos[1], "model")  # a dataset, not a model

    last = collection.items[2].item_object_id
    api.update_collection_item(slug, last, position=0, note="moved first")
    items = api.get_collection(slug).items
    assert [(i.item_id, i.position) for i in items] == [(repos[2], 0), (repos[0], 1), (repos[1], 2)]
    assert items[0].note == "moved first"

    api.delete_collection_item(slug, items[1].item_object_id)
    items = api.get_collection(slug).items
    assert [(i.item_id, i.position) for i in items] == [(repos[2], 0), (repos[1], 1)]
    api.delete_collection_item(slug, collection.items[0].item_object_id, missing_ok=True)
    with pytest.raises(HfHubHTTPError) as missing:
        api.update_collection_item(slug, collection.items[0].item_object_id, note="gone")
    assert _status(missing) == 404


def test_items_follow_renamed_repos_and_go_with_deleted_ones(api: HfApi, repo_name: str) -> None:
    api.create_repo(f"alice/{repo_name}")
    api.create_repo(f"alice/{repo_name}-doomed")
    slug = api.create_collection(_title()).slug
    api.add_collection_item(slug, f"alice/{repo_name}", "model")
    api.add_collection_item(slug, f"alice/{repo_name}-doomed", "model")
    api.move_repo(f"alice/{repo_name}", f"alice/{repo_name}-renamed")
    api.delete_repo(f"alice/{repo_name}-doomed")
    assert [i.item_id for i in api.get_collection(slug).items] == [f"alice/{repo_name}-renamed"]


def test_a_collection_may_hold_another(api: HfApi) -> None:
    inner = api.create_collection(_title()).slug
    outer = api.create_collection(_title()).slug
    items = api.add_collection_item(outer, inner, "collection", note="see also").items
    assert [(i.item_id, i.item_type, i.note) for i in items] == [(inner, "collection", "see also")]
    api.delete_collection(inner)
    assert api.get_collection(outer).items == []


def test_private_collections_are_hidden_from_outsiders(ids: Identities) -> None:
    alice, bob, carol = HfApi(token=ids.alice), HfApi(token=ids.bob), HfApi(token=ids.carol)
    title = _title()
    slug = alice.create_collection(title, namespace="acme", private=True).slug
    assert carol.get_collection(slug).title == title  # a read member of acme
    for outsider in (bob, HfApi(token=False)):
        with pytest.raises(HfHubHTTPError) as hidden:
            outsider.get_collection(slug)
        assert _status(hidden) == 404
        assert title not in hidden.value.response.text
        assert slug not in [c.slug for c in outsider.list_collections(owner="acme")]
    assert slug in [c.slug for c in carol.list_collections(owner="acme")]
    with pytest.raises(HfHubHTTPError) as refused:
        bob.add_collection_item(slug, "acme/anything", "model")
    assert _status(refused) == 404


def test_items_pointing_to_private_repos_are_left_out(ids: Identities, repo_name: str) -> None:
    alice, bob = HfApi(token=ids.alice), HfApi(token=ids.bob)
    secret, public = f"alice/{repo_name}-secret", f"alice/{repo_name}-public"
    alice.create_repo(secret, private=True)
    alice.create_repo(public)
    slug = alice.create_collection(_title()).slug
    alice.add_collection_item(slug, secret, "model")
    alice.add_collection_item(slug, public, "model")
    assert [i.item_id for i in alice.get_collection(slug).items] == [secret, public]
    seen = httpx.get(f"{bob.endpoint}/api/collections/{slug}", headers={"Authorization": f"Bearer {ids.bob}"})
    assert seen.status_code == 200
    assert secret not in seen.text
    assert [i.item_id for i in bob.get_collection(slug).items] == [public]
    assert [c.slug for c in alice.list_collections(item=f"models/{secret}")] == [slug]
    assert list(bob.list_collections(item=f"models/{secret}")) == []
    assert [c.slug for c in bob.list_collections(item=f"models/{public}")] == [slug]
    with pytest.raises(RepositoryNotFoundError):
        bob.add_collection_item(bob.create_collection(_title()).slug, secret, "model")


def test_listing_filters_truncates_and_pages(server: LiveServer, ids: Identities, repo_name: str) -> None:
    owner = f"curator{uuid.uuid4().hex[:6]}"
    server.cli("user", "create", owner)
    api = HfApi(token=issue_token(server.data_dir, server.env, owner, "write"))
    api.create_repo(f"{owner}/{repo_name}")
    slugs = [api.create_collection(f"List {i}").slug for i in range(21)]
    for n in range(5):
        api.create_repo(f"{owner}/{repo_name}-{n}")
        api.add_collection_item(slugs[0], f"{owner}/{repo_name}-{n}", "model")

    listed = list(api.list_collections(owner=owner))
    assert sorted(c.slug for c in listed) == sorted(slugs)
    assert listed[0].slug == slugs[0]  # the most recently updated first
    assert [len(c.items) for c in listed if c.slug == slugs[0]] == [4]  # listings truncate items
    first_page = httpx.get(f"{server.url}/api/collections", params={"owner": owner})
    assert len(first_page.json()) == 20
    assert 'rel="next"' in first_page.headers["link"]
    assert len(list(api.list_collections(owner=owner, limit=5))) == 5
    assert len(list(api.list_collections(owner=owner, sort="upvotes"))) == 21
    assert [c.slug for c in api.list_collections(item=f"models/{owner}/{repo_name}-3")] == [slugs[0]]
    assert list(api.list_collections(item=f"models/{owner}/{repo_name}")) == []
    bad_sort = httpx.get(f"{server.url}/api/collections", params={"sort": "random"})
    assert bad_sort.status_code == 400


def test_who_may_create_and_edit(server: LiveServer, ids: Identities) -> None:
    def fine(scope: str) -> HfApi:
        return HfApi(token=issue_token(server.data_dir, server.env, "alice", "fineGrained", [scope]))

    slug = HfApi(token=ids.alice).create_collection(_title(), namespace="acme").slug
    for editor in (HfApi(token=ids.dave), fine("org:acme:write")):  # a write member; a covering token
        editor.create_collection(_title(), namespace="acme")
        editor.update_collection_metadata(slug, description="edited")
    refused = {
        "read member": (HfApi(token=ids.carol), 403),
        "outsider": (HfApi(token=ids.bob), 403),
        "read token": (HfApi(token=ids.alice_read), 403),
        "repo-scoped token": (fine("model:acme/x:write"), 403),
        "read-scoped token": (fine("org:acme:read"), 403),
        "anonymous": (HfApi(token=False), 401),
    }
    for name, (client, status) in refused.items():
        with pytest.raises(HfHubHTTPError) as create:
            client.create_collection(_title(), namespace="acme")
        with pytest.raises(HfHubHTTPError) as edit:
            client.update_collection_metadata(slug, description=name)
        assert (_status(create), _status(edit)) == (status, status), name
    assert HfApi(token=ids.alice).get_collection(slug).description == "edited"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"title": ""}, 400),
        ({"title": "x" * 101}, 400),
        ({"title": 5}, 400),
        ({"title": "ok", "description": "d" * 151}, 400),
        ({"title": "ok", "private": "yes"}, 400),
        ({"title": "ok", "namespace": "nobody-here"}, 404),
        ([1, 2], 400),
    ],
)
def test_bad_bodies_are_4xx(server: LiveServer, ids: Identities, body: object, status: int) -> None:
    response = httpx.post(f"{server.url}/api/collections", json=body, headers={"Authorization": f"Bearer {ids.alice}"})
    assert response.status_code == status, response.text


def _hf(token: str, *args: str) -> str:
    env = dict(os.environ, HF_TOKEN=token)
    hf = str(Path(sys.executable).with_name("hf"))
    done = subprocess.run([hf, "collections", *args, "--format", "json"], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_hf_cli_collections(ids: Identities, api: HfApi, repo_name: str) -> None:
    """`hf collections create/info/update/add-item/update-item/delete-item/ls/delete` all work."""
    api.create_repo(f"alice/{repo_name}")
    title = _title()
    slug = json.loads(_hf(ids.alice, "create", title, "--description", "from the CLI"))["slug"]
    _hf(ids.alice, "add-item", slug, f"alice/{repo_name}", "model", "--note", "first")
    info = json.loads(_hf(ids.alice, "info", slug))
    assert (info["title"], info["description"], info["items"][0]["item_id"]) == (
        title,
        "from the CLI",
        f"alice/{repo_name}",
    )
    item = info["items"][0]["item_object_id"]
    _hf(ids.alice, "update-item", slug, item, "--note", "edited")
    _hf(ids.alice, "update", slug, "--title", f"{title} v2", "--theme", "blue")
    assert api.get_collection(slug).items[0].note == "edited"
    listed = json.loads(_hf(ids.alice, "ls", "--item", f"models/alice/{repo_name}"))
    assert [(c["slug"].rsplit("-", 1)[1], c["title"]) for c in listed] == [(slug.rsplit("-", 1)[1], f"{title} v2")]
    _hf(ids.alice, "delete-item", slug, item)
    assert api.get_collection(slug).items == []
    _hf(ids.alice, "delete", slug)
    _hf(ids.alice, "delete", slug, "--missing-ok")


@pytest.mark.parametrize(
    ("body", "status"),
    [(b'{"title": ' + b"9" * 5000 + b"}", 400), (b"[" * 20_000 + b"]" * 20_000, 400), (b"{" * 70_000, 413)],
    ids=["huge-int", "deep-nesting", "over-the-limit"],
)
def test_hostile_json_is_refused_on_every_collection_route(
    server: LiveServer, api: HfApi, token: str, body: bytes, status: int
) -> None:
    collection = api.add_collection_item(api.create_collection(_title()).slug, "alice/" + _repo(api), "model")
    item = collection.items[0].item_object_id
    base = f"{server.url}/api/collections"
    routes = [
        ("POST", base),
        ("PATCH", f"{base}/{collection.slug}"),
        ("POST", f"{base}/{collection.slug}/items"),
        ("PATCH", f"{base}/{collection.slug}/items/{item}"),
    ]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    for method, url in routes:
        response = httpx.request(method, url, content=body, headers=headers, timeout=30)
        assert response.status_code == status, (method, url, response.text[:200])
    assert api.get_collection(collection.slug) == collection  # nothing written


def _repo(api: HfApi) -> str:
    name = f"r-{uuid.uuid4().hex[:10]}"
    api.create_repo(f"alice/{name}")
    return name
