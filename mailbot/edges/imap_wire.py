"""What of aioimaplib's reading of server answers the IMAP edge replaces, and why.

aioimaplib 2.0.3 reads the lines of an answer with one recursive call per line, each cutting
the rest of the data received into a new bytes object (`data.partition`), and checks after
every line of a FETCH answer whether it goes on by scanning all its lines so far. Over a
batch of header blocks that is quadratic three times over, and above ~1,000 lines in one read
the recursion kills the connection (upstream issue #118). Here:
- `Protocol` reads the same lines in the same order with the same calls into the library (its
  line handler, its commands' literal bookkeeping, its `IncompleteRead` for a line or literal
  cut by the network), in a loop over positions in the data it received: no copy but each
  line's, no recursion;
- `FetchCommand` keeps the library's "this FETCH answer goes on" rule line by line;
- `Client` is aioimaplib's `IMAP4`, built with `Protocol`.
Tests hold both equal to the library's own on generated answers cut at every point.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import aioimaplib
from aioimaplib.aioimaplib import IncompleteRead, literal_data_re

_CRLF = b"\r\n"


class FetchCommand(aioimaplib.FetchCommand):
    """UID FETCH whose "is this FETCH response still open?" check is kept up to date line by
    line: aioimaplib's own rescans every line of the answer so far at each line (quadratic in
    the batch: about 12,000 regex matches a 100-message batch), and resets a timer per line.
    Same rule: the parentheses of the `bytes` lines since the last "n FETCH (" line balance
    (literals, appended as `bytearray`, do not count). No timer: the edge bounds the whole
    command."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._depth = 0

    def append_to_resp(self, line: bytes, result: str = "Pending") -> None:
        super().append_to_resp(line, result=result)
        if isinstance(line, bytes):
            depth = line.count(b"(") - line.count(b")")
            fetch = self.FETCH_MESSAGE_DATA_RE.match(line) is not None
            self._depth = depth if fetch else self._depth + depth

    def wait_data(self) -> bool:
        return self._depth != 0


Handler = Callable[[bytes, Any], Any]


class Protocol(aioimaplib.IMAP4ClientProtocol):
    """aioimaplib's protocol, reading answers in a loop (see above)."""

    def _handle_responses(
        self, data: bytes, line_handler: Handler, current_cmd: Any = None
    ) -> None:
        read_lines(self, data, line_handler, current_cmd)


def read_lines(protocol: Any, data: bytes, line_handler: Handler, current_cmd: Any) -> None:
    """aioimaplib's `_handle_responses(data, line_handler, current_cmd)`, unrolled: what its
    recursion does at each line, at position `pos` of `data`."""
    view = memoryview(data)
    size, pos = len(data), 0
    while True:
        if pos >= size:  # all read: a command may still wait for more of its answer
            if protocol.pending_sync_command is not None:
                protocol.pending_sync_command.flush()
            if current_cmd is not None and current_cmd.wait_data():
                raise IncompleteRead(current_cmd)
            return
        if current_cmd is not None and current_cmd.wait_literal_data():
            rest = current_cmd.append_literal_data(view[pos:])  # a view of what it left
            pos = size - len(rest)
            if current_cmd.wait_literal_data():
                raise IncompleteRead(current_cmd)
        end = data.find(_CRLF, pos)
        if end < 0:
            raise IncompleteRead(current_cmd, data[pos:])
        line = data[pos:end]
        pos = end + 2
        cmd = line_handler(line, current_cmd)
        begin_literal = literal_data_re.match(line)
        if begin_literal:
            if cmd is None:
                cmd = aioimaplib.Command("NIL", "unused")
            cmd.begin_literal_data(int(begin_literal.group("size")))
            current_cmd = cmd
        elif cmd is not None and cmd.wait_data():
            current_cmd = cmd
        else:
            current_cmd = None


class Client(aioimaplib.IMAP4):
    """aioimaplib's client on `Protocol`."""

    def create_client(
        self,
        host: str,
        port: int,
        loop: asyncio.AbstractEventLoop | None,
        conn_lost_cb: Callable[[Exception | None], None] | None = None,
        ssl_context: Any = None,
    ) -> None:
        local_loop = loop if loop is not None else asyncio.get_running_loop()
        self.protocol = Protocol(local_loop, conn_lost_cb)
        self._client_task = local_loop.create_task(
            local_loop.create_connection(lambda: self.protocol, host, port, ssl=ssl_context)
        )


__all__ = ["Client", "FetchCommand", "Protocol", "read_lines"]
