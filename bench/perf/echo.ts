// Keystroke echo, measured the same way for every path the perf benchmark
// compares: one key in, time until a chunk containing it comes back. Letters
// cycle so each echo is recognisable; Ctrl-U every 60 keys keeps the line short.
//
// `gapMs` is the pause between a key's echo and the next key. A reader types
// (a very fast typist: 10–15 keys a second); keys sent back to back instead
// are ≈ 1 000 a second, where forwarding them alone keeps a machine's agent
// busy enough for its CPU quota to throttle it, a cost no reader's typing
// meets (pasting is measured as throughput instead). Both are printed.
import { performance } from 'node:perf_hooks';

export interface EchoTarget {
  type(key: string): void;
  onData(listener: (chunk: Buffer) => void): { dispose(): void };
}

export async function echoSamples(target: EchoTarget, keys: number, gapMs = 0): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < keys; i++) {
    if (i % 60 === 59) {
      target.type('\x15');
      await new Promise((resolve) => setTimeout(resolve, 30));
    }
    const key = String.fromCharCode(97 + (i % 26));
    const echoed = new Promise<void>((resolve) => {
      const subscription = target.onData((chunk) => {
        if (chunk.includes(key)) {
          subscription.dispose();
          resolve();
        }
      });
    });
    const started = performance.now();
    target.type(key);
    await echoed;
    samples.push(performance.now() - started);
    if (gapMs > 0) await new Promise((resolve) => setTimeout(resolve, gapMs));
  }
  return samples;
}
