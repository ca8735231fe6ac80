import asyncio

from mlatlas.async_patterns import count_primes, map_in_processes

limits = [20_000, 30_000, 10_000, 40_000]
counts = asyncio.run(map_in_processes(count_primes, limits, workers=2))
for n, count in zip(limits, counts, strict=True):
    print(f"primes below {n:6,}: {count:5,}")
assert counts == [count_primes(n) for n in limits]
print("same as computed serially in this process")
