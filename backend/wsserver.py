"""daphne as compose.yaml and `make run` start it, but answering a frame over the cap with 1009.

`python -m backend.wsserver <daphne's arguments>`. daphne leaves autobahn's `failByDrop` on, so a
frame over `--websocket-max-message-size` (or any protocol error) dropped the TCP connection with
no close frame: the client saw 1006, "network down", and sent the same frame again after every
reconnect. With it off, autobahn sends the close frame first (1009 "message too big") and closes
the connection once the client answers it or after its close-handshake timeout.
"""

from __future__ import annotations

from daphne import server
from daphne.cli import CommandLineInterface
from daphne.ws_protocol import WebSocketFactory


class ClosingWebSocketFactory(WebSocketFactory):
    def resetProtocolOptions(self) -> None:
        super().resetProtocolOptions()
        self.failByDrop = False


def main() -> None:
    # daphne's Server builds its factory by this module-level name when it starts.
    server.WebSocketFactory = ClosingWebSocketFactory
    CommandLineInterface.entrypoint()


if __name__ == "__main__":
    main()
