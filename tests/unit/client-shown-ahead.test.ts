// The warm pool's prompt, shown by the page before its terminal's socket
// opens (from the answer of POST api/sandboxes): the socket's replay starts
// with those bytes, which are written once, whatever the frames' cut; output
// that parts from them redraws the screen from what the shell printed. And
// SandboxClient hands that prompt to terminal 1 of that machine only, once.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SandboxClient } from '../../src/client/sandbox-client.ts';
import { sandboxEndpoint } from '../../src/client/sandbox-endpoint.ts';
import { ShownAhead } from '../../src/client/shown-ahead.ts';

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (data: Uint8Array) => new TextDecoder().decode(data);
const PROMPT = '\x1b]133;A\x07student@tp-docker:~$ \x1b]133;B\x07';

/** What a screen that started with `ahead` shows after the chunks (the bytes written since its last clear), and how often it was cleared. */
function screenAfter(ahead: string, chunks: { data: string; replay: boolean }[], replayBytes: number): { screen: string; clears: number } {
  const shown = new ShownAhead(bytes(ahead));
  let screen = ahead;
  let clears = 0;
  const apply = (unseen: { redraw?: Uint8Array; rest: Uint8Array } | undefined) => {
    if (unseen?.redraw !== undefined) {
      screen = text(unseen.redraw);
      clears++;
    }
    if (unseen !== undefined) screen += text(unseen.rest);
  };
  apply(shown.replayAnnounced(replayBytes));
  for (const chunk of chunks) apply(shown.unseen(bytes(chunk.data), chunk.replay));
  return { screen, clears };
}

/** `whole` cut into chunks at the given places. */
function cut(whole: string, at: number[]): string[] {
  const places = [...new Set(at.map((place) => place % (whole.length + 1)))].sort((a, b) => a - b);
  const chunks: string[] = [];
  let from = 0;
  for (const place of [...places, whole.length]) {
    chunks.push(whole.slice(from, place));
    from = place;
  }
  return chunks.filter((chunk) => chunk !== '');
}

describe('output shown ahead of the socket', () => {
  it('is not written twice when the replay starts with it, wherever the frames are cut', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 20 }), fc.string({ maxLength: 20 }), fc.array(fc.nat(), { maxLength: 6 }), (more, live, at) => {
        const replay = PROMPT + more;
        const chunks = [...cut(replay, at).map((data) => ({ data, replay: true })), ...(live ? [{ data: live, replay: false }] : [])];
        // Never cleared: the prompt stays where it is, not even redrawn.
        expect(screenAfter(PROMPT, chunks, replay.length)).toEqual({ screen: PROMPT + more + live, clears: 0 });
      }),
      { seed: 14, numRuns: 500 },
    );
  });

  it('redraws from the replay when the replay parts from it, or is shorter', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 40 }), fc.array(fc.nat(), { maxLength: 6 }), (other, at) => {
        fc.pre(!PROMPT.startsWith(other) && !other.startsWith(PROMPT));
        const chunks = cut(other, at).map((data) => ({ data, replay: true }));
        expect(screenAfter(PROMPT, chunks, other.length)).toEqual({ screen: other, clears: 1 });
      }),
      { seed: 14, numRuns: 500 },
    );
    // No replay at all: live output alone, on a cleared screen.
    expect(screenAfter(PROMPT, [{ data: 'live', replay: false }], 0)).toEqual({ screen: 'live', clears: 1 });
  });

  it('stops skipping once all of it was matched', () => {
    const shown = new ShownAhead(bytes('ab'));
    expect(text(shown.unseen(bytes('a'), true).rest)).toBe('');
    expect(shown.done).toBe(false);
    expect(text(shown.unseen(bytes('bab'), true).rest)).toBe('ab');
    expect(shown.done).toBe(true);
    expect(text(shown.unseen(bytes('ab'), true).rest)).toBe('ab');
  });
});

describe("the POST's started shell, handed to its terminal", () => {
  it('goes to terminal 1 of the machine that POST made, once, and to no other terminal', async () => {
    const id = 'a'.repeat(32);
    const fetch = (async () =>
      new Response(
        JSON.stringify({
          id,
          token: 't',
          expiresAt: '2999-01-01T00:00:00Z',
          started: { terminal: '1', output: Buffer.from(PROMPT).toString('base64') },
        }),
        { status: 201 },
      )) as typeof globalThis.fetch;
    const client = new SandboxClient({ endpoint: sandboxEndpoint('/', 'http://localhost:4321/lecon/'), fetch });
    const machine = await client.ensure();
    expect(client.takeStarted(machine, '2')).toBeUndefined();
    expect(client.takeStarted(machine, '1', 'node2')).toBeUndefined();
    expect(client.takeStarted({ ...machine, id: 'b'.repeat(32) }, '1')).toBeUndefined();
    expect(text(client.takeStarted(machine, '1')!)).toBe(PROMPT);
    expect(client.takeStarted(machine, '1')).toBeUndefined();
  });
});
