// The link between the Node agent and its terminal keeper is defined twice,
// once per language (keeper-link.ts, terminal-keeper.c): the numbers must be
// the same on both sides, and the host's kinds the contracts'.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FrameKind, MAX_FRAME_BYTES, MAX_DATA_PAYLOAD, PROTOCOL_VERSION, TERMINAL_REPLAY_BYTES } from '../../contracts/agent-protocol.ts';
import { TERMINAL_SIZE_LIMITS } from '../../contracts/sizes.ts';
import { LinkKind, decodeAdopt, decodeSpawned, spawnFrame } from '../../sandbox-server/agent/keeper-link.ts';

const source = readFileSync(new URL('../../sandbox-server/agent/terminal-keeper.c', import.meta.url), 'utf8');

/** NAME = value pairs of the C file's enums. */
function enumValues(): Map<string, number> {
  const values = new Map<string, number>();
  for (const match of source.matchAll(/\b((?:K|LINK)_[A-Z_]+)\s*=\s*(\d+)/g)) values.set(match[1]!, Number(match[2]));
  return values;
}

const screaming = (name: string) => name.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase();

describe('the keeper link', () => {
  it('numbers its kinds the same in C and TypeScript', () => {
    const c = enumValues();
    for (const [name, value] of Object.entries(LinkKind)) expect([name, c.get(`LINK_${screaming(name)}`)]).toEqual([name, value]);
    for (const [name, value] of Object.entries(FrameKind)) expect([name, c.get(`K_${screaming(name)}`)]).toEqual([name, value]);
  });

  it("uses the contracts' sizes and protocol version", () => {
    // The C values are written `N`, `(A << B)` or `(A * B)`.
    const define = (name: string): number => {
      const text = source.match(new RegExp(`#define ${name} (.+)`))?.[1]?.replace(/[()\s]/g, '') ?? '';
      const [a, operator, b] = text.split(/(<<|\*)/);
      return operator === '<<' ? Number(a) * 2 ** Number(b) : operator === '*' ? Number(a) * Number(b) : Number(a);
    };
    expect(define('PROTOCOL_VERSION')).toBe(PROTOCOL_VERSION);
    expect(define('MAX_FRAME_BYTES')).toBe(MAX_FRAME_BYTES);
    expect(define('MAX_DATA_PAYLOAD')).toBe(MAX_DATA_PAYLOAD);
    expect(define('TERMINAL_REPLAY_BYTES')).toBe(TERMINAL_REPLAY_BYTES);
    const { minCols, maxCols, minRows, maxRows } = TERMINAL_SIZE_LIMITS;
    expect([define('MIN_COLS'), define('MAX_COLS'), define('MIN_ROWS'), define('MAX_ROWS')]).toEqual([minCols, maxCols, minRows, maxRows]);
  });

  it('lays a spawn request out as the keeper reads it, and refuses what it could not carry', () => {
    const frame = spawnFrame(7, 'main', 100, 30, { argv: ['/bin/sh', '-l'], cwd: '/root', env: { TERM: 'xterm' } });
    expect(frame.readUInt8(4)).toBe(LinkKind.Spawn);
    expect(frame.readUInt32BE(5)).toBe(7);
    expect([frame.readUInt16BE(9), frame.readUInt16BE(11)]).toEqual([100, 30]);
    expect(frame.subarray(13).toString().split('\0')).toEqual(['main', '/root', '/bin/sh', '-l', '', 'TERM=xterm', '']);
    expect(() => spawnFrame(1, 'x', 80, 24, { argv: ['/bin/sh', 'a\0b'], cwd: '/', env: {} })).toThrow(/NUL/);
    expect(() => spawnFrame(1, 'x', 80, 24, { argv: ['/bin/sh', ''], cwd: '/', env: {} })).toThrow(/empty/);
    const spawned = Buffer.concat([Buffer.from([0, 0, 1, 2]), Buffer.from('/dev/pts/3')]);
    expect(decodeSpawned(spawned)).toEqual({ pid: 258, tty: '/dev/pts/3' });
  });

  it('reads an Adopt as the keeper writes it (u32 pid, then NUL-terminated name and tty), and refuses a broken one', () => {
    const adopt = Buffer.concat([Buffer.from([0, 0, 1, 2]), Buffer.from('main\0/dev/pts/3\0')]);
    expect(decodeAdopt(adopt)).toEqual({ pid: 258, name: 'main', tty: '/dev/pts/3' });
    // That the C side writes this layout, agent.test.ts sees: a restarted agent knows the terminal by its name.
    expect(() => decodeAdopt(Buffer.concat([Buffer.from([0, 0, 1, 2]), Buffer.from('main')]))).toThrow(/malformed/);
    expect(() => decodeAdopt(Buffer.from([0, 0]))).toThrow(/malformed/);
  });
});
