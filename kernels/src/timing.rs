//! The one timing loop of the machine probes (FMA peak, triad bandwidth): calibrate a chunk of
//! work long enough for the timer, then keep the best rate over about `seconds` of wall time
//! (a shared host only ever slows a sample down, so the best chunk is the machine's figure).

/// Runs `work(n)` with `n` doubling from `n0` until one call lasts more than `min_chunk`
/// seconds (or `n` passes `max_n`), then repeats that chunk for about `seconds` (at least once)
/// and returns the best `units_per_n * n / seconds / 1e9` seen.
pub(crate) fn best_rate<E>(
    seconds: f64,
    min_chunk: f64,
    (n0, max_n): (usize, usize),
    units_per_n: f64,
    mut work: impl FnMut(usize) -> Result<(), E>,
) -> Result<f64, E> {
    let mut n = n0;
    loop {
        let t = std::time::Instant::now();
        work(n)?;
        if t.elapsed().as_secs_f64() > min_chunk || n > max_n {
            break;
        }
        n *= 2;
    }
    let start = std::time::Instant::now();
    let mut best = 0.0f64;
    while best == 0.0 || start.elapsed().as_secs_f64() < seconds {
        let t = std::time::Instant::now();
        work(n)?;
        let dt = t.elapsed().as_secs_f64().max(1e-9);
        best = best.max(units_per_n * n as f64 / dt / 1e9);
    }
    Ok(best)
}
