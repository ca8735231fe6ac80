import asyncio

from mlatlas.async_patterns import InFlight, bounded_gather


async def fetch(i: int, tracker: InFlight) -> str:
    async with tracker:  # counts the requests in flight
        await asyncio.sleep(0.01 * (5 - i % 5))  # later requests finish first
        return f"page-{i}"


tracker = InFlight()
jobs = [lambda i=i: fetch(i, tracker) for i in range(12)]
results = asyncio.run(bounded_gather(jobs, limit=3))
print("results in input order:", results[:4], "...")
print(f"{tracker.entered} requests, at most {tracker.peak} in flight at once")
