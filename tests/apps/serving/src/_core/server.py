"""The app factory. Its lifespan must never run when lamp reads the API."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from lamp_test_extra import MODEL_NAME, MODEL_VERSION
from src.routers import health, predict


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    raise RuntimeError("the lifespan ran: lamp must only import the app")
    yield


def create_app() -> FastAPI:
    app = FastAPI(title=MODEL_NAME, version=MODEL_VERSION, lifespan=lifespan)
    app.include_router(health.router)
    app.include_router(predict.router)
    return app
