"""Step ``config-splits``: the configs and splits exactly as ``datasets`` sees them.

Nothing is re-implemented: the revision's layout (placeholders, the real card and archives) is
laid out on disk and ``datasets``' own module factory and builder resolve the card's ``configs``,
the data-file patterns, split names and the format (Parquet, CSV/TSV, JSON/JSONL, text, Arrow,
compressed files, image/audio folders, WebDataset). The result, for the whole revision:
``{"configs": [{"config", "builder", "splits": [{"split", "files": [paths]}]}]}``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dockyard.viewer.errors import EmptyDatasetError, StepError
from dockyard.viewer.results import StepOutcome
from dockyard.viewer.steps import files
from dockyard.viewer.steps.context import StepContext

NAME = "config-splits"
VERSION = 1


def run(ctx: StepContext) -> None:
    if ctx.get(NAME, VERSION) is not None:
        return
    try:
        found = detect(ctx)
    except StepError as error:
        ctx.put(NAME, VERSION, StepOutcome(None, error.code, str(error)))
        return
    ctx.put(NAME, VERSION, StepOutcome(found))


def detect(ctx: StepContext) -> dict[str, Any]:
    root = files.lay_out(ctx, files.entries(ctx))
    return {"configs": [_config(ctx, root, name) for name in _config_names(root)]}


def _config_names(root: Path) -> list[str]:
    from datasets.exceptions import DataFilesNotFoundError  # type: ignore[import-untyped]
    from datasets.load import dataset_module_factory  # type: ignore[import-untyped]

    try:
        module = dataset_module_factory(str(root))
    except (DataFilesNotFoundError, FileNotFoundError) as error:
        raise EmptyDatasetError(f"The dataset has no data files: {error}") from None
    except (ValueError, TypeError, KeyError) as error:  # a card whose configs datasets refuses
        raise StepError(f"The dataset's configuration cannot be read: {error}", code="ConfigNamesError") from None
    configs = module.builder_configs_parameters.builder_configs or []
    return [config.name for config in configs] or ["default"]


def _config(ctx: StepContext, root: Path, name: str) -> dict[str, Any]:
    builder = load_builder(ctx, root, name)
    data_files = builder.config.data_files or {}
    splits = [
        {"split": str(split), "files": [_relative(root, path) for path in paths]} for split, paths in data_files.items()
    ]
    return {"config": name, "builder": type(builder).__module__.rsplit(".", 1)[-1], "splits": splits}


def load_builder(ctx: StepContext, root: Path, name: str, **config_kwargs: Any) -> Any:
    """``datasets.load_dataset_builder`` on the laid-out revision (no network, scratch cache);
    ``config_kwargs`` override the config's own (``data_files``)."""
    from datasets import load_dataset_builder  # type: ignore[import-untyped]
    from datasets.exceptions import DataFilesNotFoundError

    try:
        return load_dataset_builder(str(root), name, cache_dir=str(ctx.workdir / "cache"), **config_kwargs)
    except (DataFilesNotFoundError, FileNotFoundError) as error:
        raise EmptyDatasetError(f"Config {name!r} has no data files: {error}") from None
    except (ValueError, TypeError, KeyError) as error:
        raise StepError(f"Config {name!r} cannot be loaded: {error}", code="ConfigNamesError") from None


def _relative(root: Path, path: str) -> str:
    """A resolved data file as a repo path (archives resolve to ``zip://...::path``: keep the repo path)."""
    local = path.rsplit("::", 1)[-1]
    return str(Path(local).resolve().relative_to(root.resolve()))
