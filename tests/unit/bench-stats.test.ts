import { describe, expect, it } from 'vitest';
import { percentile } from '../../bench/stats.ts';

describe('benchmark percentiles', () => {
  it('uses the nearest rank', () => {
    const samples = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6];
    expect(percentile(samples, 50)).toBe(5);
    expect(percentile(samples, 95)).toBe(10);
    expect(percentile(samples, 0)).toBe(1);
  });

  it('is NaN for no samples rather than a made-up number', () => {
    expect(percentile([], 50)).toBeNaN();
  });
});
