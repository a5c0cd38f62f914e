"""Addresses of objects in the store's web app (served at ``/`` of the store).

The app routes in the URL fragment, so the path after ``#`` is this module's contract with
``web/src/url-state.ts``: ``#/p/<project>/run/<run id>`` and ``#/p/<project>/runs``, each
segment percent-encoded.
Stdlib only: the training import path uses it.
"""

from __future__ import annotations

from urllib.parse import quote


def project_url(address: str, project: str) -> str:
    """The app's page of a project: its runs table."""
    return f"{address.rstrip('/')}/#/p/{quote(project, safe='')}/runs"


def run_url(address: str, project: str, run_id: str) -> str:
    """The app's page of a run (or of a model or model version, which the store keeps as runs)."""
    return f"{address.rstrip('/')}/#/p/{quote(project, safe='')}/run/{quote(run_id, safe='')}"
