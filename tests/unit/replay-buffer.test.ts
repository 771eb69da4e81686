import { describe, expect, it } from 'vitest';
import { ReplayBuffer } from '../../contracts/replay-buffer.ts';

const bytes = (text: string) => Buffer.from(text);

describe('ReplayBuffer', () => {
  it('keeps everything while under capacity, oldest first', () => {
    const buffer = new ReplayBuffer(16);
    buffer.append(bytes('hello '));
    buffer.append(bytes('world'));
    expect(asBuffer(buffer.snapshot()).toString()).toBe('hello world');
    expect(buffer.size).toBe(11);
  });

  it('keeps only the last `capacity` bytes once it wraps', () => {
    const buffer = new ReplayBuffer(8);
    buffer.append(bytes('abcdef'));
    buffer.append(bytes('ghijk'));
    expect(asBuffer(buffer.snapshot()).toString()).toBe('defghijk');
    buffer.append(bytes('lm'));
    expect(asBuffer(buffer.snapshot()).toString()).toBe('fghijklm');
    expect(buffer.size).toBe(8);
  });

  it('keeps the tail of a chunk larger than the whole buffer', () => {
    const buffer = new ReplayBuffer(4);
    buffer.append(bytes('ab'));
    buffer.append(bytes('0123456789'));
    expect(asBuffer(buffer.snapshot()).toString()).toBe('6789');
  });

  it('matches a naive model over many random appends', () => {
    const capacity = 37;
    const buffer = new ReplayBuffer(capacity);
    let model = Buffer.alloc(0);
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let i = 0; i < 500; i++) {
      const chunk = Buffer.alloc(Math.floor(random() * 60), i % 251);
      buffer.append(chunk);
      model = Buffer.concat([model, chunk]);
      model = model.subarray(Math.max(0, model.length - capacity));
      expect(asBuffer(buffer.snapshot()).equals(model)).toBe(true);
    }
  });

  it('returns a copy that later appends do not change', () => {
    const buffer = new ReplayBuffer(4);
    buffer.append(bytes('ab'));
    const snapshot = asBuffer(buffer.snapshot());
    buffer.append(bytes('cd'));
    expect(snapshot.toString()).toBe('ab');
  });

  it('empties on clear and refuses a non-positive capacity', () => {
    const buffer = new ReplayBuffer(4);
    buffer.append(bytes('abc'));
    buffer.clear();
    expect(asBuffer(buffer.snapshot()).length).toBe(0);
    expect(() => new ReplayBuffer(0)).toThrow(/positive integer/);
  });
});

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
