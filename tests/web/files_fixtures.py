"""A repo with one file for each viewer, made once per test worker through huggingface_hub, and
the tiny files it holds (safetensors, Parquet, PNG) built in memory."""

from __future__ import annotations

import base64
import io
import uuid
from dataclasses import dataclass

import pytest

from tests.support.accounts import Identities
from tests.support.server import LiveServer

PYTHON = b'import os\n\n\ndef greet(name: str) -> str:\n    """Say hello."""\n    return f"hello {name}"\n'
CONFIG = b'{"architectures": ["TinyModel"], "hidden_size": 3, "nested": {"layers": 2}}'
CSV = b"city,population\nOslo,709037\nLima,9751000\nHanoi,8053663\n"
GUIDE = b"# Guide\n\nSee [the code](../src/app.py) and **bold** text.\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"
# A 1x1 transparent PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


def safetensors_bytes(stamp: str = "") -> bytes:
    """Two tensors (15 parameters); ``stamp`` in the metadata makes the content new."""
    import numpy as np
    from safetensors.numpy import save

    tensors = {"embed.weight": np.zeros((4, 3), dtype=np.float32), "head.bias": np.zeros((3,), dtype=np.int64)}
    return save(tensors, metadata={"stamp": stamp})


def parquet_bytes(stamp: str = "") -> bytes:
    """Three cities; ``stamp`` in the file's metadata makes the content new."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"city": ["Oslo", "Lima", "Hanoi"], "population": [709037, 9751000, 8053663]})
    table = table.replace_schema_metadata({"stamp": stamp})
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


@dataclass(frozen=True)
class FilesRepo:
    repo_id: str

    @property
    def url(self) -> str:
        return f"/datasets/{self.repo_id}"


@pytest.fixture(scope="session", name="files_repo")
def make_files_repo(server: LiveServer, ids: Identities) -> FilesRepo:
    """alice's public dataset (a model repo warns about Parquet files) with a README, code, JSON,
    CSV, Parquet, safetensors, an image and a Markdown guide on main; a ``dev`` branch with one
    more file; a ``v1`` tag."""
    from huggingface_hub import CommitOperationAdd, HfApi

    api = HfApi(endpoint=server.url, token=ids.alice)
    repo_id = f"alice/files-{uuid.uuid4().hex[:8]}"
    api.create_repo(repo_id, repo_type="dataset")
    files = {
        "README.md": b"# Files demo\n",
        "src/app.py": PYTHON,
        "config.json": CONFIG,
        "data/cities.csv": CSV,
        "data/cities.parquet": parquet_bytes(),
        "model.safetensors": safetensors_bytes(),
        "images/dot.png": PNG,
        "docs/guide.md": GUIDE,
    }
    operations = [CommitOperationAdd(path_in_repo=path, path_or_fileobj=data) for path, data in files.items()]
    api.create_commit(repo_id, operations=operations, commit_message="Add the demo files", repo_type="dataset")
    api.create_branch(repo_id, branch="dev", repo_type="dataset")
    dev = {"repo_id": repo_id, "revision": "dev", "repo_type": "dataset"}
    api.upload_file(path_or_fileobj=b"only on dev\n", path_in_repo="dev-notes.txt", **dev)
    api.create_tag(repo_id, tag="v1", repo_type="dataset")
    return FilesRepo(repo_id)
