"""What lamp knows about credentials: which variables hold them, and the one scrubber.

Two uses. Output: every message, JSON error and ``LAMP_DEBUG`` traceback goes through
:func:`scrub`, which removes URL user-info, ``token=...`` pairs and the value of every secret
variable in the environment. Specs: ``${VAR}`` never expands a credential variable
(:func:`is_credential_variable`) and a spec about to be logged must not contain the value of a
secret variable, whatever path brought it there (:func:`secret_values`).

A *credential variable* is one lamp or the libraries it drives read for authentication
(``DATABRICKS_*``, ``AWS_*``, ``MLFLOW_TRACKING_TOKEN`` ...) or whose name looks secret. A *secret
variable* is one whose value is a secret: its name looks secret, or it is one of the few
credentials named otherwise. Configuration that rides along in those namespaces
(``AWS_REGION=eu-west-1``, ``DATABRICKS_HOST``) is a credential variable, so ``${AWS_REGION}`` is
refused in a spec, but not a secret one, so an ECR host naming the region is not.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Mapping

#: Names an engineer gives to secrets: a plain env value under such a name is refused in a spec,
#: and such a variable's value never reaches lamp's output.
SECRET_NAME_RE = re.compile(r"(?i)(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|CREDENTIAL|PRIVATE_?KEY)")

#: Prefixes of the variables of the clients lamp drives: the Databricks SDK (with its Azure and
#: Google Cloud credential variables), boto3, and the GitHub Actions OIDC token request.
CREDENTIAL_PREFIXES = ("DATABRICKS_", "AWS_", "ARM_", "AZURE_", "GOOGLE_", "ACTIONS_ID_TOKEN_")
#: Credential variables outside those prefixes.
CREDENTIAL_NAMES = frozenset(
    {
        "MLFLOW_TRACKING_TOKEN",
        "MLFLOW_TRACKING_USERNAME",
        "MLFLOW_TRACKING_PASSWORD",
        "MLFLOW_TRACKING_CLIENT_CERT_PATH",
        "MLFLOW_TRACKING_SERVER_CERT_PATH",
        "MLFLOW_TRACKING_AUTH",
        "GITHUB_TOKEN",
        "GH_TOKEN",
        "ACTIONS_RUNTIME_TOKEN",
        "GOOGLE_APPLICATION_CREDENTIALS",
    }
)
#: Secrets whose names do not look secret.
SECRET_NAMES = frozenset({"AWS_ACCESS_KEY_ID", "ARM_CLIENT_SECRET", "DATABRICKS_CLIENT_SECRET"})

#: Values shorter than this are not searched for in spec texts: a four-letter value would match
#: ordinary words. Output is scrubbed of values from :data:`MIN_SCRUBBED` characters on.
MIN_SCANNED = 8
MIN_SCRUBBED = 4

_USERINFO_RE = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]+@")
_TOKEN_PAIR_RE = re.compile(r"(?i)(token|password|secret|authorization)([=:]\s*)([^\s&'\"]+)")


def is_credential_variable(name: str) -> bool:
    """True for a variable that ``${...}`` in a spec must never expand."""
    upper = name.upper()
    return (
        upper.startswith(CREDENTIAL_PREFIXES)
        or upper in CREDENTIAL_NAMES
        or bool(SECRET_NAME_RE.search(name))
    )


def is_secret_variable(name: str) -> bool:
    """True for a variable whose value is a secret (see the module's docstring)."""
    return name.upper() in SECRET_NAMES or bool(SECRET_NAME_RE.search(name))


def secret_values(
    environ: Mapping[str, str] | None = None,
    *,
    allow: Collection[str] = (),
    min_length: int = MIN_SCANNED,
) -> dict[str, str]:
    """The secret variables of ``environ`` (default: the process's) with a value of at least
    ``min_length`` characters, by name; names in ``allow`` left out."""
    env = os.environ if environ is None else environ
    return {
        name: value
        for name, value in env.items()
        if name not in allow and len(value) >= min_length and is_secret_variable(name)
    }


def carried_secrets(
    text: str, environ: Mapping[str, str] | None = None, *, allow: Collection[str] = ()
) -> list[str]:
    """The names of the secret variables whose value occurs in ``text``, sorted."""
    return sorted(
        name for name, value in secret_values(environ, allow=allow).items() if value in text
    )


def strip_userinfo(url: str) -> str:
    """``https://user:token@host/x`` -> ``https://host/x``: for values that are kept (tags)."""
    return _USERINFO_RE.sub(r"\g<scheme>", url)


def redact(text: str) -> str:
    """``text`` with URL user-info and ``token=...`` style pairs masked: for URIs and messages
    that name a server."""
    text = _USERINFO_RE.sub(r"\g<scheme>***@", text)
    return _TOKEN_PAIR_RE.sub(r"\1\2***", text)


def scrub(text: str, environ: Mapping[str, str] | None = None) -> str:
    """:func:`redact`, and the value of every secret variable of the environment masked: what
    every line lamp prints goes through."""
    text = redact(text)
    values = secret_values(environ, min_length=MIN_SCRUBBED).values()
    for value in sorted(values, key=len, reverse=True):
        text = text.replace(value, "***")
    return text
