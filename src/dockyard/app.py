"""The composition root: settings in, a wired Hub and ASGI application out."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import ModuleType

from fastapi import FastAPI
from starlette.routing import BaseRoute

from dockyard.api import (
    admin,
    bucket_events,
    bucket_files,
    buckets,
    collections,
    commit,
    discussions,
    gating,
    health,
    identity,
    info,
    lfs,
    lfs_files,
    likes,
    parquet,
    quotas,
    refs,
    repos,
    resolve,
    tree,
    usage,
    viewer,
    webhooks,
    xet,
)
from dockyard.api.errors import install_error_handlers
from dockyard.api.hot_routes import HotRouteGroup, HotRoutesMiddleware
from dockyard.buckets import jobs as buckets_jobs
from dockyard.db.database import Database
from dockyard.db.server_state import get_signing_keys
from dockyard.errors import DockyardError
from dockyard.front_door import FrontDoorMiddleware
from dockyard.git_http import routes as git_http
from dockyard.hub import Hub
from dockyard.jobs.registry import JOBS, JobRegistry
from dockyard.jobs.worker import Worker
from dockyard.maintenance import jobs as maintenance_jobs
from dockyard.repos import jobs as repos_jobs
from dockyard.repos.downloads import DownloadCounter
from dockyard.repos.git_storage import GitStorage
from dockyard.scanning import jobs as scanning_jobs
from dockyard.settings import Settings
from dockyard.signing import Signer
from dockyard.storage.factory import open_blob_store
from dockyard.viewer import jobs as viewer_jobs
from dockyard.web.router import install_web
from dockyard.web.security import page_headers, storage_origin
from dockyard.webhooks import jobs as webhooks_jobs

log = logging.getLogger(__name__)

# Every domain that declares background jobs; each registers its own (``register(registry)``).
DOMAINS = (repos_jobs, scanning_jobs, maintenance_jobs, webhooks_jobs, buckets_jobs, viewer_jobs)


def register_domains(registry: JobRegistry) -> None:
    for domain in DOMAINS:
        domain.register(registry)


def build_hub(settings: Settings) -> Hub:
    """Engines and clients for one process (API server, worker or CLI), with every domain's jobs
    registered. The database must already be migrated."""
    register_domains(JOBS)
    data_dir = settings.resolved_data_dir()
    data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.resolved_database_url())
    keys = settings.signing_keys() or get_signing_keys(db)
    return Hub(
        settings=settings,
        db=db,
        git=GitStorage(settings.resolved_repos_dir(), stale_lock_after=settings.ref_lock_stale_seconds),
        blobs=open_blob_store(settings.resolved_storage_url()),
        signer=Signer(keys),
    )


def _presigned_origin(hub: Hub) -> str | None:
    """Where presigned blob URLs point (S3), for the pages' Content-Security-Policy. Signing a
    URL makes no request; a store that cannot sign (no credentials yet) just adds no origin."""
    try:
        return storage_origin(hub.blobs.presigned_get_url("csp-origin-probe", filename=None, expires_in=60))
    except DockyardError:
        return None


def _routes_before(app: FastAPI, routers: tuple[ModuleType, ...], module: ModuleType) -> list[BaseRoute]:
    """The routes the router tries before ``module``'s: FastAPI's own (its docs, added first) and
    those of the modules included before it. FastAPI keeps an included router as one entry
    without a path pattern, so each module's own routes are listed instead (a nested router among
    them has no pattern either, and is then taken to shadow every path: safe, only slower)."""
    own = [route for route in app.router.routes if not hasattr(route, "original_router")]
    included = [route for earlier in routers[: routers.index(module)] for route in earlier.router.routes]
    return own + included


def freeze_startup_objects() -> None:
    """Move everything alive at start-up (routes, models, templates, the libraries' modules:
    ~200,000 objects) out of the garbage collector's reach. A full collection walks every tracked
    object: ~130 ms on this 2-core machine, a pause every request in flight waits for and the
    tail of HEAD /resolve latency. These objects live as long as the process anyway; what
    requests allocate is still collected as before."""
    gc.collect()
    gc.freeze()


def create_app(settings: Settings, *, hub: Hub | None = None) -> FastAPI:
    hub = hub or build_hub(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.jobs == "inprocess":
            hub.worker = Worker(hub)
            hub.worker.start_thread()
        hub.downloads = DownloadCounter(hub.db)
        hub.downloads.start()
        freeze_startup_objects()
        try:
            yield
        finally:
            gc.unfreeze()  # an app stopped in a longer-lived process (tests) is collectable again
            hub.downloads.stop()
            if hub.worker is not None:
                hub.worker.stop()
            hub.db.dispose()

    telemetry = settings.opentelemetry
    app = FastAPI(
        title="Dockyard",
        lifespan=lifespan,
        docs_url="/api/docs",
        openapi_url="/api/openapi.json",
        telemetry={"tracing": telemetry, "metrics": telemetry, "logs": telemetry},
    )
    app.state.hub = hub
    install_error_handlers(app)
    # Order matters: specific repo routes before the catch-all info route of each type.
    # git smart HTTP and /resolve first: they are the hot paths, and their literal segments
    # ("/info/refs", "/git-*-pack", "/resolve/") cannot be confused with an /api route; then the
    # specific repo routes before the `{repo_id:repo}` catch-all of `info`.
    routers = (
        git_http,
        resolve,
        health,
        identity,
        admin,
        quotas,
        repos,
        gating,
        likes,
        refs,
        commit,
        tree,
        lfs,
        lfs_files,
        xet,
        usage,
        collections,
        discussions,
        webhooks,
        bucket_events,
        buckets,
        bucket_files,
        parquet,
        viewer,
        info,
    )
    for module in routers:
        app.include_router(module.router)
    install_web(app)  # the pages last: their /{namespace}/{name} routes would shadow nothing above
    # Innermost: HEAD/GET /resolve and repo info go straight to their endpoint (the router's scan
    # cost a third of a HEAD); repo info only where no route the router tries first takes the path.
    hot_groups = (
        HotRouteGroup(resolve.router.routes, marker="/resolve/"),
        HotRouteGroup(info.HOT_ROUTES, marker="/api/", shadowing=_routes_before(app, routers, info)),
    )
    app.add_middleware(HotRoutesMiddleware, groups=hot_groups, handlers=app.exception_handlers)
    app.add_middleware(
        FrontDoorMiddleware, body_limit=settings.max_request_body, page_headers=page_headers(_presigned_origin(hub))
    )
    return app
