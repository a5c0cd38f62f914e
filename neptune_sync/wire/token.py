"""Self-describing API tokens, as Neptune's: base64 of a small JSON object carrying the store address.

A token looks like ``base64url({"api_address": "http://host:port", "api_key": "<secret>"})``. Users
set only ``NEPTUNE_API_TOKEN`` and ``NEPTUNE_PROJECT``; the client and the daemon read the store
address from the token. The store keeps only ``sha256(secret)``: the secret is random (256 bits),
so a plain hash is enough and a leaked database yields no usable token.

Stdlib only: the training import path uses it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import secrets
from dataclasses import dataclass

from ..exceptions import AuthError

SECRET_PREFIX = "nss_"


@dataclass(frozen=True)
class ApiToken:
    """A parsed token: where the store is and the secret that authenticates to it."""

    address: str
    secret: str
    ca: str | None = None  # PEM of the CA that signed the store's TLS certificate (a private CA)

    def format(self) -> str:
        """Encode as the string users put into ``NEPTUNE_API_TOKEN``."""
        fields = {"api_address": self.address, "api_url": self.address, "api_key": self.secret}
        if self.ca:
            fields["api_ca"] = self.ca
        body = json.dumps(fields)
        return base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")


def new_secret() -> str:
    """A fresh random secret (256 bits)."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    """The form the store keeps: hex sha256 of the secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_token(token: str) -> ApiToken:
    """Decode a token made by :meth:`ApiToken.format`.

    Raises:
        AuthError: the string is not a neptune-sync token (it names what is wrong, never the token).
    """
    text = token.strip()
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        body = json.loads(raw)
    except (binascii.Error, ValueError):
        raise AuthError(
            "API token is not valid base64 JSON; create one with `neptune-sync server token create`"
        ) from None
    if not isinstance(body, dict):
        raise AuthError("API token does not hold a JSON object")
    address = body.get("api_address") or body.get("api_url")
    secret = body.get("api_key")
    if not isinstance(address, str) or not isinstance(secret, str) or not address or not secret:
        raise AuthError("API token lacks api_address / api_key")
    ca = body.get("api_ca")
    if ca is not None and not isinstance(ca, str):
        raise AuthError("API token's api_ca is not a PEM string")
    return ApiToken(address=address.rstrip("/"), secret=secret, ca=ca or None)


def secret_of(token: str) -> str:
    """The secret a presented token carries; a bare secret (``nss_...``) is accepted as is."""
    if token.startswith(SECRET_PREFIX):
        return token
    return parse_token(token).secret
