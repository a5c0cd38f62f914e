"""The read client turns an answer that is not the protocol's into ProtocolError, naming the route."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from neptune_sync.exceptions import ProtocolError, StoreError
from neptune_sync.store_client import StoreClient


class _Proxy(BaseHTTPRequestHandler):
    """What a captive proxy or a web server in the store's place answers: 200 with an HTML page."""

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        body = b"<html><body>Please sign in to the network</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def proxy_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Proxy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_an_html_page_instead_of_json_is_a_protocol_error_naming_the_route(proxy_url):
    client = StoreClient(proxy_url, "nss_secret", timeout=10)
    with pytest.raises(ProtocolError, match=r"unexpected response from /v1/run/structure") as caught:
        client.structure("team/proj", "RUN-1")
    assert isinstance(caught.value, StoreError)
