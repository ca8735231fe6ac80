import asyncio

from mlatlas.async_patterns import nested_run_error

# Calling asyncio.run() from code that already runs inside an event loop:
print("RuntimeError:", nested_run_error())


# The fix that needs no patch: the caller is async already, so await the coroutine.
async def answer() -> int:
    await asyncio.sleep(0)
    return 42


async def cell() -> None:  # what a notebook cell with a top-level await amounts to
    print("awaited instead:", await answer())


asyncio.run(cell())
