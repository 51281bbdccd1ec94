"""The "Use this model" snippets: code a person pastes to load the repo, filled in for its id,
type, task and library, and for the address this hub answers on (clients need the endpoint)."""

from __future__ import annotations

from dataclasses import dataclass

from dockyard.identifiers import RepoType

# Tasks whose transformers pipeline and Auto class the snippet can name (the Hub's common ones).
_AUTO_CLASSES = {
    "text-classification": "AutoModelForSequenceClassification",
    "token-classification": "AutoModelForTokenClassification",
    "question-answering": "AutoModelForQuestionAnswering",
    "fill-mask": "AutoModelForMaskedLM",
    "text-generation": "AutoModelForCausalLM",
    "text2text-generation": "AutoModelForSeq2SeqLM",
    "translation": "AutoModelForSeq2SeqLM",
    "summarization": "AutoModelForSeq2SeqLM",
    "image-classification": "AutoModelForImageClassification",
    "feature-extraction": "AutoModel",
    "sentence-similarity": "AutoModel",
    "automatic-speech-recognition": "AutoModelForSpeechSeq2Seq",
}


@dataclass(frozen=True, slots=True)
class Snippet:
    """One tab of the panel: a title, the language it is written in, and the code."""

    title: str
    language: str
    code: str


def snippets_for(
    kind: RepoType, repo_id: str, *, base_url: str, pipeline_tag: str | None, library: str | None
) -> list[Snippet]:
    """What to show for this repo, most specific first; the download and clone lines always."""
    found: list[Snippet] = []
    if kind is RepoType.MODEL:
        found += _model_library_snippets(repo_id, base_url, pipeline_tag, library)
    elif kind is RepoType.DATASET:
        found.append(_load_dataset(repo_id, base_url))
    flag = "" if kind is RepoType.MODEL else f" --repo-type {kind.value}"
    found.append(Snippet("hf download", "bash", f"HF_ENDPOINT={base_url} hf download {repo_id}{flag}"))
    found.append(Snippet("git clone", "bash", f"git clone {base_url}/{kind.url_prefix}{repo_id}"))
    return found


def _model_library_snippets(
    repo_id: str, base_url: str, pipeline_tag: str | None, library: str | None
) -> list[Snippet]:
    setup = f'import os\nos.environ["HF_ENDPOINT"] = "{base_url}"\n'
    found: list[Snippet] = []
    if library == "sentence-transformers":
        code = (
            f"{setup}from sentence_transformers import SentenceTransformer\n\n"
            f'model = SentenceTransformer("{repo_id}")\n'
            'embeddings = model.encode(["The weather is lovely today."])'
        )
        found.append(Snippet("sentence-transformers", "python", code))
    if library in (None, "transformers", "sentence-transformers"):
        if pipeline_tag:
            code = f'{setup}from transformers import pipeline\n\npipe = pipeline("{pipeline_tag}", model="{repo_id}")'
            found.append(Snippet("transformers pipeline", "python", code))
        auto = _AUTO_CLASSES.get(pipeline_tag or "", "AutoModel")
        code = (
            f"{setup}from transformers import AutoTokenizer, {auto}\n\n"
            f'tokenizer = AutoTokenizer.from_pretrained("{repo_id}")\n'
            f'model = {auto}.from_pretrained("{repo_id}")'
        )
        found.append(Snippet("transformers Auto classes", "python", code))
    return found


def _load_dataset(repo_id: str, base_url: str) -> Snippet:
    code = (
        f'import os\nos.environ["HF_ENDPOINT"] = "{base_url}"\n'
        f"from datasets import load_dataset\n\n"
        f'ds = load_dataset("{repo_id}")'
    )
    return Snippet("datasets", "python", code)
