"""Tiny artefacts for the library round trips, built on the spot (never downloaded).

A WordPiece tokenizer trained by the ``tokenizers`` library on a few sentences, a BERT small
enough to train in a blink, and little datasets with ``train``/``test`` splits written as CSV,
JSON lines or Parquet. Heavy libraries are imported inside the builders so that importing this
module stays cheap for the suites that do not use them.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tokenizers import Tokenizer
    from transformers import BertConfig, BertTokenizerFast, PreTrainedTokenizerFast

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]

SENTENCES = [
    "the harbour master counts the ships in the dock",
    "a small boat sails past the old lighthouse at night",
    "containers are stacked high on the quay",
    "the crane lifts a heavy crate onto the ship",
    "sailors repair the nets while the tide is low",
    "a storm keeps every vessel in the harbour today",
    "the ferry leaves the dock at nine in the morning",
    "gulls circle above the fishing boats",
]

LABELS = {0: "calm", 1: "stormy"}


def train_wordpiece(sentences: list[str] | None = None, vocab_size: int = 200) -> Tokenizer:
    """A lower-casing BERT-style WordPiece tokenizer trained on ``sentences``."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS, show_progress=False)
    tokenizer.train_from_iterator(sentences or SENTENCES, trainer)
    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls), ("[SEP]", sep)],
    )
    tokenizer.decoder = decoders.WordPiece()
    return tokenizer


def tiny_bert_tokenizer() -> BertTokenizerFast:
    """``BertTokenizerFast`` over the vocabulary of :func:`train_wordpiece`."""
    from transformers import BertTokenizerFast

    return BertTokenizerFast(vocab=train_wordpiece().get_vocab(), model_max_length=64)


def tiny_fast_tokenizer() -> PreTrainedTokenizerFast:
    """The trained ``tokenizers`` object itself, wrapped as a generic ``PreTrainedTokenizerFast``."""
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(
        tokenizer_object=train_wordpiece(),
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=64,
    )


def tiny_bert_config(vocab_size: int, **overrides: Any) -> BertConfig:
    """A random BERT of a few thousand parameters (hidden 32, 2 layers, 2 heads)."""
    from transformers import BertConfig

    settings: dict[str, Any] = {
        "vocab_size": vocab_size,
        "hidden_size": 32,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "intermediate_size": 37,
        "max_position_embeddings": 64,
        "type_vocab_size": 2,
        "id2label": dict(LABELS),
        "label2id": {name: index for index, name in LABELS.items()},
    }
    settings.update(overrides)
    return BertConfig(**settings)


def seeded_model(model_class: type, config: BertConfig, seed: int = 0) -> Any:
    """``model_class(config)`` with reproducible random weights, in inference mode."""
    import torch

    torch.manual_seed(seed)
    model = model_class(config)
    model.eval()
    return model


def table_rows(split: str, count: int = 6) -> list[dict[str, Any]]:
    """A few rows with a string, an integer label and a float column; different for each split."""
    offset = 0 if split == "train" else 100
    return [
        {
            "text": SENTENCES[(i + offset) % len(SENTENCES)] + f" #{split}{i}",
            "label": (i + offset) % 2,
            "score": round(0.25 * i + offset, 2),
        }
        for i in range(count)
    ]


def split_rows(splits: tuple[str, ...] = ("train", "test"), count: int = 6) -> dict[str, list[dict[str, Any]]]:
    return {split: table_rows(split, count) for split in splits}


def write_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def write_parquet(path: Path, rows: list[dict[str, Any]]) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


WRITERS = {"csv": write_csv, "jsonl": write_jsonl, "parquet": write_parquet}


def dataset_folder(root: Path, fmt: str, splits: dict[str, list[dict[str, Any]]]) -> Path:
    """``root/data/{split}.{fmt}`` for each split: the layout ``datasets`` infers splits from."""
    for split, rows in splits.items():
        WRITERS[fmt](root / "data" / f"{split}.{fmt}", rows)
    return root
