// Keystroke echo, measured the same way for every path the perf benchmark
// compares: one key in, time until a chunk containing it comes back. Letters
// cycle so each echo is recognisable; Ctrl-U every 60 keys keeps the line short.
//
// `gapMs` is the pause between a key's echo and the next key. A reader types
// (a very fast typist: 10–15 keys a second); keys sent back to back instead
// are ≈ 1 000 a second, where forwarding them alone keeps a machine's agent
// busy enough for its CPU quota to throttle it, a cost no reader's typing
// meets (pasting is measured as throughput instead). Both are printed.
//
// `interleavedEchoSamples` types into several terminals in turn — a key (or
// a short block of keys) to each per round, in a random order each round,
// the same gap after every key — so that all of them meet the same host in
// the same seconds. On a
// shared host whose load changes from one minute to the next, two paths
// measured one after the other compare the host's noise as much as the
// paths; interleaved, a burst of noise falls on both.
import { performance } from 'node:perf_hooks';

export interface EchoTarget {
  type(key: string): void;
  onData(listener: (chunk: Buffer) => void): { dispose(): void };
}

/** Key `i` of a run: a letter, recognisable in its echo. */
function keyAt(i: number): string {
  return String.fromCharCode(97 + (i % 26));
}

/** Types `key` into `target` and resolves with the time until a chunk containing it comes back (ms). */
async function timeOneKey(target: EchoTarget, key: string): Promise<number> {
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
  return performance.now() - started;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function echoSamples(target: EchoTarget, keys: number, gapMs = 0): Promise<number[]> {
  const [samples] = await interleavedEchoSamples([target], keys, gapMs);
  return samples!;
}

/**
 * `keys` keys to each target, in rounds: in each, `block` keys to every
 * target in turn, in an order shuffled anew each round (so none is always
 * first after the pause, or always right after another's echo), with `gapMs`
 * after each key. Answers each target's samples, in the targets' order.
 *
 * Blocks of one suit a typing pace: the gap lets the previous key's work end
 * wherever it ran. Back to back, a block of several keys keeps the pace each
 * terminal meets (≈ 1 000 keys a second, which a machine's CPU quota feels)
 * and lets only the first key of a block meet the tail of another
 * terminal's last key; a block of 20 lasts a few ms, far less than the
 * seconds over which this host's load changes.
 */
export async function interleavedEchoSamples(
  targets: readonly EchoTarget[],
  keys: number,
  gapMs = 0,
  block = 1,
  random: () => number = Math.random,
): Promise<number[][]> {
  const samples = targets.map((): number[] => []);
  const order = targets.map((_, index) => index);
  for (let first = 0; first < keys; first += block) {
    shuffle(order, random);
    for (const index of order) {
      const target = targets[index]!;
      for (let i = first; i < Math.min(keys, first + block); i++) {
        if (i % 60 === 59) {
          target.type('\x15');
          await pause(30);
        }
        samples[index]!.push(await timeOneKey(target, keyAt(i)));
        if (gapMs > 0) await pause(gapMs);
      }
    }
  }
  return samples;
}

/** Fisher–Yates, in place. */
function shuffle(items: number[], random: () => number): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
}
