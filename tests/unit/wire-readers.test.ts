// The page's zod-free readers (contracts/wire-readers.ts) against the zod
// schemas of protocol.ts, which stay the definition: on messages the server
// sends and on every kind of damage to them, both accept and refuse the same
// ones and give the same values.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ApiErrorBody, CreateSandboxResponse, ERROR_CODES, ResetMachinesResponse, parseServerMessage } from '../../contracts/protocol.ts';
import { readApiError, readCreateSandboxResponse, readResetMachinesResponse, readServerMessage } from '../../contracts/wire-readers.ts';

const RUNS = { seed: 20261201, numRuns: 3000 };

/** Any JSON-ish value, to put where a field is expected. */
const junk = fc.oneof(
  fc.string(),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.array(fc.integer(), { maxLength: 2 }),
  fc.object({ maxDepth: 1 }),
);
/** Mostly the right thing, sometimes damaged: the valid case must be common, or the test would only compare refusals. */
const mostly = <T>(valid: fc.Arbitrary<T>) => fc.oneof({ arbitrary: valid, weight: 8 }, { arbitrary: junk, weight: 1 });
const int = fc.oneof(
  fc.integer({ min: -3, max: 3 }),
  fc.integer({ min: 0, max: 100_000 }),
  fc.constant(Number.MAX_SAFE_INTEGER),
  fc.constant(2 ** 53),
  fc.double({ noNaN: false }),
);

const errorInfo = fc.record(
  {
    code: fc.oneof({ arbitrary: fc.constantFrom(...ERROR_CODES), weight: 6 }, { arbitrary: fc.string(), weight: 1 }),
    message: mostly(fc.string()),
    hint: mostly(fc.string()),
    lang: fc.oneof(fc.constant('fr'), fc.constant('fr'), fc.constant('en'), junk),
    extra: junk,
  },
  { requiredKeys: ['code'] },
);
const serverMessage = fc.oneof(
  fc.record({
    type: fc.constant('ready'),
    sandbox: mostly(fc.string()),
    terminal: mostly(fc.string()),
    cols: int,
    rows: int,
    resumed: mostly(fc.boolean()),
    replayBytes: int,
  }),
  fc.record({ type: fc.constant('exit'), code: mostly(fc.oneof(int, fc.constant(null))), signal: fc.oneof(int, fc.constant(null)) }),
  errorInfo.map((info) => ({ ...info, type: 'error' })),
  fc.record({ type: fc.oneof(fc.string(), junk) }),
  junk,
);

/** A date string as the server writes it, or something near it. */
const datetime = fc.oneof(
  fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('2200-01-01T00:00:00Z'), noInvalidDate: true }).map((date) => date.toISOString()),
  fc.constantFrom(
    '2026-12-01',
    '2026-12-01T10:00Z',
    '2026-12-01T10:00:00',
    '2026-02-30T10:00:00Z',
    '2024-02-29T10:00:00Z',
    '2026-12-01T10:00:00+01:00',
    '2026-13-01T10:00:00Z',
    '2026-12-01T24:00:00Z',
    '2026-12-01T10:00:00.5Z',
    'demain',
  ),
  junk,
);
const createAnswer = fc.record(
  {
    id: fc.oneof({ arbitrary: fc.stringMatching(/^[0-9a-f]{32}$/), weight: 6 }, { arbitrary: fc.string(), weight: 1 }),
    token: mostly(fc.string()),
    expiresAt: datetime,
    machines: fc.oneof(
      {
        arbitrary: fc.array(fc.record({ name: fc.oneof(fc.constantFrom('node1', 'node2'), fc.string()), address: mostly(fc.string()) }), { maxLength: 3 }),
        weight: 4,
      },
      { arbitrary: junk, weight: 1 },
    ),
    // Terminal 1's shell started ahead (warm pool): its printed bytes in base64.
    started: fc.oneof(
      {
        arbitrary: fc.record(
          {
            terminal: fc.oneof(fc.constant('1'), fc.string()),
            output: fc.oneof({ arbitrary: fc.base64String(), weight: 4 }, { arbitrary: fc.string(), weight: 1 }),
          },
          { requiredKeys: [] },
        ),
        weight: 4,
      },
      { arbitrary: junk, weight: 1 },
    ),
  },
  { requiredKeys: ['id', 'token', 'expiresAt'] },
);

describe('the page reads what the server sends as the schemas do', () => {
  it('terminal control frames (ready, exit, error) and anything else', () => {
    fc.assert(
      fc.property(serverMessage, (message) => {
        const text = JSON.stringify(message) ?? 'undefined';
        const ours = readServerMessage(text);
        const schema = parseServerMessage(text);
        expect(ours.ok).toBe(schema.ok);
        if (ours.ok && schema.ok) expect(ours.value).toEqual(schema.value);
      }),
      RUNS,
    );
    expect(readServerMessage('{"type":').ok).toBe(false);
  });

  it('the answer of POST api/sandboxes', () => {
    fc.assert(
      fc.property(createAnswer, (answer) => {
        const json = JSON.parse(JSON.stringify(answer)) as unknown;
        const schema = CreateSandboxResponse.safeParse(json);
        const ours = readCreateSandboxResponse(json);
        expect(ours !== undefined).toBe(schema.success);
        if (ours && schema.success) expect(ours).toEqual(schema.data);
      }),
      RUNS,
    );
  });

  it("the answer of a lab's resets", () => {
    fc.assert(
      fc.property(
        createAnswer.map((answer) => ({ machines: answer.machines })),
        (answer) => {
          const json = JSON.parse(JSON.stringify(answer)) as unknown;
          const schema = ResetMachinesResponse.safeParse(json);
          expect(readResetMachinesResponse(json)).toEqual(schema.success ? schema.data : undefined);
        },
      ),
      RUNS,
    );
  });

  it('the error body of REST answers', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          errorInfo.map((error) => ({ error })),
          junk,
        ),
        (body) => {
          const json = JSON.parse(JSON.stringify(body) ?? 'null') as unknown;
          const schema = ApiErrorBody.safeParse(json);
          expect(readApiError(json)).toEqual(schema.success ? schema.data.error : undefined);
        },
      ),
      RUNS,
    );
  });
});
