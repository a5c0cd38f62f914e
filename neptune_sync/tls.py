"""How clients (the read client, the daemon) verify a store's TLS certificate.

In order: the CA a token carries (``server token create --ca-file``: a private CA travels with
the token), else the CA file in ``$NEPTUNE_SYNC_CA_FILE`` (or one a caller passes from its
configuration), else the system's CAs. Verification is never turned off.

Stdlib only: the training import path uses it.
"""

from __future__ import annotations

import os
import ssl

from .exceptions import NeptuneUserError
from .wire.token import SECRET_PREFIX, parse_token

CA_FILE_ENV = "NEPTUNE_SYNC_CA_FILE"


def client_context(token: str = "", ca_file: str | None = None) -> ssl.SSLContext:
    """An SSL context verifying the store's certificate and host name."""
    ca = None if not token or token.strip().startswith(SECRET_PREFIX) else parse_token(token).ca
    if ca:
        try:
            return ssl.create_default_context(cadata=ca)
        except ssl.SSLError as exc:
            raise NeptuneUserError(f"the CA certificate in the API token is not valid PEM: {exc}") from None
    path = ca_file or os.environ.get(CA_FILE_ENV)
    if path:
        try:
            return ssl.create_default_context(cafile=path)
        except (OSError, ssl.SSLError) as exc:
            raise NeptuneUserError(f"cannot load the CA file {path!r}: {exc}") from None
    return ssl.create_default_context()
