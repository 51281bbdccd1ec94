"""Repository lifecycle for models, datasets and spaces, in user and organisation namespaces."""

from __future__ import annotations

import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

from tests.support.accounts import Identities
from tests.support.server import LiveServer

REPO_TYPES = ["model", "dataset", "space"]


@pytest.mark.parametrize("repo_type", REPO_TYPES)
def test_create_exist_ok_info_and_delete(api: HfApi, repo_name: str, repo_type: str) -> None:
    repo_id = f"alice/{repo_name}"
    kwargs = {"space_sdk": "static"} if repo_type == "space" else {}
    url = api.create_repo(repo_id, repo_type=repo_type, **kwargs)
    assert url.repo_id == repo_id
    assert url.repo_type == repo_type

    with pytest.raises(HfHubHTTPError) as error:
        api.create_repo(repo_id, repo_type=repo_type, **kwargs)
    assert error.value.response.status_code == 409
    assert api.create_repo(repo_id, repo_type=repo_type, exist_ok=True, **kwargs).repo_id == repo_id

    info = api.repo_info(repo_id, repo_type=repo_type)
    assert info.id == repo_id
    assert next(s.rfilename for s in info.siblings) == ".gitattributes"
    assert api.list_repo_commits(repo_id, repo_type=repo_type)[-1].title == "initial commit"

    api.delete_repo(repo_id, repo_type=repo_type)
    assert not api.repo_exists(repo_id, repo_type=repo_type)
    api.delete_repo(repo_id, repo_type=repo_type, missing_ok=True)
    with pytest.raises(RepositoryNotFoundError):
        api.delete_repo(repo_id, repo_type=repo_type)


def test_default_gitattributes_route_weights_to_lfs(api: HfApi, repo_name: str) -> None:
    repo_id = f"alice/{repo_name}"
    api.create_repo(repo_id)
    with open(api.hf_hub_download(repo_id, ".gitattributes"), encoding="utf-8") as handle:
        text = handle.read()
    assert "*.safetensors filter=lfs diff=lfs merge=lfs -text" in text
    assert "*.bin filter=lfs diff=lfs merge=lfs -text" in text

    api.create_repo(repo_id, repo_type="dataset")
    dataset_rules = api.hf_hub_download(repo_id, ".gitattributes", repo_type="dataset")
    with open(dataset_rules, encoding="utf-8") as handle:
        assert "*.parquet filter=lfs" in handle.read()


def test_create_in_org_requires_write_role(ids: Identities, repo_name: str) -> None:
    dave = HfApi(token=ids.dave)  # write member of acme
    carol = HfApi(token=ids.carol)  # read member of acme
    assert dave.create_repo(f"acme/{repo_name}").repo_id == f"acme/{repo_name}"
    with pytest.raises(HfHubHTTPError) as error:
        carol.create_repo(f"acme/{repo_name}-carol")
    assert error.value.response.status_code == 403
    with pytest.raises(HfHubHTTPError) as error:
        HfApi(token=ids.bob).create_repo(f"alice/{repo_name}-bob")
    assert error.value.response.status_code == 403


def test_private_repo_is_invisible_to_outsiders(ids: Identities, repo_name: str) -> None:
    alice, bob, carol = HfApi(token=ids.alice), HfApi(token=ids.bob), HfApi(token=ids.carol)
    anonymous = HfApi(token=False)
    repo_id = f"acme/{repo_name}"
    alice.create_repo(repo_id, private=True)
    alice.upload_file(path_or_fileobj=b"secret", path_in_repo="secret.txt", repo_id=repo_id)

    assert alice.model_info(repo_id).private is True
    assert carol.model_info(repo_id).id == repo_id  # org members read private org repos
    for outsider in (bob, anonymous):
        with pytest.raises(RepositoryNotFoundError):
            outsider.model_info(repo_id)
        with pytest.raises(RepositoryNotFoundError):
            outsider.hf_hub_download(repo_id, "secret.txt")
        with pytest.raises(RepositoryNotFoundError):
            outsider.list_repo_files(repo_id)
        assert repo_id not in [m.id for m in outsider.list_models(author="acme")]
    assert repo_id in [m.id for m in alice.list_models(author="acme")]


def test_visibility_can_be_changed(api: HfApi, ids: Identities, repo_name: str) -> None:
    repo_id = f"alice/{repo_name}"
    api.create_repo(repo_id)
    api.update_repo_settings(repo_id, private=True)
    with pytest.raises(RepositoryNotFoundError):
        HfApi(token=ids.bob).model_info(repo_id)
    api.update_repo_settings(repo_id, private=False)
    assert HfApi(token=ids.bob).model_info(repo_id).private is False


def test_move_keeps_old_name_resolving(api: HfApi, repo_name: str) -> None:
    old, new = f"alice/{repo_name}", f"acme/{repo_name}-moved"
    api.create_repo(old)
    api.upload_file(path_or_fileobj=b"hello", path_in_repo="hello.txt", repo_id=old)

    api.move_repo(old, new)

    assert api.model_info(new).id == new
    assert api.model_info(old).id == new
    with open(api.hf_hub_download(old, "hello.txt"), "rb") as handle:
        assert handle.read() == b"hello"
    api.create_repo(old)  # the old name can be taken again
    assert api.model_info(old).id == old


def test_only_admins_delete_or_move(ids: Identities, repo_name: str) -> None:
    repo_id = f"acme/{repo_name}"
    HfApi(token=ids.alice).create_repo(repo_id)
    with pytest.raises(HfHubHTTPError) as error:
        HfApi(token=ids.dave).delete_repo(repo_id)  # write, not admin
    assert error.value.response.status_code == 403
    with pytest.raises(HfHubHTTPError) as error:
        HfApi(token=ids.bob).move_repo(repo_id, f"bob/{repo_name}")  # public, but not his
    assert error.value.response.status_code == 403


def test_single_segment_canonical_name(api: HfApi, server: LiveServer, repo_name: str) -> None:
    """`gpt2`-style ids, which the seeds use, resolve to the repo an admin published them as."""
    repo_id = f"acme/{repo_name}"
    api.create_repo(repo_id)
    api.upload_file(path_or_fileobj=b'{"model_type": "gpt2"}', path_in_repo="config.json", repo_id=repo_id)
    result = server.cli("repo", "alias", repo_name, repo_id)
    assert repo_name in result.stdout

    assert api.model_info(repo_name).id == repo_id
    with open(api.hf_hub_download(repo_name, "config.json"), "rb") as handle:
        assert handle.read() == b'{"model_type": "gpt2"}'


def test_duplicate_repo_copies_history(api: HfApi, repo_name: str) -> None:
    source = f"alice/{repo_name}"
    api.create_repo(source)
    api.upload_file(path_or_fileobj=b"data", path_in_repo="a.txt", repo_id=source)
    copy = api.duplicate_repo(source, f"alice/{repo_name}-copy")
    assert copy.repo_id == f"alice/{repo_name}-copy"
    assert api.list_repo_files(copy.repo_id) == [".gitattributes", "a.txt"]
    assert api.model_info(copy.repo_id).sha == api.model_info(source).sha
