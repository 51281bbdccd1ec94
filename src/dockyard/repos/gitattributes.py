"""The ``.gitattributes`` the Hub writes into every new repository."""

from __future__ import annotations

from dockyard.identifiers import RepoType

_COMMON = [
    "*.7z",
    "*.arrow",
    "*.bin",
    "*.bz2",
    "*.ckpt",
    "*.ftz",
    "*.gz",
    "*.h5",
    "*.joblib",
    "*.lfs.*",
    "*.mlmodel",
    "*.model",
    "*.msgpack",
    "*.npy",
    "*.npz",
    "*.onnx",
    "*.ot",
    "*.parquet",
    "*.pb",
    "*.pickle",
    "*.pkl",
    "*.pt",
    "*.pth",
    "*.rar",
    "*.safetensors",
    "saved_model/**/*",
    "*.tar.*",
    "*.tar",
    "*.tflite",
    "*.tgz",
    "*.wasm",
    "*.xz",
    "*.zip",
    "*.zst",
    "*tfevents*",
]
_DATASET_EXTRA = [
    "*.lz4",
    "*.mds",
    # Audio, image and video files
    "*.pcm",
    "*.sam",
    "*.raw",
    "*.aac",
    "*.flac",
    "*.mp3",
    "*.ogg",
    "*.wav",
    "*.bmp",
    "*.gif",
    "*.png",
    "*.tiff",
    "*.jpg",
    "*.jpeg",
    "*.webp",
    "*.mp4",
    "*.webm",
]
_RULE = " filter=lfs diff=lfs merge=lfs -text\n"


def default_gitattributes(repo_type: RepoType) -> bytes:
    patterns = _COMMON + (_DATASET_EXTRA if repo_type is RepoType.DATASET else [])
    return "".join(pattern + _RULE for pattern in patterns).encode()
