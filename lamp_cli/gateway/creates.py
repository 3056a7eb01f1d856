"""Creates that happen exactly once, whatever the network does.

A create (experiment, run, registered model, model version) is not idempotent: when its answer
is lost, sending it again makes a second one. So lamp retries creates itself: after a failure
that leaves open whether the server acted (transport error, timeout, 429, 5xx) it first looks for
what the create would have made, and sends the create again only when nothing is there. A 4xx
answer or a permission error ends the retries at once.

MLflow's own HTTP client must not resend a create behind lamp's back. MLflow 3.18 and later
resend a non-idempotent POST only when the server cannot have acted (connection refused, 408,
429). Earlier versions resend every POST on 5xx answers and read timeouts, so for those lamp
turns MLflow's retries off around each create (:func:`mlflow_resends_unsafe_posts`).
"""

from __future__ import annotations

import contextlib
import os
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from typing import TypeVar

from lamp_cli.errors import Conflict, LampError
from lamp_cli.settings import env_number
from lamp_cli.translate import CONFIGURED_RETRIES

T = TypeVar("T")

MAX_RETRIES = "MLFLOW_HTTP_REQUEST_MAX_RETRIES"


@cache
def mlflow_resends_unsafe_posts() -> bool:
    """True for the MLflow versions (before 3.18) whose client resends a create after a 5xx
    answer or a read timeout, when the server may already have acted on it.

    tests/gateway/test_workarounds.py checks this against what the installed client does.
    """
    version = metadata.version("mlflow-skinny")
    major, minor = (int(part) for part in version.split(".")[:2])
    return (major, minor) < (3, 18)


@dataclass(frozen=True)
class RetryPolicy:
    """lamp's own retries of creates, from the same variables as MLflow's HTTP client."""

    retries: int
    backoff_factor: float
    jitter: float
    timeout: float

    @classmethod
    def from_environment(cls) -> RetryPolicy:
        return cls(
            retries=max(0, int(env_number(MAX_RETRIES, 2))),
            backoff_factor=max(0.0, env_number("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", 1)),
            jitter=max(0.0, env_number("MLFLOW_HTTP_REQUEST_BACKOFF_JITTER", 0.3)),
            timeout=max(0.1, env_number("MLFLOW_HTTP_REQUEST_TIMEOUT", 4)),
        )

    def delay(self, attempt: int) -> float:
        """Seconds to wait before attempt ``attempt`` (1, 2, ...): exponential, with jitter."""
        return float(self.backoff_factor * 2.0 ** (attempt - 1) + random.random() * self.jitter)

    @property
    def budget(self) -> float:
        """How long one create may take with its retries: what one read takes with MLflow's."""
        waits = sum(self.backoff_factor * 2.0 ** (n - 1) + self.jitter for n in range(self.retries))
        return float((self.retries + 1) * self.timeout + waits)


@contextlib.contextmanager
def _no_resends() -> Iterator[None]:
    if not mlflow_resends_unsafe_posts():
        yield
        return
    # MLflow reads the variable on every request, so this covers exactly the calls inside.
    before = os.environ.get(MAX_RETRIES)
    os.environ[MAX_RETRIES] = "0"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(MAX_RETRIES, None)
        else:
            os.environ[MAX_RETRIES] = before


def exactly_once(send: Callable[[], T], find: Callable[[], T | None]) -> T:
    """``send()`` a create, retrying it without ever doubling it.

    ``find`` returns what this create made, or None; it is asked after every failure that
    leaves open whether the server acted, and after a conflict that follows one (the lost first
    attempt took the name). Both raise lamp's errors.
    """
    policy = RetryPolicy.from_environment()
    # Every attempt is lamp's: a time-out's message counts them all, not MLflow's one.
    counted = CONFIGURED_RETRIES.set(str(policy.retries))
    try:
        return _exactly_once(send, find, policy)
    finally:
        CONFIGURED_RETRIES.reset(counted)


def _exactly_once(send: Callable[[], T], find: Callable[[], T | None], policy: RetryPolicy) -> T:
    deadline = time.monotonic() + policy.budget
    pending = False  # a create may have reached the server
    error: LampError | None = None
    for attempt in range(policy.retries + 1):
        if attempt:
            time.sleep(policy.delay(attempt))
        try:
            with _no_resends():
                if pending and (found := find()) is not None:
                    return found
                return send()
        except Conflict:
            if pending:
                with _no_resends():
                    if (found := find()) is not None:
                        return found
            raise
        except LampError as err:
            if not err.retryable:
                raise
            error, pending = err, True
        if time.monotonic() >= deadline:
            break
    # The last attempt may have reached the server too.
    with contextlib.suppress(LampError), _no_resends():
        if (found := find()) is not None:
            return found
    assert error is not None
    raise error
