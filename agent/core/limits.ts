/**
 * Upper bounds of durations. Node's timers hold at most 2^31-1 ms (24.8 days) and fire at once
 * beyond it; well below that, a value this large is a typo (600h for 600s), not a wish.
 */
export const MAX_INTERVAL_MS = 24 * 3_600_000;
export const MAX_TIMEOUT_MS = 10 * 60_000;
