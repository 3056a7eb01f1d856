"""Identities of the stand-in workspace: a PAT user, a service principal and the tokens it gets.

What the Databricks SDK (0.162) asks of a workspace to authenticate, read from its source:
`/.well-known/databricks-config` on every `Config()` (config.py `_resolve_host_metadata`), whose
`oidc_endpoint` yields the discovery URL `<oidc_endpoint>/.well-known/oauth-authorization-server`;
its `token_endpoint` takes `client_credentials` with the secret in HTTP basic auth and
`scope=all-apis` (credentials_provider.py `oauth_service_principal`, oauth.py `retrieve_token`),
or, for `github-oidc`, an RFC 8693 exchange of the ID token GitHub Actions hands out at
`$ACTIONS_ID_TOKEN_REQUEST_URL&audience=<token endpoint>` (oidc_token_supplier.py).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
import uuid

from standin_files import ApiError

WORKSPACE_ID = "1234567890123456"
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
JWT_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:jwt"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def token_hash(token: str) -> str:
    """What the request log keeps of a token: enough to tell tokens apart, nothing to reuse."""
    return hashlib.sha256(token.encode()).hexdigest()[:16]


class Identities:
    def __init__(self) -> None:
        self.url = ""  # the workspace URL, once the server listens
        self.pat = "dapi" + secrets.token_hex(16)
        self.user = "ci@example.com"
        self.client_id = str(uuid.uuid4())
        self.client_secret = "dose" + secrets.token_hex(16)
        self.sp_name = "lamp-ci"
        self.github_request_token = secrets.token_urlsafe(24)
        self.github_subject = "repo:example/lamp:ref:refs/heads/main"
        self.token_ttl = 3600
        self._key = secrets.token_bytes(32)
        self._tokens: dict[str, tuple[str, float]] = {}  # access token -> (user, expiry)
        self._lock = threading.Lock()

    def issued(self) -> list[str]:
        with self._lock:
            return list(self._tokens)

    def authenticate(self, authorization: str | None) -> str:
        """The user behind a bearer token, or 401 UNAUTHENTICATED."""
        if not authorization or not authorization.startswith("Bearer "):
            raise ApiError(
                401,
                "UNAUTHENTICATED",
                "Credential was not sent or was of an unsupported type for this API.",
            )
        token = authorization[len("Bearer ") :]
        if hmac.compare_digest(token, self.pat):
            return self.user
        with self._lock:
            user, expiry = self._tokens.get(token, (None, 0.0))
        if user is None or time.time() > expiry:
            raise ApiError(401, "UNAUTHENTICATED", "Invalid access token.")
        return user

    def me(self, user: str) -> dict:
        """SCIM `Me`: a service principal's userName is its application (client) id."""
        if user == self.client_id:
            return {
                "id": "7000000000000002",
                "userName": self.client_id,
                "displayName": self.sp_name,
                "active": True,
            }
        return {
            "id": "7000000000000001",
            "userName": self.user,
            "displayName": "CI",
            "active": True,
            "emails": [{"value": self.user, "primary": True, "type": "work"}],
        }

    # -- discovery ------------------------------------------------------------------------------

    def host_metadata(self) -> dict:
        return {"oidc_endpoint": f"{self.url}/oidc", "workspace_id": WORKSPACE_ID, "cloud": "aws"}

    def oidc_discovery(self) -> dict:
        return {
            "issuer": f"{self.url}/oidc",
            "authorization_endpoint": f"{self.url}/oidc/v1/authorize",
            "token_endpoint": f"{self.url}/oidc/v1/token",
            "grant_types_supported": ["client_credentials", TOKEN_EXCHANGE],
            "scopes_supported": ["all-apis"],
        }

    # -- tokens ---------------------------------------------------------------------------------

    def _issue(self, user: str) -> dict:
        token = "eyJ" + secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = (user, time.time() + self.token_ttl)
        return {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": self.token_ttl,
            "scope": "all-apis",
        }

    def token_endpoint(self, form: dict, authorization: str | None) -> tuple[int, dict]:
        """OAuth 2.0 client credentials (M2M) and RFC 8693 token exchange (OIDC federation)."""
        if form.get("scope", "all-apis").split() != ["all-apis"]:
            return 400, {"error": "invalid_scope", "error_description": "Only all-apis is allowed"}
        grant = form.get("grant_type")
        if grant == "client_credentials":
            client_id, secret = form.get("client_id"), form.get("client_secret")
            if authorization and authorization.startswith("Basic "):
                decoded = base64.b64decode(authorization[6:]).decode()
                client_id, _, secret = decoded.partition(":")
            if client_id == self.client_id and hmac.compare_digest(
                secret or "", self.client_secret
            ):
                return 200, self._issue(self.client_id)
            return 401, {
                "error": "invalid_client",
                "error_description": "Client authentication failed",
            }
        if grant == TOKEN_EXCHANGE:
            claims = self._verify_id_token(form.get("subject_token", ""))
            if (
                claims is None
                or form.get("subject_token_type") != JWT_TOKEN_TYPE
                or form.get("client_id") != self.client_id
                or claims.get("aud") not in (f"{self.url}/oidc/v1/token", WORKSPACE_ID)
                or claims.get("sub") != self.github_subject
            ):
                return 400, {
                    "error": "invalid_request",
                    "error_description": "No federation policy matches the subject token",
                }
            return 200, self._issue(self.client_id)
        return 400, {"error": "unsupported_grant_type", "error_description": f"Grant {grant}"}

    # -- GitHub Actions OIDC --------------------------------------------------------------------

    def github_id_token(self, authorization: str | None, audience: str) -> tuple[int, dict]:
        """The runner's ID-token endpoint: HS256 under the stand-in's key in place of GitHub's."""
        if authorization != f"Bearer {self.github_request_token}":
            return 401, {"message": "Bad credentials"}
        now = int(time.time())
        claims = {
            "iss": f"{self.url}/github-actions",
            "sub": self.github_subject,
            "aud": audience,
            "iat": now,
            "exp": now + 300,
            "repository": "example/lamp",
        }
        head = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        body = _b64(json.dumps(claims).encode())
        return 200, {"value": f"{head}.{body}.{self._sign(f'{head}.{body}')}"}

    def _sign(self, message: str) -> str:
        return _b64(hmac.new(self._key, message.encode(), hashlib.sha256).digest())

    def _verify_id_token(self, token: str) -> dict | None:
        try:
            head, body, sig = token.split(".")
            claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        except ValueError:
            return None
        good = hmac.compare_digest(sig, self._sign(f"{head}.{body}"))
        return claims if good and claims.get("exp", 0) > time.time() else None
