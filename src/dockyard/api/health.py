"""Liveness (/healthz: the process answers) and readiness (/readyz: its database and storage do)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from starlette.responses import JSONResponse

from dockyard.api.deps import hub_of
from dockyard.errors import DockyardError

router = APIRouter()
PROBE_KEY = "health/probe"


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    hub = hub_of(request)
    checks: dict[str, str] = {}
    try:
        with hub.db.read() as session:
            session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except SQLAlchemyError as error:
        checks["database"] = f"error: {type(error).__name__}"
    try:
        hub.blobs.put_bytes(PROBE_KEY, b"ok")
        checks["storage"] = "ok" if hub.blobs.read_range(PROBE_KEY, 0, 1) == b"ok" else "error: read back differs"
    except (DockyardError, OSError) as error:
        checks["storage"] = f"error: {type(error).__name__}"
    ready = all(value == "ok" for value in checks.values())
    return JSONResponse({"status": "ok" if ready else "unavailable", **checks}, status_code=200 if ready else 503)
