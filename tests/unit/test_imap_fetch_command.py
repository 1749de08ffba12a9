"""The IMAP edge's FETCH command keeps aioimaplib's rule for "this FETCH response goes on",
line by line instead of rescanning the answer at each line: compared with the library's own
check after every line of generated answers, literals and unbalanced parentheses included."""

from __future__ import annotations

import asyncio

import aioimaplib
from hypothesis import given, settings
from hypothesis import strategies as st

from mailbot.edges.imap import _FetchCommand

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
