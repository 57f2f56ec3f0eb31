//! Two independent trainings at once. One small model's ops keep only about 1.1–1.3 of the
//! two CPU cores busy, so a second training in another thread fills the gap; each run stays
//! deterministic on its own (its seed, its batches, its weights drawn under the seed lock).

use indicatif::MultiProgress;

/// Runs `a` on a scoped thread and `b` on this one and returns both results; a panic in
/// either is re-raised here. Both get the same [`MultiProgress`], so their bars share the
/// terminal.
pub fn side_by_side<A: Send, B>(
    bars: &MultiProgress,
    a: impl FnOnce(&MultiProgress) -> A + Send,
    b: impl FnOnce(&MultiProgress) -> B,
) -> (A, B) {
    std::thread::scope(|s| {
        let first = s.spawn(|| a(bars));
        let second = b(bars);
        let first = first
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (first, second)
    })
}
