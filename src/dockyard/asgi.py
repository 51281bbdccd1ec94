"""ASGI entry point for servers started by import string (uvicorn workers, granian)."""

from __future__ import annotations

from dockyard.app import create_app
from dockyard.settings import Settings

app = create_app(Settings())
