"""Test-session setup that must happen before any Hugging Face library is imported.

huggingface_hub reads HF_ENDPOINT and HF_HOME once, at import, so the port of this worker's
Dockyard server is chosen here, before collection imports any test module.
"""

from __future__ import annotations

import os
import socket
import tempfile


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# Every process (each xdist worker included) gets its own port; workers inherit the controller's
# environment, so the value must not be reused from there.
os.environ["DOCKYARD_TEST_PORT"] = str(_free_port())
os.environ["HF_ENDPOINT"] = f"http://127.0.0.1:{os.environ['DOCKYARD_TEST_PORT']}"
os.environ["HF_HOME"] = tempfile.mkdtemp(prefix="dockyard-test-hf-home-")
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"
os.environ["TRANSFORMERS_VERBOSITY"] = "error"
os.environ.pop("HF_TOKEN", None)
os.environ.pop("HF_HUB_OFFLINE", None)

# The shared live server (after the environment above: the fixtures import Dockyard).
from tests.support.live_fixtures import backend, ids, server  # noqa: E402,F401
