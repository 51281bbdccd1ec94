"""Checkpoints in a bucket: a safetensors "checkpoint" saved 5 times, 10% of its tensors changed
between saves, uploaded to a bucket (Xet, ``HfApi.batch_bucket_files``) and, for reference, as
plain LFS uploads of the same files to a model repo (``HF_HUB_DISABLE_XET=1``, ``upload_file``).

    python bench/bucket_checkpoint.py [--size-gib 1] [--tensors 100] [--changed 0.1] [--saves 5] [--keep]
    python bench/bucket_checkpoint.py --size-gib 0.1      # a quick run

Every save goes to its own path (``ckpt/step-N.safetensors``), as a training loop keeps its last
checkpoints; so the logical size grows by the checkpoint's size each save. Stored bytes are what
the server's ``blobs/`` directory grew by (xorbs for the bucket, whole LFS objects for the repo).
Each upload runs in its own client process with a fresh ``HF_HOME`` (no local chunk cache), so the
bucket's dedup comes from the server's answers to global-dedup queries, as on a new training node.
Prints a Markdown table with the command that made it.
"""

from __future__ import annotations

import argparse
import json
import random
import shlex
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import harness
from harness import MIB, settle

NAMESPACE = "bench"


# -- the client, in its own process ------------------------------------------------------------------
def client_main(mode: str, target: str, local: str, path: str) -> None:
    """``bucket``: HfApi.batch_bucket_files (Xet); ``lfs``: upload_file with Xet off. One JSON line."""
    from huggingface_hub import HfApi

    api = HfApi()
    start = time.perf_counter()
    if mode == "bucket":
        api.batch_bucket_files(target, add=[(local, path)])
    else:
        api.upload_file(path_or_fileobj=local, path_in_repo=path, repo_id=target)
    print(json.dumps({"seconds": time.perf_counter() - start}))


# -- the run -------------------------------------------------------------------------------------------
@dataclass
class Save:
    step: int
    size: int
    changed: int
    bucket_seconds: float = 0.0
    bucket_stored: int = 0
    lfs_seconds: float = 0.0
    lfs_stored: int = 0


def blob_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) if root.exists() else 0


def write_saves(workdir: Path, args: argparse.Namespace) -> list[tuple[Path, int]]:
    """Save 0 is fresh; each later save re-randomises ``--changed`` of the previous save's tensors."""
    from xet_dedup import tensor_layout, write_model, write_variant

    size = int(args.size_gib * 1024**3)
    rows, cols = tensor_layout(size, args.tensors)
    count = max(1, round(args.tensors * args.changed))
    rng = random.Random(1234)
    first = workdir / "step-0.safetensors"
    write_model(first, args.tensors, rows, cols, seed=1)
    saves = [(first, 0)]
    for step in range(1, args.saves):
        path = workdir / f"step-{step}.safetensors"
        changed = sorted(rng.sample(range(args.tensors), count))
        write_variant(saves[-1][0], path, args.tensors, rows, cols, changed, seed=100 + step)
        saves.append((path, count))
    return saves


def upload(env: dict[str, str], mode: str, target: str, local: Path, path: str, blobs: Path) -> tuple[float, int]:
    settle()
    before = blob_bytes(blobs)
    out = harness.run([sys.executable, __file__, "--client", mode, target, str(local), path], env=env, timeout=3600)
    seconds = float(json.loads(out.strip().splitlines()[-1])["seconds"])
    time.sleep(0.5)
    return seconds, blob_bytes(blobs) - before


def run(args: argparse.Namespace, workdir: Path) -> list[Save]:
    from huggingface_hub import HfApi
    from tests.support.server import start_server

    files = write_saves(workdir, args)
    data_dir = workdir / "data"
    server = start_server(data_dir, harness.free_port())
    try:
        server.cli("user", "create", NAMESPACE)
        token = server.cli("token", "create", NAMESPACE, "--role", "write").stdout.strip().splitlines()[-1]
        api = HfApi(endpoint=server.url, token=token)
        bucket, repo = f"{NAMESPACE}/checkpoints", f"{NAMESPACE}/checkpoints-lfs"
        api.create_bucket(bucket)
        api.create_repo(repo)
        saves = []
        for step, (local, changed) in enumerate(files):
            save = Save(step, local.stat().st_size, changed)
            name = f"ckpt/step-{step}.safetensors"
            home = workdir / f"home-{step}"
            xet_env = harness.client_env(server.url, token, home / "xet")
            save.bucket_seconds, save.bucket_stored = upload(xet_env, "bucket", bucket, local, name, data_dir / "blobs")
            lfs_env = harness.client_env(server.url, token, home / "lfs", xet=False)
            save.lfs_seconds, save.lfs_stored = upload(lfs_env, "lfs", repo, local, name, data_dir / "blobs")
            print(
                f"save {step}: bucket {save.bucket_seconds:.1f} s +{save.bucket_stored / MIB:.1f} MiB, "
                f"LFS {save.lfs_seconds:.1f} s +{save.lfs_stored / MIB:.1f} MiB",
                file=sys.stderr,
            )
            saves.append(save)
        info = api.bucket_info(bucket)
        if info.total_files != len(saves) or info.size != sum(s.size for s in saves):
            raise RuntimeError(f"bucket holds {info.total_files} files, {info.size} B: not every save landed")
        return saves
    finally:
        server.stop()


def report(saves: list[Save], command: str) -> str:
    logical = sum(s.size for s in saves)
    bucket_stored, lfs_stored = sum(s.bucket_stored for s in saves), sum(s.lfs_stored for s in saves)
    lines = [
        f"`{command}`",
        "",
        "| save | tensors changed | logical MiB | bucket (Xet) stored MiB | bucket s | LFS stored MiB | LFS s |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for s in saves:
        lines.append(
            f"| {s.step} | {s.changed} | {s.size / MIB:.1f} | {s.bucket_stored / MIB:.1f} "
            f"({s.bucket_stored / s.size:.0%}) | {s.bucket_seconds:.1f} | {s.lfs_stored / MIB:.1f} "
            f"| {s.lfs_seconds:.1f} |"
        )
    lines.append(
        f"| all | | {logical / MIB:.1f} | {bucket_stored / MIB:.1f} ({bucket_stored / logical:.0%}) | "
        f"{sum(s.bucket_seconds for s in saves):.1f} | {lfs_stored / MIB:.1f} ({lfs_stored / logical:.0%}) | "
        f"{sum(s.lfs_seconds for s in saves):.1f} |"
    )
    return "\n".join(lines)


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--client":
        client_main(*sys.argv[2:6])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-gib", type=float, default=1.0, help="checkpoint size (default 1)")
    parser.add_argument("--tensors", type=int, default=100, help="float32 tensors per checkpoint")
    parser.add_argument("--changed", type=float, default=0.1, help="fraction of tensors changed per save")
    parser.add_argument("--saves", type=int, default=5, help="how many times the checkpoint is saved")
    harness.add_workdir_args(parser)
    args = parser.parse_args()
    harness.use_this_checkout()
    workdir = harness.make_workdir(args.workdir, "bucket-checkpoint-")
    try:
        if not harness.has_free_disk(workdir, int(args.size_gib * 1024**3 * args.saves * 3.5)):
            return 2
        saves = run(args, workdir)
        command = "python bench/bucket_checkpoint.py " + shlex.join(sys.argv[1:])
        harness.publish_report(report(saves, command.strip()), args.output)
    finally:
        harness.drop_workdir(workdir, args.keep)
    return 0


if __name__ == "__main__":
    sys.exit(main())
