// Small helpers shared by the benchmarks: percentiles and the output format.

/** The p-th percentile (0–100) of the samples, nearest-rank method. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

/** Prints one figure as `name: value unit`, the format every benchmark uses. */
export function report(name: string, value: number | string, unit = ''): void {
  const shown = typeof value === 'number' ? (Number.isInteger(value) ? String(value) : value.toFixed(2)) : value;
  console.log(`${name}: ${shown}${unit ? ` ${unit}` : ''}`);
}

/** Prints p50 and p95 (or the given percentiles) of a set of timings in ms. */
export function reportTimings(name: string, samplesMs: readonly number[], percentiles = [50, 95]): void {
  for (const p of percentiles) report(`${name} p${p}`, percentile(samplesMs, p), 'ms');
  report(`${name} runs`, samplesMs.length);
}
