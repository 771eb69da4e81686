// What hostile or broken peers send: values of the wrong type, numbers at
// and beyond every bound, unicode, empty things, and structurally valid
// messages with one field wrong.
import fc from 'fast-check';
import { CLIENT_MESSAGE_TYPES } from '../../contracts/protocol.ts';
import { TERMINAL_SIZE_LIMITS } from '../../contracts/sizes.ts';

export const weirdNumber = fc.oneof(
  fc.integer({ min: -5, max: 5 }),
  fc.integer(),
  fc.double(),
  fc.constantFrom(
    TERMINAL_SIZE_LIMITS.minCols - 1,
    TERMINAL_SIZE_LIMITS.maxCols,
    TERMINAL_SIZE_LIMITS.maxCols + 1,
    TERMINAL_SIZE_LIMITS.maxRows + 1,
    Number.MAX_SAFE_INTEGER,
    Number.MAX_SAFE_INTEGER + 2,
    -Number.MAX_SAFE_INTEGER,
    1e308,
    -1e308,
    5e-324,
    -0,
    2 ** 32,
    2 ** 31 - 1,
  ),
);

export const weirdString = fc.oneof(
  fc.constantFrom('', ' ', '\u0000', '\u202e', '𝕏', '\ud800', 'é'.repeat(300), '../../etc/passwd', '%00', '\u0024{x}', '<script>'),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
);

/** Any JSON value, biased towards the shapes our messages have. */
export const weirdValue: fc.Arbitrary<unknown> = fc.oneof(
  weirdNumber,
  weirdString,
  fc.constantFrom(null, true, false, [], {}),
  fc.array(weirdNumber, { maxLength: 3 }),
  fc.dictionary(weirdString, weirdNumber, { maxKeys: 3 }),
);

/** Objects shaped like `fields`, each field either right-ish or weird, sometimes missing, sometimes extra ones. */
export function messageLike(type: fc.Arbitrary<unknown>, fields: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<Record<string, unknown>> {
  const record: Record<string, fc.Arbitrary<unknown>> = { type };
  for (const [name, good] of Object.entries(fields)) record[name] = fc.oneof(good, weirdValue);
  return fc
    .tuple(fc.record(record, { requiredKeys: [] }), fc.dictionary(weirdString, weirdValue, { maxKeys: 2 }))
    .map(([message, extra]) => ({ ...extra, ...message }));
}

/** Text frames a page could (or should never) send on a terminal socket. */
export const clientText: fc.Arbitrary<string> = fc.oneof(
  messageLike(fc.constantFrom(...CLIENT_MESSAGE_TYPES), {
    cols: fc.integer({ min: 0, max: 600 }),
    rows: fc.integer({ min: 0, max: 250 }),
    bytes: fc.nat(),
  }).map((m) => JSON.stringify(m)),
  messageLike(weirdValue, {}).map((m) => JSON.stringify(m)),
  weirdValue.map((v) => JSON.stringify(v) ?? ''),
  weirdString,
  fc.constantFrom('', '{', '[', '{"type":', 'null', '{"type":"resize","cols":1e999,"rows":24}', '{"type":"ack","bytes":1e999}', '{"__proto__":{"type":"ack"}}'),
);

/** encodeURIComponent, with lone surrogates (which it refuses) sent as the raw bytes they would be. */
export function uriPart(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    return '%ED%A0%80';
  }
}
