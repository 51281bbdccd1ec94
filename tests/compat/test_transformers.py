"""transformers against Dockyard: what a user does after `model.push_to_hub(...)`.

Push a tiny BERT and its tokenizer, load them back with the Auto classes and pipelines, pin
revisions (tag, branch, commit), fine-tune with ``Trainer(push_to_hub=True)`` and reload from
the cache offline. Everything is compared with the local objects it came from.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from huggingface_hub import HfApi, constants, hf_hub_download
from huggingface_hub.errors import RepositoryNotFoundError
from transformers import (
    AutoConfig,
    AutoModel,
    AutoModelForMaskedLM,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    BertForMaskedLM,
    BertForSequenceClassification,
    BertModel,
    PreTrainedModel,
    Trainer,
    TrainingArguments,
    pipeline,
)

from tests.support.accounts import Identities
from tests.support.factories import (
    SENTENCES,
    seeded_model,
    tiny_bert_config,
    tiny_bert_tokenizer,
    tiny_fast_tokenizer,
)

PROBES = ["the storm keeps the ships in the dock", "a calm morning at the harbour", "gulls above the quay"]


def assert_same_weights(loaded: PreTrainedModel, original: PreTrainedModel) -> None:
    expected = original.state_dict()
    actual = loaded.state_dict()
    assert actual.keys() == expected.keys()
    different = [name for name, tensor in expected.items() if not torch.equal(actual[name], tensor)]
    assert different == []


def logits(model: PreTrainedModel, tokenizer: Any, texts: list[str]) -> torch.Tensor:
    with torch.no_grad():
        return model(**tokenizer(texts, padding=True, return_tensors="pt")).logits


@pytest.fixture
def classifier(api: HfApi, repo_name: str, transfer: str) -> tuple[str, BertForSequenceClassification, Any]:
    """A tiny classifier and its tokenizer, pushed by the user to alice/<name> (through Xet, and
    again through the LFS batch API)."""
    tokenizer = tiny_bert_tokenizer()
    model = seeded_model(BertForSequenceClassification, tiny_bert_config(len(tokenizer)))
    repo_id = f"alice/{repo_name}"
    model.push_to_hub(repo_id)
    tokenizer.push_to_hub(repo_id)
    return repo_id, model, tokenizer


def test_auto_classes_load_what_push_to_hub_uploaded(
    api: HfApi, classifier: tuple[str, BertForSequenceClassification, Any], cache_dir: Path
) -> None:
    repo_id, model, tokenizer = classifier
    assert {"config.json", "model.safetensors", "README.md", "tokenizer.json", "tokenizer_config.json"} <= set(
        api.list_repo_files(repo_id)
    )

    config = AutoConfig.from_pretrained(repo_id, cache_dir=cache_dir)
    assert (config.model_type, config.architectures) == ("bert", ["BertForSequenceClassification"])
    volatile = {"_name_or_path", "transformers_version"}
    assert {k: v for k, v in config.to_dict().items() if k not in volatile} == {
        k: v for k, v in model.config.to_dict().items() if k not in volatile
    }

    loaded_tokenizer = AutoTokenizer.from_pretrained(repo_id, cache_dir=cache_dir)
    assert loaded_tokenizer.get_vocab() == tokenizer.get_vocab()
    assert loaded_tokenizer(PROBES, padding=True)["input_ids"] == tokenizer(PROBES, padding=True)["input_ids"]
    assert loaded_tokenizer(PROBES[0], PROBES[1]).data == tokenizer(PROBES[0], PROBES[1]).data
    assert loaded_tokenizer.decode(tokenizer(PROBES[2])["input_ids"]) == tokenizer.decode(
        tokenizer(PROBES[2])["input_ids"]
    )

    loaded = AutoModelForSequenceClassification.from_pretrained(repo_id, cache_dir=cache_dir)
    assert type(loaded) is BertForSequenceClassification
    assert_same_weights(loaded, model)
    assert torch.equal(logits(loaded.eval(), loaded_tokenizer, PROBES), logits(model, tokenizer, PROBES))


def test_pipelines_from_the_hub_match_the_local_objects(
    api: HfApi, classifier: tuple[str, BertForSequenceClassification, Any], repo_name: str, cache_dir: Path
) -> None:
    repo_id, model, tokenizer = classifier
    remote = pipeline("text-classification", model=repo_id, model_kwargs={"cache_dir": cache_dir})
    local = pipeline("text-classification", model=model, tokenizer=tokenizer)
    assert remote(PROBES, top_k=None) == local(PROBES, top_k=None)

    masked_lm = seeded_model(BertForMaskedLM, tiny_bert_config(len(tokenizer)), seed=1)
    mlm_repo = f"alice/{repo_name}-mlm"
    masked_lm.push_to_hub(mlm_repo)
    tokenizer.push_to_hub(mlm_repo)
    remote_fill = pipeline("fill-mask", model=mlm_repo, model_kwargs={"cache_dir": cache_dir})
    local_fill = pipeline("fill-mask", model=masked_lm, tokenizer=tokenizer)
    sentences = ["the [MASK] sails past the lighthouse", "containers are [MASK] on the quay"]
    assert remote_fill(sentences, top_k=5) == local_fill(sentences, top_k=5)
    assert type(remote_fill.model) is BertForMaskedLM
    assert_same_weights(AutoModelForMaskedLM.from_pretrained(mlm_repo, cache_dir=cache_dir), masked_lm)


def test_private_model_needs_the_token(
    repo_name: str, ids: Identities, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tokenizer = tiny_fast_tokenizer()
    model = seeded_model(BertModel, tiny_bert_config(len(tokenizer)))
    repo_id = f"acme/{repo_name}"
    model.push_to_hub(repo_id, private=True, token=ids.alice)
    tokenizer.push_to_hub(repo_id, token=ids.alice)
    monkeypatch.delenv("HF_TOKEN", raising=False)

    with pytest.raises(OSError, match="not a valid model identifier") as anonymous:
        AutoModel.from_pretrained(repo_id, cache_dir=cache_dir)
    with pytest.raises(OSError, match="not a valid model identifier") as outsider:
        AutoTokenizer.from_pretrained(repo_id, cache_dir=cache_dir, token=ids.bob)
    assert isinstance(anonymous.value.__cause__, RepositoryNotFoundError)
    assert isinstance(outsider.value.__cause__, RepositoryNotFoundError)

    loaded = AutoModel.from_pretrained(repo_id, cache_dir=cache_dir, token=ids.alice_read)
    assert type(loaded) is BertModel
    assert_same_weights(loaded, model)
    loaded_tokenizer = AutoTokenizer.from_pretrained(repo_id, cache_dir=cache_dir, token=ids.alice_read)
    assert loaded_tokenizer(PROBES)["input_ids"] == tokenizer(PROBES)["input_ids"]
    assert loaded_tokenizer.mask_token == tokenizer.mask_token == "[MASK]"


def test_from_pretrained_pins_tags_branches_and_commits(api: HfApi, repo_name: str, cache_dir: Path) -> None:
    repo_id = f"alice/{repo_name}"
    config = tiny_bert_config(len(tiny_bert_tokenizer()))
    first, second, third = (seeded_model(BertForSequenceClassification, config, seed=seed) for seed in (1, 2, 3))

    first_commit = first.push_to_hub(repo_id, commit_message="first weights")
    api.create_tag(repo_id, tag="v1.0")
    second.push_to_hub(repo_id, revision="experiment", commit_message="try other weights")
    third.push_to_hub(repo_id, commit_message="third weights")

    def load(**kwargs: Any) -> PreTrainedModel:
        return AutoModelForSequenceClassification.from_pretrained(repo_id, cache_dir=cache_dir, **kwargs)

    assert_same_weights(load(), third)
    assert_same_weights(load(revision="v1.0"), first)
    assert_same_weights(load(revision=first_commit.oid), first)
    assert_same_weights(load(revision="experiment"), second)
    assert api.model_info(repo_id, revision="v1.0").sha == first_commit.oid
    refs = api.list_repo_refs(repo_id)
    assert {branch.name for branch in refs.branches} == {"main", "experiment"}
    assert [(tag.name, tag.target_commit) for tag in refs.tags] == [("v1.0", first_commit.oid)]


# Trainer turns hub progress bars back on after training; the suite disables them by environment
# (tests/conftest.py), and huggingface_hub warns that the environment wins.
@pytest.mark.filterwarnings("ignore:Cannot enable progress bars:UserWarning")
def test_trainer_pushes_weights_and_a_model_card(
    api: HfApi, token: str, repo_name: str, tmp_path: Path, cache_dir: Path
) -> None:
    from datasets import Dataset

    tokenizer = tiny_bert_tokenizer()
    model = seeded_model(BertForSequenceClassification, tiny_bert_config(len(tokenizer)))
    model.train()
    initial = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    train = Dataset.from_dict({"text": SENTENCES, "label": [i % 2 for i in range(len(SENTENCES))]})
    train = train.map(lambda batch: tokenizer(batch["text"], padding="max_length", max_length=16), batched=True)
    repo_id = f"alice/{repo_name}"
    args = TrainingArguments(
        output_dir=str(tmp_path / "out"),
        max_steps=2,
        per_device_train_batch_size=4,
        learning_rate=1e-2,
        save_strategy="no",
        report_to="none",
        use_cpu=True,
        push_to_hub=True,
        hub_model_id=repo_id,
        hub_token=token,
    )
    trainer = Trainer(model=model, args=args, train_dataset=train, processing_class=tokenizer)
    trainer.train()
    trainer.push_to_hub(commit_message="End of training", license="apache-2.0", finetuned_from="alice/tiny-bert")

    files = set(api.list_repo_files(repo_id))
    assert {"model.safetensors", "config.json", "README.md", "training_args.bin", "tokenizer.json"} <= files
    trained = trainer.model.state_dict()
    assert any(not torch.equal(trained[name], initial[name]) for name in initial)
    loaded = AutoModelForSequenceClassification.from_pretrained(repo_id, cache_dir=cache_dir)
    assert_same_weights(loaded, trainer.model)

    card = Path(hf_hub_download(repo_id, "README.md", cache_dir=cache_dir)).read_text()
    assert "generated_from_trainer" in card
    info = api.model_info(repo_id)
    assert info.card_data is not None
    assert "generated_from_trainer" in (info.card_data.tags or [])
    assert info.card_data.license == "apache-2.0"
    assert info.card_data.base_model == "alice/tiny-bert"
    assert {"generated_from_trainer", "transformers", "license:apache-2.0"} <= set(info.tags or [])
    assert info.library_name == "transformers"
    assert api.list_repo_commits(repo_id)[0].title == "End of training"


def test_reload_from_cache_offline(
    api: HfApi,
    classifier: tuple[str, BertForSequenceClassification, Any],
    cache_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    repo_id, model, tokenizer = classifier
    AutoTokenizer.from_pretrained(repo_id, cache_dir=cache_dir)
    AutoModelForSequenceClassification.from_pretrained(repo_id, cache_dir=cache_dir)
    # The repo disappears from the server: from now on only the cache can answer.
    api.delete_repo(repo_id)

    cached_model = AutoModelForSequenceClassification.from_pretrained(
        repo_id, cache_dir=cache_dir, local_files_only=True
    )
    cached_tokenizer = AutoTokenizer.from_pretrained(repo_id, cache_dir=cache_dir, local_files_only=True)
    assert_same_weights(cached_model, model)
    assert cached_tokenizer(PROBES)["input_ids"] == tokenizer(PROBES)["input_ids"]

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    offline = pipeline("text-classification", model=repo_id, model_kwargs={"cache_dir": cache_dir})
    local = pipeline("text-classification", model=model, tokenizer=tokenizer)
    assert offline(PROBES, top_k=None) == local(PROBES, top_k=None)
