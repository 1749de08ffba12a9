"""The IMAP edge's reading of answers (`edges.imap_wire`) is aioimaplib's own, without its
recursion and copies: its FETCH command keeps the library's rule for "this FETCH response
goes on" line by line (compared after every line of generated answers, literals and
unbalanced parentheses included), and its protocol hands the line handler the same lines, in
the same order, as the library's reader, for generated answers cut anywhere."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import aioimaplib
from aioimaplib.aioimaplib import IncompleteRead
from hypothesis import given, settings
from hypothesis import strategies as st

from mailbot.edges.imap_wire import FetchCommand as _FetchCommand
from mailbot.edges.imap_wire import Protocol

_LINE = st.one_of(
    st.builds(
        lambda n, tail: f"{n} FETCH (UID {n} ".encode() + tail,
        st.integers(1, 999),
        st.sampled_from([b"RFC822.SIZE 12)", b"BODY[HEADER] {40}", b"FLAGS (\\Seen", b"("]),
    ),
    st.sampled_from([b")", b" FLAGS (\\Seen))", b"((", b"", b"x) y (", b"* 3 EXISTS"]),
    st.binary(max_size=12).map(bytearray),  # a literal: never counted
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_LINE, max_size=30))
def test_wait_data_is_the_librarys_after_every_line(lines: list[bytes]) -> None:
    async def compare() -> None:
        loop = asyncio.get_running_loop()
        ours = _FetchCommand("A1", "1:*", "(UID)", prefix="UID", loop=loop)
        theirs = aioimaplib.FetchCommand("A1", "1:*", "(UID)", prefix="UID", loop=loop)
        assert ours.wait_data() == theirs.wait_data()
        for line in lines:
            ours.append_to_resp(line)
            theirs.append_to_resp(line)
            assert ours.wait_data() == theirs.wait_data(), lines
        assert ours.response.lines == theirs.response.lines

    asyncio.run(compare())


_ANSWER_PART = st.one_of(
    st.builds(
        lambda n, literal, tail: (
            b"* %d FETCH (UID %d BODY[HEADER] {%d}\r\n" % (n, n, len(literal)) + literal + tail
        ),
        st.integers(1, 99),
        st.binary(max_size=40) | st.sampled_from([b"a)\r\n(b\r\n", b"{3}\r\n", b""]),
        st.sampled_from([b")\r\n", b" FLAGS (\\Seen))\r\n", b"\r\n)\r\n"]),
    ),
    st.sampled_from([b"* 3 EXPUNGE\r\n", b"* 4 FETCH (FLAGS (\\Seen))\r\n", b"* OK (x\r\n"]),
)


def _read(handle: Any, answer: bytes, cuts: list[int]) -> list[Any]:
    """What a reader hands the line handler, and the commands' answers, when `answer` arrives
    cut at `cuts` (as `IMAP4ClientProtocol.data_received` feeds it)."""
    loop = asyncio.new_event_loop()
    seen: list[Any] = []
    made: list[aioimaplib.FetchCommand] = []

    def handler(line: bytes, current: Any) -> Any:
        seen.append((bytes(line), made.index(current) if current in made else None))
        if current is not None:
            current.append_to_resp(line)
            return current
        if b" FETCH " in line:
            made.append(aioimaplib.FetchCommand("A1", "1:*", "(UID)", loop=loop))
            made[-1].append_to_resp(line)
            return made[-1]
        return None

    incomplete, current = b"", None
    points = sorted({0, *cuts, len(answer)})
    for start, end in itertools.pairwise(points):
        try:
            handle(incomplete + answer[start:end], handler, current)
            incomplete, current = b"", None
        except IncompleteRead as cut:
            incomplete, current = cut.data, cut.cmd
    loop.close()
    return [seen, [[bytes(x) for x in c.response.lines] for c in made], incomplete]


@settings(max_examples=300, deadline=None)
@given(st.lists(_ANSWER_PART, max_size=12), st.lists(st.integers(0, 2_000), max_size=8))
def test_answers_are_read_as_the_library_reads_them(parts: list[bytes], cuts: list[int]) -> None:
    answer = b"".join(parts) + b"A1 OK done\r\n"
    loop = asyncio.new_event_loop()
    theirs = aioimaplib.IMAP4ClientProtocol(loop, None)
    ours = Protocol(loop, None)
    assert _read(ours._handle_responses, answer, cuts) == _read(
        theirs._handle_responses, answer, cuts
    )
    loop.close()


def test_a_long_answer_in_one_read_is_read_without_recursion() -> None:
    """Beyond the interpreter's recursion limit, where the library's reader fails."""
    answer = b"".join(b"* %d EXPUNGE\r\n" % n for n in range(5_000)) + b"A1 OK done\r\n"
    [seen, _, rest] = _read(Protocol(asyncio.new_event_loop(), None)._handle_responses, answer, [])
    assert len(seen) == 5_001 and rest == b""
