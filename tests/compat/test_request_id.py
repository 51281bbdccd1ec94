"""Every answer carries ``X-Request-Id``, and the client shows it in its errors.

1. successes, API errors (404, 401, 400), routing 404s, the body limit's 413 and git smart HTTP
   all carry it;
2. a sane id from the caller is echoed (``X-Request-Id``, else the ``X-Amzn-Trace-Id``
   huggingface_hub sends), anything else is replaced by a fresh one;
3. huggingface_hub appends it to the errors it raises, and the ``hf`` CLI prints it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

from tests.support.accounts import Identities
from tests.support.server import LiveServer

HEADER = "x-request-id"
GENERATED = re.compile(r"^[0-9a-f]{32}$")
HF = str(Path(sys.executable).with_name("hf"))


def _id(response: httpx.Response) -> str:
    value = response.headers.get(HEADER)
    assert value, f"{response.request.method} {response.request.url} answered {response.status_code} without an id"
    return value


@pytest.fixture
def public_repo(api: HfApi, repo_name: str) -> str:
    repo_id = f"alice/{repo_name}"
    api.create_repo(repo_id)
    api.upload_file(path_or_fileobj=b"hello\n", path_in_repo="a.txt", repo_id=repo_id)
    return repo_id


# -- 1. every answer ------------------------------------------------------------------------------
def test_successes_and_errors_of_every_surface_carry_an_id(
    server: LiveServer, ids: Identities, public_repo: str
) -> None:
    url = server.url
    answers = [
        httpx.get(f"{url}/api/models/{public_repo}"),
        httpx.head(f"{url}/{public_repo}/resolve/main/a.txt"),
        httpx.get(f"{url}/api/models/alice/does-not-exist"),  # 404 RepoNotFound
        httpx.get(f"{url}/api/whoami-v2"),  # 401
        httpx.get(f"{url}/no/such/route/at/all"),  # routing 404
        httpx.post(f"{url}/api/repos/create", content=b"{not json", headers={"Content-Type": "application/json"}),
        httpx.get(f"{url}/{public_repo}.git/info/refs", params={"service": "git-upload-pack"}),
        httpx.get(f"{url}/alice/does-not-exist.git/info/refs", params={"service": "git-upload-pack"}),
        httpx.get(
            f"{url}/alice/does-not-exist.git/info/refs",
            params={"service": "git-upload-pack"},
            auth=("hf_user", ids.bob),
        ),
    ]
    statuses = [a.status_code for a in answers]
    assert statuses == [200, 200, 404, 401, 404, 400, 200, 401, 404]
    generated = [_id(a) for a in answers]
    assert all(GENERATED.match(value) for value in generated)
    assert len(set(generated)) == len(generated)  # one per request


def test_the_body_limit_413_carries_an_id(server: LiveServer, ids: Identities) -> None:
    """Refused by the body-limit middleware while the body streams in, declared or not."""
    too_big = b"x" * (16 * 1024 * 1024 + 1)
    declared = httpx.post(
        f"{server.url}/api/repos/create",
        content=too_big,
        headers={"Authorization": f"Bearer {ids.alice}", "Content-Type": "application/json"},
    )

    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(17):
            yield b"x" * (1024 * 1024)

    streamed = httpx.post(
        f"{server.url}/api/repos/create",
        content=chunks(),
        headers={"Authorization": f"Bearer {ids.alice}", "Content-Type": "application/json"},
    )
    for answer in (declared, streamed):
        assert answer.status_code == 413
        assert GENERATED.match(_id(answer))


# -- 2. the caller's id ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "sent",
    ["req-1234", "Root=1-67891233-abcdef012345678912345678", "f2b1c0de-5a6b-4c1d-9e8f-0123456789ab"],
)
def test_a_sane_incoming_id_is_echoed(server: LiveServer, sent: str) -> None:
    for path in ("/api/models?limit=1", "/api/models/alice/does-not-exist"):
        assert _id(httpx.get(f"{server.url}{path}", headers={"X-Request-Id": sent})) == sent


@pytest.mark.parametrize("sent", ["has space", "x" * 129, "-leading-dash", "semi\tcolon", 'quote"d', ""])
def test_an_insane_incoming_id_is_replaced(server: LiveServer, sent: str) -> None:
    answer = httpx.get(f"{server.url}/api/models/alice/does-not-exist", headers={"X-Request-Id": sent})
    assert GENERATED.match(_id(answer))


def test_the_clients_trace_id_is_used_when_no_request_id_is_sent(server: LiveServer) -> None:
    trace = "6f1c2d3e-4b5a-4978-8a6b-5c4d3e2f1a0b"
    answer = httpx.get(f"{server.url}/api/models/alice/does-not-exist", headers={"X-Amzn-Trace-Id": trace})
    assert _id(answer) == trace
    both = httpx.get(
        f"{server.url}/api/models/alice/does-not-exist", headers={"X-Amzn-Trace-Id": trace, "X-Request-Id": "mine"}
    )
    assert _id(both) == "mine"


# -- 3. the client shows it -----------------------------------------------------------------------
def test_huggingface_hub_errors_name_the_request(api: HfApi, repo_name: str) -> None:
    with pytest.raises(RepositoryNotFoundError) as missing:
        api.model_info(f"alice/{repo_name}")
    request_id = missing.value.response.headers[HEADER]
    assert f"(Request ID: {request_id})" in str(missing.value)
    # the client's own trace id comes back: its debug log and ours name the same request
    assert request_id == missing.value.response.request.headers["X-Amzn-Trace-Id"]

    api.create_repo(f"alice/{repo_name}")
    with pytest.raises(HfHubHTTPError) as exists:
        api.create_repo(f"alice/{repo_name}")
    assert f"(Request ID: {exists.value.response.headers[HEADER]})" in str(exists.value)


def test_the_hf_cli_prints_the_request_id(api: HfApi, repo_name: str, server: LiveServer, ids: Identities) -> None:
    repo_id = f"alice/{repo_name}"
    api.create_repo(repo_id)
    env = {**os.environ, "HF_TOKEN": ids.alice, "HF_ENDPOINT": server.url}
    done = subprocess.run(
        [HF, "repos", "branch", "create", repo_id, "main"],  # main exists: 409
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0
    assert re.search(r"Request ID: [0-9a-f-]{32,36}\)", done.stdout + done.stderr), done.stdout + done.stderr
