"""Fine-grained tokens, token listing and revocation, the audit log, and failed-login throttling."""

from __future__ import annotations

import httpx
import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

from tests.support.accounts import Identities, create_identities, issue_token
from tests.support.backends import Backend, free_port
from tests.support.server import LiveServer, start_server


def test_fine_grained_token_is_limited_to_its_scopes(server: LiveServer, ids: Identities, repo_name: str) -> None:
    owner = HfApi(token=ids.alice)
    inside, outside, private = f"acme/{repo_name}-in", f"acme/{repo_name}-out", f"alice/{repo_name}-private"
    owner.create_repo(inside, private=True)
    owner.create_repo(outside, private=True)
    owner.create_repo(private, private=True)
    scoped = HfApi(token=issue_token(server.data_dir, server.env, "alice", "fineGrained", [f"model:{inside}:write"]))

    me = scoped.whoami()
    assert me["auth"]["accessToken"]["role"] == "fineGrained"
    assert me["auth"]["accessToken"]["fineGrained"]["scoped"] == [
        {"entity": {"type": "model", "name": inside}, "permissions": ["repo.content.read", "repo.write"]}
    ]
    scoped.upload_file(path_or_fileobj=b"ok", path_in_repo="ok.txt", repo_id=inside)
    for hidden in (outside, private):
        with pytest.raises(RepositoryNotFoundError):
            scoped.model_info(hidden)
    assert {m.id for m in scoped.list_models(search=repo_name)} == {inside}
    with pytest.raises(HfHubHTTPError) as error:
        scoped.create_repo(f"acme/{repo_name}-new")
    assert error.value.response.status_code == 403

    reader = HfApi(token=issue_token(server.data_dir, server.env, "alice", "fineGrained", ["org:acme:read"]))
    assert reader.model_info(outside).id == outside
    with pytest.raises(HfHubHTTPError) as error:
        reader.upload_file(path_or_fileobj=b"no", path_in_repo="no.txt", repo_id=inside)
    assert error.value.response.status_code == 403
    with pytest.raises(RepositoryNotFoundError):
        reader.model_info(private)  # alice's own namespace is outside this token's scopes


def test_tokens_are_listed_and_revoked(server: LiveServer) -> None:
    created = server.cli("token", "create", "bob", "--role", "read", "--name", "ci-reader")
    value = created.stdout.strip().splitlines()[-1]
    assert value.startswith("dy_")
    assert HfApi(token=value).whoami()["name"] == "bob"
    listing = server.cli("token", "list", "bob").stdout
    line = next(row for row in listing.splitlines() if "ci-reader" in row)
    assert value not in listing  # only a hint of the value is ever shown
    assert "last_used=never" not in line
    token_id = line.split("\t")[0]

    server.cli("token", "revoke", "bob", token_id)
    with pytest.raises(HfHubHTTPError) as error:
        HfApi(token=value).whoami()
    assert error.value.response.status_code == 401
    assert "revoked=never" not in next(
        r for r in server.cli("token", "list", "bob").stdout.splitlines() if "ci-reader" in r
    )


def test_audit_log_records_who_did_what(server: LiveServer, ids: Identities, repo_name: str) -> None:
    api = HfApi(token=ids.alice)
    repo_id = f"alice/{repo_name}"
    api.create_repo(repo_id)
    api.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=repo_id)
    api.update_repo_settings(repo_id, private=True)
    api.delete_repo(repo_id)

    admin_token = issue_token(server.data_dir, server.env, "alice", "write")
    forbidden = httpx.get(f"{server.url}/api/admin/audit", headers={"Authorization": f"Bearer {admin_token}"})
    assert forbidden.status_code == 403  # alice is not a hub admin
    server.cli("user", "create", f"root-{repo_name}", "--admin")
    root = issue_token(server.data_dir, server.env, f"root-{repo_name}", "write")
    events = httpx.get(
        f"{server.url}/api/admin/audit",
        params={"actor": "alice", "limit": 500},
        headers={"Authorization": f"Bearer {root}"},
    ).json()
    mine = [(e["action"], e["details"]) for e in events if e["target"].endswith(repo_id)]
    assert [action for action, _ in reversed(mine)] == [
        "repo.created", "repo.commit", "repo.visibility_changed", "repo.deleted"
    ]  # fmt: skip
    created = next(e for e in events if e["target"] == f"model:{repo_id}" and e["action"] == "repo.created")
    assert created["ip"] == "127.0.0.1"
    assert created["userAgent"].startswith("unknown/None; hf_hub/")
    cli_view = server.cli("audit", "--actor", "alice", "--limit", "200").stdout
    assert f"model:{repo_id}" in cli_view


def test_failed_token_checks_are_throttled(tmp_path, backend: Backend) -> None:  # type: ignore[no-untyped-def]
    """On its own server: the throttle blocks the client address for a while."""
    server = start_server(tmp_path / "data", free_port(), backend=backend)
    try:
        good = create_identities(server.data_dir, server.env).alice
        statuses = [
            httpx.get(f"{server.url}/api/whoami-v2", headers={"Authorization": f"Bearer dy_wrong{i}"}).status_code
            for i in range(35)
        ]
        assert statuses[:30] == [401] * 30
        assert set(statuses[30:]) == {429}
        blocked = httpx.get(f"{server.url}/api/whoami-v2", headers={"Authorization": f"Bearer {good}"})
        assert blocked.status_code == 429
        assert int(blocked.headers["retry-after"]) > 0
        assert httpx.get(f"{server.url}/api/models").status_code == 200  # anonymous reads are not blocked
    finally:
        server.stop()
