// The agent's pty input (sandbox-server/agent/pty-writer.ts) with a real pty:
// a keystroke goes through, and input far larger than the pty's buffer,
// in many pieces, arrives whole and in order while the shell reads slowly.
import { createHash } from 'node:crypto';
import { spawn, type IPty } from 'node-pty';
import { afterEach, describe, expect, it } from 'vitest';
import { PtyWriter } from '../../sandbox-server/agent/pty-writer.ts';

const ptys: IPty[] = [];
afterEach(() => {
  for (const pty of ptys.splice(0)) pty.kill();
});

function shell(script: string): { pty: IPty; output: () => string; exited: Promise<number> } {
  const pty = spawn('/bin/sh', ['-c', script], { name: 'xterm', cols: 80, rows: 24, cwd: '/tmp', env: { PATH: '/usr/bin:/bin' }, encoding: null });
  ptys.push(pty);
  let text = '';
  pty.onData((chunk: string | Buffer) => {
    text += chunk.toString();
  });
  const exited = new Promise<number>((resolve) => pty.onExit(({ exitCode }) => resolve(exitCode)));
  return { pty, output: () => text, exited };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('PtyWriter', () => {
  it('writes a keystroke through to the program reading the pty', async () => {
    const { pty, output } = shell('stty raw -echo; echo RAW; head -c 1 | od -An -c; sleep 5');
    await until(() => output().includes('RAW'), 'the raw line');
    const writer = new PtyWriter(pty);
    writer.write(Buffer.from('k'));
    await until(() => output().includes('k'), 'the key back from od');
  });

  it('delivers input far larger than the pty buffer, in order, to a shell that reads slowly', async () => {
    const total = 400_000;
    const pieces: Buffer[] = [];
    for (let offset = 0; offset < total; offset += 10_000) pieces.push(Buffer.alloc(10_000, String.fromCharCode(97 + ((offset / 10_000) % 26))));
    const expected = createHash('sha256').update(Buffer.concat(pieces)).digest('hex');
    // Raw, no echo: every byte reaches the reader as typed (a canonical line would keep 4 KiB of it);
    // input starts once the line is raw, and the reader waits a moment before it reads anything.
    const { pty, output, exited } = shell(`stty raw -echo; echo RAW; sleep 0.3; head -c ${total} | sha256sum`);
    await until(() => output().includes('RAW'), 'the raw line');
    const writer = new PtyWriter(pty);
    for (const piece of pieces) writer.write(piece);
    expect(await exited).toBe(0);
    expect(output()).toContain(expected);
  });
});
