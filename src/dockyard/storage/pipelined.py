"""Writing a request body to storage while it is still arriving.

Both stores receive uploads as an async stream of small pieces (~64 KiB from the server) and write
large blocks on a worker thread. One block is written while the next is received, never more, so
memory stays at about two blocks per upload whatever the file size.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

from dockyard.errors import BadRequestError, PayloadTooLargeError


async def write_pipelined(
    chunks: AsyncIterator[bytes], write: Callable[[bytes], None], is_full: Callable[[int], bool]
) -> tuple[int, bytes]:
    """Hand ``write`` each block for which ``is_full(len(block))`` holds, on a worker thread.

    Returns the bytes written and the tail that never filled a block (the caller writes or
    finishes with it). Never returns, not even on an error, while a write is still running, so
    the caller may close or abort what it writes to.
    """
    loop = asyncio.get_running_loop()
    pending: asyncio.Future[None] | None = None
    buffer = bytearray()
    written = 0
    try:
        async for chunk in chunks:
            buffer += chunk
            if is_full(len(buffer)):
                if pending is not None:
                    await pending
                pending = loop.run_in_executor(None, write, bytes(buffer))
                written += len(buffer)
                buffer.clear()
        if pending is not None:
            await pending
    finally:
        if pending is not None and not pending.done():
            await asyncio.wait([pending])
    return written, bytes(buffer)


async def exactly(chunks: AsyncIterator[bytes], size: int) -> AsyncIterator[bytes]:
    """``chunks``, refused unless they add up to exactly ``size`` bytes.

    A multipart upload's parts are written at fixed offsets: a part longer than announced would
    overlap the next one, a shorter one would leave a hole. The overflowing piece is never passed
    on, so nothing is written past the part's end (413); a short part fails once the stream ends (400).
    """
    received = 0
    async for chunk in chunks:
        received += len(chunk)
        if received > size:
            raise PayloadTooLargeError(f"Body is longer than the announced {size} bytes")
        yield chunk
    if received != size:
        raise BadRequestError(f"Body has {received} bytes, {size} were announced")
