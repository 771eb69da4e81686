import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { OutputCoalescer } from '../../sandbox-server/src/manager/output-coalescer.ts';

describe('OutputCoalescer', () => {
  let frames: string[];
  let coalescer: OutputCoalescer;
  beforeEach(() => {
    vi.useFakeTimers();
    frames = [];
    coalescer = new OutputCoalescer({ delayMs: 4, maxFrameBytes: 10, flush: (frame) => frames.push(frame.toString()) });
  });
  afterEach(() => {
    coalescer.discard();
    vi.useRealTimers();
  });

  it('joins chunks that arrive within the delay into one frame', () => {
    coalescer.push(Buffer.from('ab'));
    coalescer.push(Buffer.from('cd'));
    expect(frames).toEqual([]);
    expect(coalescer.pendingBytes).toBe(4);
    vi.advanceTimersByTime(4);
    expect(frames).toEqual(['abcd']);
    expect(coalescer.pendingBytes).toBe(0);
  });

  it('sends the first output after input at once (keystroke echo)', () => {
    coalescer.push(Buffer.from('old'));
    coalescer.expectEcho();
    expect(frames).toEqual(['old']); // what was waiting goes first
    coalescer.push(Buffer.from('x'));
    expect(frames).toEqual(['old', 'x']);
    coalescer.push(Buffer.from('y')); // later output is coalesced again
    expect(frames).toEqual(['old', 'x']);
    vi.advanceTimersByTime(4);
    expect(frames).toEqual(['old', 'x', 'y']);
  });

  it('flushes as soon as a frame is full and splits oversized batches', () => {
    coalescer.push(Buffer.from('0123456789abcdefghij!'));
    expect(frames).toEqual(['0123456789', 'abcdefghij', '!']);
  });

  it('discard drops pending output and its timer', () => {
    coalescer.push(Buffer.from('gone'));
    coalescer.discard();
    vi.advanceTimersByTime(10);
    expect(frames).toEqual([]);
  });
});
