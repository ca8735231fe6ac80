import asyncio
import time

from mlatlas.async_patterns import tick_while

# A heartbeat ticks every 10 ms while time.sleep(0.2) stands in for a blocking call.
for in_thread in (False, True):
    beat = asyncio.run(tick_while(time.sleep, 0.2, in_thread=in_thread, interval=0.01))
    where = "asyncio.to_thread(...)" if in_thread else "called on the loop   "
    print(f"{where}  heartbeat ticks during the call: {beat.ticks}")
