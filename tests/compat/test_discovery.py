"""Info and discovery: *_info fields from cards, configs and safetensors; searching and listing."""

from __future__ import annotations

import io
import json
import struct
import uuid

import httpx
import pytest
from huggingface_hub import CommitOperationAdd, HfApi, ModelCard, ModelCardData
from huggingface_hub.errors import HfHubHTTPError

from tests.support.server import LiveServer


def _safetensors(tensors: dict[str, tuple[str, list[int]]]) -> bytes:
    sizes = {"F32": 4, "F16": 2, "I64": 8}
    header, offset = {}, 0
    for name, (dtype, shape) in tensors.items():
        length = sizes[dtype]
        for dim in shape:
            length *= dim
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + length]}
        offset += length
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + b"\x00" * offset


CARD = ModelCard.from_template(
    ModelCardData(
        license="apache-2.0",
        language=["en", "fr"],
        tags=["demo", "tiny"],
        datasets=["acme/reviews"],
        pipeline_tag="text-classification",
        library_name="transformers",
    ),
    model_description="A tiny test model.",
)


@pytest.fixture(scope="module")
def catalogue(ids) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """A few public models with different metadata, made once for the module."""
    api = HfApi(token=ids.alice)
    stamp = uuid.uuid4().hex[:6]
    names = {
        "classifier": f"acme/clf-{stamp}",
        "generator": f"alice/gen-{stamp}",
        "plain": f"alice/plain-{stamp}",
    }
    api.create_repo(names["classifier"])
    from huggingface_hub import constants

    previous = constants.HF_HUB_DISABLE_XET
    constants.HF_HUB_DISABLE_XET = True
    try:
        api.create_commit(
            names["classifier"],
            operations=[
                CommitOperationAdd("README.md", str(CARD).encode()),
                CommitOperationAdd(
                    "config.json",
                    json.dumps({"architectures": ["BertForSequenceClassification"], "model_type": "bert"}).encode(),
                ),
                CommitOperationAdd(
                    "model.safetensors", io.BytesIO(_safetensors({"w": ("F32", [10, 10]), "b": ("F16", [7])}))
                ),
            ],
            commit_message="classifier",
        )
    finally:
        constants.HF_HUB_DISABLE_XET = previous
    api.create_repo(names["generator"])
    api.upload_file(
        path_or_fileobj=json.dumps({"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2"}).encode(),
        path_in_repo="config.json",
        repo_id=names["generator"],
    )
    api.create_repo(names["plain"])
    return names


def test_model_info_reads_card_config_and_safetensors(api: HfApi, catalogue: dict[str, str]) -> None:
    info = api.model_info(catalogue["classifier"])
    assert info.pipeline_tag == "text-classification"
    assert info.library_name == "transformers"
    assert info.card_data is not None
    assert info.card_data.license == "apache-2.0"
    assert info.card_data.language == ["en", "fr"]
    for tag in ("demo", "tiny", "license:apache-2.0", "en", "dataset:acme/reviews", "bert", "safetensors"):
        assert tag in info.tags
    assert info.safetensors is not None
    assert info.safetensors.parameters == {"F32": 100, "F16": 7}
    assert info.safetensors.total == 107
    assert info.config == {"architectures": ["BertForSequenceClassification"], "model_type": "bert"}

    generated = api.model_info(catalogue["generator"])
    assert generated.pipeline_tag == "text-generation"  # inferred from the architecture


def test_model_info_with_files_metadata(api: HfApi, catalogue: dict[str, str]) -> None:
    info = api.model_info(catalogue["classifier"], files_metadata=True)
    siblings = {s.rfilename: s for s in info.siblings}
    assert siblings["model.safetensors"].lfs is not None
    assert siblings["model.safetensors"].size == siblings["model.safetensors"].lfs.size
    assert siblings["config.json"].blob_id is not None


def test_list_models_search_author_filter_and_pipeline(api: HfApi, catalogue: dict[str, str]) -> None:
    stamp = catalogue["classifier"].rsplit("-", 1)[1]
    assert {m.id for m in api.list_models(search=stamp)} == set(catalogue.values())
    assert {m.id for m in api.list_models(search=stamp, author="acme")} == {catalogue["classifier"]}
    assert [m.id for m in api.list_models(search=stamp, filter="license:apache-2.0")] == [catalogue["classifier"]]
    assert [m.id for m in api.list_models(search=stamp, filter=["en", "demo"])] == [catalogue["classifier"]]
    assert [m.id for m in api.list_models(search=stamp, filter="dataset:acme/reviews")] == [catalogue["classifier"]]
    assert [m.id for m in api.list_models(search=stamp, trained_dataset="acme/reviews")] == [catalogue["classifier"]]
    assert [m.id for m in api.list_models(search=stamp, pipeline_tag="text-generation")] == [catalogue["generator"]]
    assert [m.id for m in api.list_models(search=stamp, filter="transformers", pipeline_tag="text-classification")] == [
        catalogue["classifier"]
    ]


def test_list_models_sort_limit_expand_and_card_data(api: HfApi, catalogue: dict[str, str]) -> None:
    stamp = catalogue["classifier"].rsplit("-", 1)[1]
    newest_first = [m.id for m in api.list_models(search=stamp, sort="createdAt")]
    assert newest_first == [catalogue["plain"], catalogue["generator"], catalogue["classifier"]]
    assert [m.id for m in api.list_models(search=stamp, sort="lastModified", limit=1)] == [catalogue["plain"]]
    expanded = next(iter(api.list_models(search=catalogue["classifier"], expand=["safetensors", "cardData", "sha"])))
    assert expanded.safetensors is not None
    assert expanded.safetensors.total == 107
    assert expanded.card_data is not None
    assert expanded.card_data.license == "apache-2.0"
    full = next(iter(api.list_models(search=catalogue["classifier"], full=True, cardData=True)))
    assert {s.rfilename for s in full.siblings} == {
        ".gitattributes",
        "README.md",
        "config.json",
        "model.safetensors",
    }


def test_listing_is_paginated_with_link_headers(api: HfApi, server: LiveServer, repo_name: str) -> None:
    for index in range(105):
        api.create_repo(f"alice/{repo_name}-{index:03d}", repo_type="space", space_sdk="static")
    found = [s.id for s in api.list_spaces(search=repo_name)]
    assert len(found) == 105
    assert len(set(found)) == 105
    first_page = httpx.get(f"{server.url}/api/spaces", params={"search": repo_name})
    assert 'rel="next"' in first_page.headers["link"]
    assert first_page.headers["link"].startswith(f"<{server.url}/api/spaces?")


def test_list_datasets_by_task_and_language(api: HfApi, repo_name: str) -> None:
    repo_id = f"alice/{repo_name}"
    api.create_repo(repo_id, repo_type="dataset")
    card = "---\nlicense: mit\nlanguage:\n- de\ntask_categories:\n- text-classification\n---\n# Reviews\n"
    api.upload_file(path_or_fileobj=card.encode(), path_in_repo="README.md", repo_id=repo_id, repo_type="dataset")
    api.upload_file(
        path_or_fileobj=b"text,label\nok,1\n", path_in_repo="train.csv", repo_id=repo_id, repo_type="dataset"
    )
    found = list(api.list_datasets(search=repo_name, task_categories="text-classification", language="de"))
    assert [d.id for d in found] == [repo_id]
    assert "format:csv" in found[0].tags
    assert list(api.list_datasets(search=repo_name, language="fr")) == []
    info = api.dataset_info(repo_id)
    assert info.card_data is not None
    assert info.card_data.license == "mit"


def test_invalid_sort_and_expand_are_rejected(api: HfApi) -> None:
    with pytest.raises(HfHubHTTPError) as error:
        list(api.list_models(sort="alphabetical"))
    assert error.value.response.status_code == 400
    with pytest.raises(HfHubHTTPError) as error:
        list(api.list_models(expand=["notAField"]))  # type: ignore[list-item]
    assert error.value.response.status_code == 400


def test_validate_yaml(server: LiveServer) -> None:
    good = httpx.post(
        f"{server.url}/api/validate-yaml", json={"content": "---\nlicense: mit\n---\n", "repoType": "model"}
    )
    assert good.status_code == 200
    assert good.json() == {"errors": [], "warnings": []}
    bad = httpx.post(
        f"{server.url}/api/validate-yaml", json={"content": "---\nlicense: [mit\n---\n", "repoType": "model"}
    )
    assert bad.status_code == 400
    assert "Invalid YAML" in bad.json()["errors"][0]["message"]


def test_likes(ids, repo_name: str, server: LiveServer) -> None:  # type: ignore[no-untyped-def]
    alice, bob = HfApi(token=ids.alice), HfApi(token=ids.bob)
    repo_id = f"alice/{repo_name}"
    alice.create_repo(repo_id)
    for token in (ids.bob, ids.carol, ids.bob):  # liking twice counts once
        assert (
            httpx.post(
                f"{server.url}/api/models/{repo_id}/like", headers={"Authorization": f"Bearer {token}"}
            ).status_code
            == 200
        )
    assert alice.model_info(repo_id).likes == 2
    assert {u.username for u in alice.list_repo_likers(repo_id)} == {"bob", "carol"}
    assert repo_id in bob.list_liked_repos("bob").models
    bob.unlike(repo_id)
    assert alice.model_info(repo_id).likes == 1
    assert repo_id not in bob.list_liked_repos("bob").models
