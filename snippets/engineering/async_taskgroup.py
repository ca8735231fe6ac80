import asyncio

from mlatlas.async_patterns import gather_in_group

log = []


async def download(name: str, seconds: float) -> str:
    try:
        await asyncio.sleep(seconds)
    except asyncio.CancelledError:
        log.append(f"{name} cancelled")
        raise
    log.append(f"{name} done")
    return name


async def broken() -> str:
    await asyncio.sleep(0.02)
    raise ConnectionError("shard 3 unreachable")


jobs = [
    lambda: download("shard 1", 0.01),
    lambda: download("shard 2", 5),
    broken,
    lambda: download("shard 4", 5),
]
try:
    asyncio.run(gather_in_group(jobs))
except ExceptionGroup as group:
    print("raised:", repr(group.exceptions[0]))
print("\n".join(log))
