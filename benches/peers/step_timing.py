"""The timing loop the step peers (DAE and RBM) share: warm up, then `reps` timed rounds of steps over
consecutive batches of X; the median throughput in examples per second."""
import time


def median_rate(step, X, rows, B, seconds, reps):
    nb = rows // B
    i = 0
    t = time.perf_counter()
    while time.perf_counter() - t < min(0.5, seconds * 0.1):
        step(X[(i % nb) * B:(i % nb + 1) * B]); i += 1
    rates = []
    for _ in range(reps):
        t = time.perf_counter(); n = 0
        while n == 0 or time.perf_counter() - t < seconds / reps:
            step(X[(i % nb) * B:(i % nb + 1) * B]); i += 1; n += B
        rates.append(n / (time.perf_counter() - t))
    rates.sort()
    return rates[len(rates) // 2]
