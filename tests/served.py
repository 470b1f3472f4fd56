"""The `served` fixture: the test's app behind a real waitress server on a free loopback port."""
from __future__ import annotations

import threading

import pytest
import waitress

from conftest import free_port


@pytest.fixture
def served(app):
    """The app's URL; loopback trust is off, so plugin jobs and scripts must send their keys."""
    port = free_port()
    app.settings["trust_loopback"] = False
    app.settings["web_root"] = f"http://127.0.0.1:{port}"
    app.api.auth.trust_loopback = False
    server = waitress.create_server(app.wsgi, host="127.0.0.1", port=port, threads=4)

    def run():
        try:
            server.run()
        except OSError:
            pass  # close() below pulls the socket from under the select loop: that is how it stops

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.close()
    thread.join(5)
