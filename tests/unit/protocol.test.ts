import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CloseCode,
  CreateSandboxResponse,
  FLOW_HIGH_WATERMARK,
  FLOW_LOW_WATERMARK,
  FLOW_ACK_EVERY_BYTES,
  MAX_CLIENT_FRAME_BYTES,
  SandboxStatus,
  parseClientMessage,
  parseTerminalSize,
  parseServerMessage,
} from '../../contracts/protocol.ts';
import { SANDBOX_ID_PATTERN, TERMINAL_NAME_PATTERN } from '../../contracts/names.ts';
import { newSandboxId, newToken, tokensMatch } from '../../sandbox-server/src/manager/credentials.ts';

describe('client control messages', () => {
  it('accepts resize and ack', () => {
    expect(parseClientMessage('{"type":"resize","cols":120,"rows":40}')).toEqual({ ok: true, value: { type: 'resize', cols: 120, rows: 40 } });
    expect(parseClientMessage('{"type":"ack","bytes":4096}')).toEqual({ ok: true, value: { type: 'ack', bytes: 4096 } });
  });

  it('reads an ack the quick way exactly as the schema does, whatever its number or spacing', () => {
    // The same JSON with a space inside takes the schema's path: both must agree on every value.
    fc.assert(
      fc.property(
        fc.oneof(fc.integer(), fc.double(), fc.constant(Number.MAX_SAFE_INTEGER), fc.constant(Number.MAX_SAFE_INTEGER + 1), fc.constant(-0)),
        (bytes) => {
          const plain = JSON.stringify({ type: 'ack', bytes });
          const spaced = plain.replace('","bytes"', '", "bytes"');
          expect(parseClientMessage(plain).ok).toBe(parseClientMessage(spaced).ok);
          const quick = parseClientMessage(plain);
          if (quick.ok) expect(quick.value).toEqual(parseClientMessage(spaced).ok && (parseClientMessage(spaced) as { value: unknown }).value);
        },
      ),
      { seed: 20261201, numRuns: 500 },
    );
    expect(parseClientMessage('{"type":"ack","bytes":9007199254740991}')).toEqual({ ok: true, value: { type: 'ack', bytes: Number.MAX_SAFE_INTEGER } });
    expect(parseClientMessage('{"type":"ack","bytes":9007199254740992}').ok).toBe(false);
    expect(parseClientMessage('{"type":"ack","bytes":012}').ok).toBe(false);
  });

  it.each([
    ['not json', 'bad-json'],
    ['{"type":', 'bad-json'],
    ['[]', 'unknown-type'],
    ['42', 'unknown-type'],
    ['{"cols":80}', 'unknown-type'],
    ['{"type":"explode"}', 'unknown-type'],
    ['{"type":"ack"}', 'bad-message'],
    ['{"type":"ack","bytes":-1}', 'bad-message'],
    ['{"type":"ack","bytes":1.5}', 'bad-message'],
    ['{"type":"resize","cols":"80","rows":24}', 'bad-message'],
  ])('refuses %s with %s', (text, code) => {
    const result = parseClientMessage(text);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.code).toBe(code);
      expect(result.error.message.length).toBeGreaterThan(10);
      expect(result.error.hint).toBeTruthy();
    }
  });

  it.each([
    [0, 24],
    [-5, 24],
    [100000, 24],
    [80, 0],
    [80.5, 24],
    [80, 100000],
    [Number.NaN, 24],
  ])('refuses the size %s×%s as invalid-size', (cols, rows) => {
    const result = parseClientMessage(JSON.stringify({ type: 'resize', cols, rows }));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.code).toBe(Number.isNaN(cols) ? 'bad-message' : 'invalid-size');
    expect(parseTerminalSize(cols, rows).ok).toBe(false);
  });

  it('accepts the extreme valid sizes', () => {
    expect(parseTerminalSize(2, 1).ok).toBe(true);
    expect(parseTerminalSize(500, 200).ok).toBe(true);
    expect(parseTerminalSize(1, 24).ok).toBe(false);
    expect(parseTerminalSize(501, 200).ok).toBe(false);
  });
});

describe('server messages', () => {
  it('round-trips ready, exit and error', () => {
    const messages = [
      { type: 'ready', sandbox: 'a'.repeat(32), terminal: '1', cols: 80, rows: 24, resumed: false, replayBytes: 0 },
      { type: 'exit', code: 0, signal: null },
      { type: 'error', code: 'invalid-size', message: 'bad', hint: 'fix' },
    ];
    for (const message of messages) expect(parseServerMessage(JSON.stringify(message))).toEqual({ ok: true, value: message });
    expect(parseServerMessage('{"type":"ready"}').ok).toBe(false);
    expect(parseServerMessage('nope').ok).toBe(false);
  });
});

describe('REST shapes', () => {
  it('validates a create response and a status', () => {
    const now = new Date().toISOString();
    expect(CreateSandboxResponse.safeParse({ id: newSandboxId(), token: newToken(), expiresAt: now }).success).toBe(true);
    expect(CreateSandboxResponse.safeParse({ id: 'short', token: 't', expiresAt: now }).success).toBe(false);
    const status = { id: newSandboxId(), state: 'running', createdAt: now, expiresAt: now, idle: { since: null, expiresAt: null }, terminals: [] };
    expect(SandboxStatus.safeParse(status).success).toBe(true);
  });
});

describe('constants', () => {
  it('keeps the flow-control watermarks coherent', () => {
    expect(FLOW_LOW_WATERMARK).toBeLessThan(FLOW_HIGH_WATERMARK);
    // A client acking every FLOW_ACK_EVERY_BYTES can always bring the count below LOW.
    expect(FLOW_ACK_EVERY_BYTES).toBeLessThanOrEqual(FLOW_LOW_WATERMARK);
    expect(MAX_CLIENT_FRAME_BYTES).toBe(64 * 1024);
  });

  it('uses only 1000, 1001, 1009, 1011, 1013 and 4xxx close codes (never 1006)', () => {
    for (const code of Object.values(CloseCode)) expect([1000, 1001, 1009, 1011, 1013].includes(code) || (code >= 4000 && code < 5000)).toBe(true);
  });

  it('names terminals and sandboxes with safe patterns', () => {
    expect(['1', '2', 'main', 'a-b'].every((name) => TERMINAL_NAME_PATTERN.test(name))).toBe(true);
    expect(['', '-x', 'A', '../1', 'x'.repeat(17), 'a b'].some((name) => TERMINAL_NAME_PATTERN.test(name))).toBe(false);
    expect(SANDBOX_ID_PATTERN.test(newSandboxId())).toBe(true);
  });
});

describe('credentials', () => {
  it('makes unguessable ids and tokens and compares tokens exactly', () => {
    const ids = new Set(Array.from({ length: 1000 }, newSandboxId));
    expect(ids.size).toBe(1000);
    const token = newToken();
    expect(token.length).toBeGreaterThanOrEqual(43);
    expect(tokensMatch(token, token)).toBe(true);
    expect(tokensMatch(token, `${token}x`)).toBe(false);
    expect(tokensMatch(token, '')).toBe(false);
  });
});

describe('browser safety', () => {
  // contracts/ as a whole: tests/unit/boundaries.test.ts.
  it.each(['names.ts', 'sizes.ts'])('%s imports nothing at all (the agent and the page load it as is)', async (file) => {
    const { readFile } = await import('node:fs/promises');
    const source = await readFile(new URL(`../../contracts/${file}`, import.meta.url), 'utf8');
    expect(source).not.toMatch(/^import /m);
    expect(source).not.toMatch(/\bBuffer\b|\bprocess\./);
  });
});
