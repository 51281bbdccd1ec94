"""Content that attacks the hub's parsers: YAML alias bombs and self-referencing cards, hostile
safetensors headers, gzip-wrapped pickles. Each arrives as a user would send it (anonymously to
``/api/validate-yaml``, or committed to the attacker's own repo), and the hub must answer cleanly,
keep serving others, keep the branch and its records consistent, and still scan what follows."""

from __future__ import annotations

import base64
import gzip
import json
import pickle
import struct
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
from huggingface_hub import CommitOperationAdd, HfApi, RepoFile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors.numpy import save

from tests.support.accounts import Identities
from tests.support.server import LiveServer
from tests.support.waiting import wait_until

SELF_REFERENCING_CARD = "---\nlicense: mit\nx: &a [*a]\n---\n# A card whose metadata contains itself\n"


def alias_bomb(levels: int = 7, width: int = 9) -> str:
    """``levels`` anchors, each a list of ``width`` aliases of the previous one: 330 bytes, 9**7 values."""
    lines = ["a0: &a0 [" + ",".join(["lol"] * width) + "]"]
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * width) + "]" for i in range(1, levels)]
    return "---\n" + "\n".join(lines) + "\n---\n"


def safetensors_with_huge_int() -> bytes:
    """A header whose shape holds an integer of 5,000 digits (Python refuses to parse more than 4,300)."""
    raw = b'{"w": {"dtype": "F32", "shape": [' + b"9" * 5000 + b'], "data_offsets": [0, 4]}}'
    return struct.pack("<Q", len(raw)) + raw + bytes(4)


class _Exploit:
    def __reduce__(self) -> tuple[object, ...]:
        import os

        return (os.system, ("true",))


def _raw_commit(server: LiveServer, token: str, repo_id: str, branch: str, files: dict[str, bytes]) -> httpx.Response:
    """The NDJSON commit as any HTTP client can send it, without the client's own YAML check."""
    lines = [{"key": "header", "value": {"summary": "hostile content"}}]
    for path, content in files.items():
        encoded = base64.b64encode(content).decode()
        lines.append({"key": "file", "value": {"path": path, "content": encoded, "encoding": "base64"}})
    return httpx.post(
        f"{server.url}/api/models/{repo_id}/commit/{branch}",
        content="\n".join(json.dumps(line) for line in lines).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"},
        timeout=30,
    )


def _info(server: LiveServer, token: str, repo_id: str, revision: str | None = None) -> httpx.Response:
    suffix = f"/revision/{revision}" if revision else ""
    return httpx.get(
        f"{server.url}/api/models/{repo_id}{suffix}", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


def _invalid_metadata_warnings(response: httpx.Response) -> list[str]:
    return [value for value in response.headers.get_list("X-HF-Warning") if value.startswith("invalid-metadata;")]


def _timed_post(url: str, body: dict[str, str]) -> tuple[int, float, dict[str, object]]:
    started = time.monotonic()
    response = httpx.post(url, json=body, timeout=60)
    return response.status_code, time.monotonic() - started, response.json()


def _timed_get(url: str) -> tuple[int, float]:
    started = time.monotonic()
    response = httpx.get(url, timeout=60)
    return response.status_code, time.monotonic() - started


def test_anonymous_alias_bombs_are_refused_quickly_while_others_are_served(server: LiveServer) -> None:
    bomb = {"content": alias_bomb(), "repoType": "model"}
    with ThreadPoolExecutor(max_workers=8) as pool:
        bombs = [pool.submit(_timed_post, f"{server.url}/api/validate-yaml", bomb) for _ in range(4)]
        others = [pool.submit(_timed_get, f"{server.url}/healthz") for _ in range(4)]
        answers = [future.result() for future in bombs]
        served = [future.result() for future in others]
    for status, seconds, body in answers:
        assert status == 400
        assert "aliases expand to more than" in str(body["errors"])
        assert seconds < 1.0
    assert all(status == 200 and seconds < 1.0 for status, seconds in served)


def test_validate_yaml_refuses_a_self_referencing_card(server: LiveServer) -> None:
    response = httpx.post(f"{server.url}/api/validate-yaml", json={"content": SELF_REFERENCING_CARD}, timeout=10)
    assert response.status_code == 400
    assert "refers to a value that contains it" in response.json()["errors"][0]["message"]


def test_a_self_referencing_card_commits_cleanly_and_model_info_keeps_working(
    server: LiveServer, ids: Identities, api: HfApi, repo_name: str
) -> None:
    repo_id = f"alice/{repo_name}"
    api.create_repo(repo_id)
    api.create_branch(repo_id, branch="evil")

    response = _raw_commit(server, ids.alice, repo_id, "main", {"README.md": SELF_REFERENCING_CARD.encode()})
    assert response.status_code == 200, response.text
    commit = response.json()["commitOid"]
    assert api.list_repo_commits(repo_id)[0].commit_id == commit  # the branch moved exactly once, to it

    info = _info(server, ids.alice, repo_id)
    assert info.status_code == 200
    assert info.json()["sha"] == commit
    assert info.json()["cardData"] == {}
    assert any("contains it" in warning for warning in _invalid_metadata_warnings(info))
    assert api.model_info(repo_id).sha == commit  # the real client reads it too

    # The same card on any other branch: read on the fly, never stored, still no 5xx.
    on_branch = _raw_commit(server, ids.alice, repo_id, "evil", {"README.md": alias_bomb().encode()})
    assert on_branch.status_code == 200
    started = time.monotonic()
    info = _info(server, ids.alice, repo_id, "evil")
    assert info.status_code == 200
    assert time.monotonic() - started < 1.0
    assert any("aliases expand" in warning for warning in _invalid_metadata_warnings(info))


def test_a_huge_integer_in_a_safetensors_header_fails_only_its_own_scan(
    server: LiveServer, ids: Identities, api: HfApi, repo_name: str, transfer: str
) -> None:
    repo_id = f"alice/{repo_name}"
    api.create_repo(repo_id)
    commit = api.create_commit(
        repo_id,
        operations=[
            CommitOperationAdd("model.safetensors", safetensors_with_huge_int()),
            CommitOperationAdd("pytorch_model.bin", pickle.dumps(_Exploit())),  # sorts after the bad header
        ],
        commit_message="a bad header, then a malicious pickle",
    )
    assert api.list_repo_commits(repo_id)[0].commit_id == commit.oid

    info = _info(server, ids.alice, repo_id)
    assert info.status_code == 200
    assert info.json()["sha"] == commit.oid
    assert info.json()["safetensors"] is None
    assert any("model.safetensors" in warning for warning in _invalid_metadata_warnings(info))

    def statuses() -> dict[str, str]:
        return {
            entry.path: entry.security.status if entry.security else "none"  # type: ignore[union-attr]
            for entry in api.list_repo_tree(repo_id, expand=True)
            if isinstance(entry, RepoFile)
        }

    assert wait_until(lambda: "queued" not in statuses().values(), timeout=30)
    assert statuses()["pytorch_model.bin"] == "unsafe"
    assert statuses()["model.safetensors"] == "error"


def test_safetensors_metadata_is_read_whichever_way_the_file_travelled(
    api: HfApi, repo_name: str, transfer: str
) -> None:
    repo_id = f"alice/{repo_name}"
    api.create_repo(repo_id)
    weights = save({"weight": np.zeros((64, 32), dtype=np.float32), "bias": np.zeros(32, dtype=np.float16)})
    api.upload_file(path_or_fileobj=weights, path_in_repo="model.safetensors", repo_id=repo_id)

    safetensors = api.model_info(repo_id).safetensors
    assert safetensors is not None
    assert safetensors.parameters == {"F32": 2048, "F16": 32}
    assert safetensors.total == 2080


def test_a_gzipped_pickle_is_scanned_not_waved_through(api: HfApi, repo_name: str, tmp_path: Path) -> None:
    repo_id = f"alice/{repo_name}"
    api.create_repo(repo_id)
    api.upload_file(
        path_or_fileobj=gzip.compress(pickle.dumps(_Exploit())), path_in_repo="evil.pkl.gz", repo_id=repo_id
    )
    api.upload_file(path_or_fileobj=gzip.compress(b"a,b\n1,2\n"), path_in_repo="data.csv.gz", repo_id=repo_id)

    def status(path: str) -> str:
        entry = next(e for e in api.list_repo_tree(repo_id, expand=True) if e.path == path)
        return entry.security.status  # type: ignore[union-attr]

    assert wait_until(lambda: status("evil.pkl.gz") != "queued", timeout=30)
    assert status("evil.pkl.gz") == "unsafe"
    assert status("data.csv.gz") == "safe"


# -- properties: hostile input over HTTP ----------------------------------------------------------
_YAML_PIECES = st.one_of(
    st.sampled_from(["&a ", "*a", "&b ", "*b", "[", "]", "{", "}", ": ", ", ", "\n", "- ", "<<: ", "x", "0x", "? "]),
    st.sampled_from(["9" * 5000, "2020-13-45", "!!binary ", "!!python/object:os.system ", "\t", "'", '"']),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_YAML_PIECES, max_size=60).map("".join))
def test_any_card_yaml_is_answered_quickly_without_a_5xx(server: LiveServer, yaml_text: str) -> None:
    status, seconds, body = _timed_post(f"{server.url}/api/validate-yaml", {"content": f"---\n{yaml_text}\n---\n"})
    assert status in (200, 400)
    assert seconds < 1.0
    assert isinstance(body["errors"], list)


_HEADER_VALUES = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.sampled_from(["9" * 5000, "NaN", "1e999", "[" * 2000, '"F32"', "[1, 2]", "{}", "true", "null"]),
)


@st.composite
def safetensors_blobs(draw: st.DrawFn) -> bytes:
    shape, dtype, start, end = (draw(_HEADER_VALUES) for _ in range(4))
    raw = f'{{"w": {{"dtype": {dtype}, "shape": [{shape}], "data_offsets": [{start}, {end}]}}}}'.encode()
    return struct.pack("<Q", len(raw)) + raw + bytes(draw(st.integers(0, 16)))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(safetensors_blobs())
def test_any_safetensors_header_commits_cleanly(
    server: LiveServer, ids: Identities, api: HfApi, repo_name: str, blob: bytes
) -> None:
    repo_id = f"alice/{repo_name}"  # one repo for every example: each commit lands on the last
    api.create_repo(repo_id, exist_ok=True)
    response = _raw_commit(server, ids.alice, repo_id, "main", {"model.safetensors": blob})
    assert response.status_code == 200, response.text
    info = _info(server, ids.alice, repo_id)
    assert info.status_code == 200
    assert info.json()["sha"] == response.json()["commitOid"]


def test_racing_commits_leave_the_metadata_of_the_head(
    server: LiveServer, ids: Identities, api: HfApi, repo_name: str
) -> None:
    """Concurrent committers, as the issue's race was found. On the embedded shape SQLite orders the
    records so the race rarely shows here; tests/functional/test_metadata.py replays the losing order
    deterministically (and fails on bcc808f). This one guards the end state over HTTP."""
    repo_id = f"alice/{repo_name}"
    api.create_repo(repo_id)
    for round_number in range(5):
        cards = {f"r{round_number}-c{index}": f"---\ntags: [r{round_number}-c{index}]\n---\n" for index in range(6)}
        with ThreadPoolExecutor(max_workers=len(cards)) as pool:
            answers = list(
                pool.map(
                    lambda card: _raw_commit(server, ids.alice, repo_id, "main", {"README.md": card.encode()}),
                    cards.values(),
                )
            )
        # 412 "too busy" may come back while the branch lock is contended (fixed apart from this);
        # what matters here is what the accepted commits leave behind.
        assert {answer.status_code for answer in answers} <= {200, 412}
        assert 200 in {answer.status_code for answer in answers}
        info = _info(server, ids.alice, repo_id).json()
        head_card = api.hf_hub_download(repo_id, "README.md", revision=info["sha"])
        head_tag = Path(head_card).read_text().split("[")[1].split("]")[0]
        assert info["cardData"]["tags"] == [head_tag]  # the stored metadata describes the head
        assert head_tag in info["tags"]
