"""``${VAR}`` and ``${VAR:-default}`` in spec values, resolved from the environment.

Substitution happens per scalar after YAML parsing, so a variable can never inject YAML structure;
an unquoted scalar is typed again after substitution (``port: ${PORT:-8000}`` is an integer).
``$${`` writes a literal ``${``.

A spec is logged to MLflow and read by everyone who reads the registry, so a credential variable
(:func:`lamp_cli.secrets.is_credential_variable`) is never expanded, with or without a default:
the problem names the variable, never its value. A project allows a name caught by mistake with
``interpolate-allow`` under ``[tool.lamp]``.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from lamp_cli.secrets import is_credential_variable

_TOKEN_RE = re.compile(r"\$\$\{|\$\{([^}]*)\}|\$\{")
_BODY_RE = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>.*))?$", re.DOTALL)


@dataclass(frozen=True)
class Variables:
    """What ``${VAR}`` may read: the environment, and the credential-looking names allowed."""

    environ: Mapping[str, str]
    allow: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def of(cls, environ: Mapping[str, str], allow: Collection[str] = ()) -> Variables:
        return cls(environ, frozenset(allow))


def interpolate(
    text: str, environ: Mapping[str, str], allow: Collection[str] = ()
) -> tuple[str, list[str]]:
    """Return ``text`` with variables replaced, and a message per variable that cannot be."""
    if "${" not in text:
        return text, []
    errors: list[str] = []

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "$${":
            return "${"
        body = match.group(1)
        if body is None:
            errors.append("unclosed '${': write ${VAR} or ${VAR:-default} (or $${ for a literal)")
            return token
        parsed = _BODY_RE.match(body)
        if parsed is None:
            errors.append(f"malformed {token!r}: write ${{VAR}} or ${{VAR:-default}}")
            return token
        name, default = parsed["name"], parsed["default"]
        if name not in allow and is_credential_variable(name):
            errors.append(
                f"${{{name}}} names a credential variable, which lamp never writes into a spec "
                "(the spec is logged to MLflow): declare the secret in spec.requiredSecrets and "
                f"supply it with a secretRef, or, if {name} holds no secret, list it in "
                "interpolate-allow under [tool.lamp]"
            )
            return token
        value = environ.get(name)
        if default is not None:
            # Shell semantics: ":-" also replaces a variable that is set but empty.
            return value if value else default
        if value is None:
            errors.append(f"environment variable {name} is not set (write ${{{name}:-default}})")
            return token
        return value

    return _TOKEN_RE.sub(replace, text), errors
