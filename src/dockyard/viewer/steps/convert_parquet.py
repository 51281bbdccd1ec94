"""Step ``convert-parquet``: every split as Parquet on ``refs/convert/parquet``.

A split whose files are already Parquet with row groups fit for random access is *referenced*:
the export names the same LFS object (same sha256, same Xet hash), nothing is copied. Any other
split is streamed through ``datasets``' own reader for its format, batch by batch (bounded
memory), and written with row groups of at most ``viewer_row_group_rows`` rows / ~64 MiB, the page
index on and content-defined chunking (so Xet dedups a re-export), in shards of about
``viewer_shard_bytes``. All splits of the revision land in one commit, laid out as on the Hub:
``{config}/{split}/NNNN.parquet``. Per (config, split) the result is ``{"commit", "num_rows",
"referenced", "shards": [{"filename", "size", "num_rows", "oid"}]}`` or the split's error.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from dockyard.repos.models import Repo
from dockyard.viewer import publish, results
from dockyard.viewer.errors import FileFormatError, StepError, TooBigContentError
from dockyard.viewer.results import StepOutcome
from dockyard.viewer.steps import config_splits, files, guards, writer
from dockyard.viewer.steps.context import StepContext

log = logging.getLogger(__name__)

NAME = "convert-parquet"
VERSION = 1
LEVEL = "split"  # one outcome per split
PARQUET_REF = publish.PARQUET_REF


def run(ctx: StepContext) -> None:
    detected = ctx.get(config_splits.NAME, config_splits.VERSION)
    if detected is None or detected.result is None:
        return  # nothing to convert: the detection's own error says why
    done = ctx.all(NAME, VERSION)
    todo = [
        (config, split)
        for config in detected.result["configs"]
        for split in config["splits"]
        if (config["config"], split["split"]) not in done
    ]
    if not todo:
        return
    entries = files.entries(ctx)
    root = files.tree_dir(ctx)
    if not root.exists():
        files.lay_out(ctx, entries)
    outcomes = {(c["config"], s["split"]): _convert(ctx, root, entries, c, s) for c, s in todo}
    shards = {key: found for key, found in _previous(done).items()} | {
        key: outcome.result["shards"] for key, outcome in outcomes.items() if outcome.result is not None
    }
    commit = publish.commit_export(ctx.hub, ctx.repo_id, shards, ctx.revision)
    for (config, split), outcome in outcomes.items():
        if outcome.result is not None:
            outcome = StepOutcome(outcome.result | {"commit": commit})
        ctx.put(NAME, VERSION, outcome, config, split)
    _keep_newest_on_ref(ctx)


def _keep_newest_on_ref(ctx: StepContext) -> None:
    """``refs/convert/parquet`` shows the export of the main branch's head. With several workers
    an older revision's export can finish after the head's and move the ref back: its commit stays
    (its own answers read it), and the head's export is committed again on top of it."""
    with ctx.hub.db.read() as session:
        head = session.get_one(Repo, ctx.repo_id).sha
        newest = results.for_revision(session, ctx.repo_id, head, NAME, VERSION) if head else {}
    if head is None or head == ctx.revision or not newest:
        return  # the head's own job publishes it when it finishes
    shards = {key: o.result["shards"] for key, o in newest.items() if o.result is not None}
    log.info(
        "export of %s at %s finished after the head's; restoring %s on %s", ctx.full_id, ctx.revision, head, PARQUET_REF
    )
    publish.commit_export(ctx.hub, ctx.repo_id, shards, head)


def _previous(done: dict[tuple[str, str], StepOutcome]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Splits converted by an earlier try of this job: the new commit keeps them."""
    return {key: outcome.result["shards"] for key, outcome in done.items() if outcome.result is not None}


def _convert(
    ctx: StepContext, root: Path, entries: dict[str, Any], config: dict[str, Any], split: dict[str, Any]
) -> StepOutcome:
    from datasets.exceptions import DatasetGenerationError  # type: ignore[import-untyped]

    name, split_name, paths = config["config"], split["split"], split["files"]
    try:
        _check_names(name, split_name)
        _check_size(ctx, entries, paths)
        if config["builder"] == "parquet":
            referenced = writer.reference(ctx, entries, name, split_name, paths)
            if referenced is not None:
                return StepOutcome(referenced)
        _materialise(ctx, root, entries, paths)
        return StepOutcome(_stream(ctx, root, name, split_name, paths))
    except StepError as error:
        return StepOutcome(None, error.code, str(error))
    except (DatasetGenerationError, ValueError, TypeError, KeyError, OSError, UnicodeDecodeError) as error:
        # A file its format's reader rejects (pyarrow's ArrowInvalid and pandas' ParserError are
        # ValueErrors): a clear error for this split only.
        cause = error.__cause__ or error
        log.info("split %s/%s of %s not converted: %s", name, split_name, ctx.full_id, cause)
        failure = FileFormatError(f"The split could not be read: {type(cause).__name__}: {cause}")
        return StepOutcome(None, failure.code, str(failure))
    finally:
        files.release(root, paths)


def _check_names(config: str, split: str) -> None:
    for value in (config, split):
        if not value or "/" in value or value in (".", "..") or value.startswith("."):
            raise StepError(f"{value!r} cannot name a folder of the Parquet export", code="ConfigNamesError")


def _check_size(ctx: StepContext, entries: dict[str, Any], paths: list[str]) -> None:
    total = sum(_size(entries[path]) for path in paths if path in entries)
    limit = ctx.hub.settings.viewer_max_split_bytes
    if total > limit:
        raise TooBigContentError(f"The split's files take {total} bytes, over the viewer's limit of {limit}")


def _size(entry: Any) -> int:
    return int(entry.lfs.size if entry.lfs is not None else entry.size)


def _materialise(ctx: StepContext, root: Path, entries: dict[str, Any], paths: list[str]) -> None:
    """Write out the files not written yet (a placeholder is empty; archives are written at
    detection), and check every one for bombs before ``datasets`` opens it."""
    for path in paths:
        target = root / path
        if path not in entries:
            continue
        if _size(entries[path]) and target.stat().st_size == 0:
            files.materialise(ctx, entries[path], target)
        guards.check_file(ctx.hub.settings, target, path)


def _stream(ctx: StepContext, root: Path, config: str, split: str, paths: list[str]) -> dict[str, Any]:
    """The builder sees this split's files only: some formats read the first split's first file
    to infer features, which must not be another split's (not written out, or broken)."""
    builder = config_splits.load_builder(ctx, root, config, data_files={split: paths})
    dataset = builder.as_streaming_dataset(split=split)
    by_rows = type(builder).__module__.endswith(".webdataset")
    return writer.write_split(ctx, dataset, config, split, by_rows=by_rows)
