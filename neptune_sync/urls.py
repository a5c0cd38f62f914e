"""Addresses of objects in the store's web app (served at ``/`` of the store).

The app routes in the URL fragment, so the path after ``#`` is this module's contract with
``web/src/url-state.ts``: ``#/p/<project>/run/<run id>``, each segment percent-encoded.
Stdlib only: the training import path uses it.
"""

from __future__ import annotations

from urllib.parse import quote


def run_url(address: str, project: str, run_id: str) -> str:
    """The app's page of a run (or of a model / project object, which the store keeps as runs)."""
    return f"{address.rstrip('/')}/#/p/{quote(project, safe='')}/run/{quote(run_id, safe='')}"
