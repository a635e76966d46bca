/** A cumulative bucket: observations `<= le`; the last has `le: Infinity`. */
export interface CumulativeBucket {
  readonly le: number;
  readonly count: number;
}

/**
 * The `q` quantile of a classic histogram, computed like Prometheus's `histogram_quantile`: find the
 * bucket holding rank `q × count` and interpolate linearly inside it (from 0 for the first bucket).
 * A rank in the `+Inf` bucket answers the highest finite bound. Undefined without observations.
 * @example
 * histogramQuantile(0.5, [{ le: 0.1, count: 2 }, { le: 1, count: 4 }, { le: Infinity, count: 4 }]); // 0.1
 */
export function histogramQuantile(q: number, buckets: readonly CumulativeBucket[]): number | undefined {
  const total = buckets.at(-1)?.count ?? 0;
  if (total <= 0) return undefined;
  const rank = q * total;
  let previousCount = 0;
  let previousBound = 0;
  for (const [i, bucket] of buckets.entries()) {
    if (bucket.count >= rank && bucket.count > previousCount) {
      if (bucket.le === Infinity) return i === 0 ? undefined : buckets[i - 1]!.le;
      const lower = i === 0 && bucket.le <= 0 ? bucket.le : previousBound;
      return lower + ((bucket.le - lower) * (rank - previousCount)) / (bucket.count - previousCount);
    }
    previousCount = bucket.count;
    previousBound = bucket.le;
  }
  return buckets.length > 1 ? buckets.at(-2)!.le : undefined;
}
