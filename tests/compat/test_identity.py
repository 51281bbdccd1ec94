"""Identity: logging in with a token, whoami, and what read and unknown tokens may do."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError

from tests.support.accounts import Identities
from tests.support.server import LiveServer


def test_whoami_reports_user_orgs_and_token_role(ids: Identities) -> None:
    me = HfApi(token=ids.alice).whoami()

    assert me["name"] == "alice"
    assert me["fullname"] == "Alice Liddell"
    assert me["auth"]["accessToken"]["role"] == "write"
    # (other tests on the shared server may make alice admin of more orgs)
    assert ("acme", "Acme Research", "admin") in [
        (org["name"], org["fullname"], org["roleInOrg"]) for org in me["orgs"]
    ]


def test_read_token_is_reported_as_read(ids: Identities) -> None:
    assert HfApi(token=ids.alice_read).whoami()["auth"]["accessToken"]["role"] == "read"


def test_unknown_token_is_rejected_with_401(server: LiveServer) -> None:
    with pytest.raises(HfHubHTTPError) as error:
        HfApi(token="dy_this_token_does_not_exist_anywhere").whoami()
    assert error.value.response.status_code == 401


def test_read_token_cannot_create_or_write(ids: Identities, repo_name: str) -> None:
    reader = HfApi(token=ids.alice_read)
    with pytest.raises(HfHubHTTPError) as error:
        reader.create_repo(f"alice/{repo_name}")
    assert error.value.response.status_code == 403

    HfApi(token=ids.alice).create_repo(f"alice/{repo_name}")
    with pytest.raises(HfHubHTTPError) as error:
        reader.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=f"alice/{repo_name}")
    assert error.value.response.status_code == 403


def test_hf_cli_login_with_token(ids: Identities, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`hf auth login --token` stores the token, and `hf auth whoami` then answers as alice."""
    env = dict(os.environ, HF_HOME=str(tmp_path))
    env.pop("HF_TOKEN", None)
    hf = [str(Path(sys.executable).with_name("hf"))]
    login = subprocess.run([*hf, "auth", "login", "--token", ids.alice], env=env, capture_output=True, text=True)
    assert login.returncode == 0, login.stdout + login.stderr
    whoami = subprocess.run([*hf, "auth", "whoami"], env=env, capture_output=True, text=True)
    assert whoami.returncode == 0, whoami.stdout + whoami.stderr
    assert "alice" in whoami.stdout


def test_health_and_readiness(server: LiveServer) -> None:
    import httpx

    assert httpx.get(f"{server.url}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{server.url}/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "database": "ok", "storage": "ok"}


def test_db_check_command(server: LiveServer) -> None:
    assert "models and migrations agree" in server.cli("db", "check").stdout
