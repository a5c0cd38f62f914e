"""The store's HTTP errors are part of the one error hierarchy rooted at NeptuneSyncError."""

from __future__ import annotations

import inspect

from neptune_sync import exceptions as client
from neptune_sync_store import errors


def test_every_http_error_of_the_store_is_a_store_error_with_a_status_and_a_code():
    classes = [c for _, c in inspect.getmembers(errors, inspect.isclass) if c.__module__ == errors.__name__]
    assert classes
    for cls in classes:
        assert issubclass(cls, client.StoreError) and issubclass(cls, client.NeptuneSyncError), cls
        assert 400 <= cls.status < 600 and cls.code, cls


def test_the_stores_auth_errors_are_what_the_client_catches():
    assert issubclass(errors.Unauthorized, client.Unauthorized) and errors.Unauthorized.status == 401
    assert issubclass(errors.Forbidden, client.Forbidden) and errors.Forbidden.status == 403
