"""The app's entry point, as the serving template writes it: `uvicorn src.main:app`."""

from src._core.server import create_app

app = create_app()
