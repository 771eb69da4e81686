// One rule per value, the same at every hop: whatever size or terminal name
// the page's check lets through, the server's parser and the agent's frame
// decoder let through too, and the other way round. A 1-column resize once
// passed the server and was fatal at the agent; this property is what makes
// that drift impossible.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrameDecoder, FrameKind, decodeControl, encodeFrame } from '../../contracts/agent-protocol.ts';
import { MACHINE_ID_PATTERN, SANDBOX_ID_PATTERN, TERMINAL_NAME_PATTERN, machineIdProblem, terminalNameProblem } from '../../contracts/names.ts';
import { parseClientMessage, parseTerminalSize, TerminalName } from '../../contracts/protocol.ts';
import { TERMINAL_SIZE_LIMITS, isTerminalSize, terminalSizeProblem } from '../../contracts/sizes.ts';
import { newSandboxId } from '../../sandbox-server/src/manager/credentials.ts';

const SEED = 9001;

/** Numbers near the bounds, far outside them, and not numbers at all. */
const dimension = fc.oneof(
  fc.integer({ min: -3, max: 3 }),
  fc.integer({ min: TERMINAL_SIZE_LIMITS.maxRows - 2, max: TERMINAL_SIZE_LIMITS.maxRows + 2 }),
  fc.integer({ min: TERMINAL_SIZE_LIMITS.maxCols - 2, max: TERMINAL_SIZE_LIMITS.maxCols + 2 }),
  fc.integer(),
  fc.double(),
  fc.constantFrom(Number.MAX_SAFE_INTEGER, 2 ** 53 + 1, 1e308, -0, 80.5),
  fc.string({ maxLength: 4 }),
  fc.constantFrom(null, true, undefined, [80], { n: 1 }),
);

function agentAccepts(kind: typeof FrameKind.Resize | typeof FrameKind.Open, body: unknown): boolean {
  const [frame] = new FrameDecoder().push(encodeFrame(kind, 1, JSON.stringify(body) ?? ''));
  try {
    decodeControl(kind, frame!);
    return true;
  } catch {
    return false;
  }
}

describe('terminal sizes', () => {
  it('are accepted by the page, the server and the agent alike', () => {
    fc.assert(
      fc.property(dimension, dimension, (cols, rows) => {
        const page = isTerminalSize({ cols, rows });
        const server = parseClientMessage(JSON.stringify({ type: 'resize', cols, rows })).ok;
        // JSON has no NaN/undefined: what the agent receives is what JSON.stringify makes of the value.
        const onWire = JSON.parse(JSON.stringify({ cols, rows }) ?? '{}') as { cols?: unknown; rows?: unknown };
        const agent = agentAccepts(FrameKind.Resize, onWire);
        const onWirePage = isTerminalSize(onWire);
        expect(server).toBe(onWirePage);
        expect(agent).toBe(onWirePage);
        if (page) expect(server && agent).toBe(true);
      }),
      { seed: SEED, numRuns: 2000 },
    );
  });

  it.each([
    [2, 1, true],
    [2, 2, true],
    [80, 24, true],
    [500, 200, true],
    [1, 1, false],
    [1, 24, false],
    [0, 24, false],
    [501, 200, false],
    [500, 201, false],
    [80, 0, false],
  ])('%s×%s valid: %s', (cols, rows, valid) => {
    expect(terminalSizeProblem(cols, rows) === undefined).toBe(valid);
    expect(parseTerminalSize(cols, rows).ok).toBe(valid);
    expect(agentAccepts(FrameKind.Resize, { cols, rows })).toBe(valid);
    expect(agentAccepts(FrameKind.Open, { name: '1', cols, rows })).toBe(valid);
  });

  it('explains a refusal with the bounds', () => {
    const result = parseTerminalSize(1, 24);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toMatchObject({ code: 'invalid-size', hint: expect.stringContaining('from 2 to 500') });
  });
});

describe('terminal names', () => {
  const name = fc.oneof(
    fc.stringMatching(TERMINAL_NAME_PATTERN),
    fc.string({ maxLength: 20 }),
    fc.string({ unit: 'binary', maxLength: 20 }),
    fc.constantFrom('', '-1', 'A', 'Bad_Name', '../x', 'x'.repeat(16), 'x'.repeat(17), '1\n'),
  );

  it('are accepted by the URL check, the class API schema and the agent alike', () => {
    fc.assert(
      fc.property(name, (candidate) => {
        const rule = terminalNameProblem(candidate) === undefined;
        expect(TerminalName.safeParse(candidate).success).toBe(rule);
        expect(agentAccepts(FrameKind.Open, { name: candidate, cols: 80, rows: 24 })).toBe(rule);
      }),
      { seed: SEED, numRuns: 1000 },
    );
  });
});

describe('machine ids', () => {
  it('every id the server issues is one a driver accepts', () => {
    for (let i = 0; i < 100; i++) {
      const id = newSandboxId();
      expect(id).toMatch(SANDBOX_ID_PATTERN);
      expect(machineIdProblem(id)).toBeUndefined();
    }
    fc.assert(
      fc.property(fc.stringMatching(SANDBOX_ID_PATTERN), (id) => MACHINE_ID_PATTERN.test(id)),
      { seed: SEED },
    );
  });

  it('refuses path tricks and separators', () => {
    for (const id of ['', '../../etc', 'a,b', 'a b', 'x'.repeat(49), 'é']) expect(machineIdProblem(id)).toMatch(/sandbox id must match/);
  });
});
