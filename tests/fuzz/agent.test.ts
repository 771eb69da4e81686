// Agent frames, both directions: the real agent (its terminal keeper and its
// Node side) serving real ptys (a plain /bin/sh here, on the host, no
// sandbox), and the server's real AgentSession, each fed what a broken or hostile peer sends
// (frames truncated, oversized, with wrong lengths, unknown kinds, valid
// kinds with wrong JSON). Neither may throw; the agent keeps serving its
// other terminals unless the byte stream itself is unreadable, in which case
// it closes it cleanly; the session closes with a reason.
import { duplexPair, type Duplex } from 'node:stream';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { FrameDecoder, FrameKind, MAX_FRAME_BYTES, PROTOCOL_VERSION, encodeControl, encodeFrame } from '../../contracts/agent-protocol.ts';
import { type AgentHarness, answerOn, startAgentHarness, until } from '../support/agent-harness.ts';
import { AgentSession } from '../../sandbox-server/src/drivers/agent-session.ts';
import { messageLike, weirdNumber, weirdString, weirdValue } from './arbitraries.ts';
import { fuzz, newTally, reportTally } from './fuzz-run.ts';

const tally = newTally();
afterAll(() => reportTally('agent', tally));

// Each case gets a fresh agent, a keeper and a Node process: the next one starts while a case runs.
let nextAgent: AgentHarness | undefined;
afterAll(() => nextAgent?.end());
const startAgent = (): AgentHarness => {
  const agent = nextAgent ?? startAgentHarness({ hostname: 'fuzz' });
  nextAgent = startAgentHarness({ hostname: 'fuzz' });
  return agent;
};

/** Channel 1 is the witness terminal: after every case it must still echo. */
const witnessEchoes = (agent: AgentHarness, marker: string) => answerOn(agent, 1, marker);

const channel = fc.oneof(fc.constantFrom(0, 2, 3, 0xffffffff), fc.nat());
/** Host → agent control payloads: every kind the agent accepts, shaped right or wrong. */
const hostPayload = fc
  .oneof(
    messageLike(fc.constant(undefined), {
      name: fc.constantFrom('2', 'x', 'two'),
      cols: fc.integer({ min: 0, max: 600 }),
      rows: fc.integer({ min: 0, max: 300 }),
    }),
    messageLike(fc.constant(undefined), { cols: weirdNumber, rows: weirdNumber }),
    // Exec with a harmless command only: this agent runs on the host, as root.
    messageLike(fc.constant(undefined), { argv: fc.constant(['/bin/true']), timeoutMs: fc.integer({ min: 0, max: 5000 }) }).map((m) =>
      Array.isArray(m.argv) && m.argv[0] === '/bin/true' ? m : { ...m, argv: 42 },
    ),
    weirdValue,
  )
  .map((value) => JSON.stringify(value) ?? '');
const hostKind = fc.constantFrom(
  FrameKind.Open,
  FrameKind.Data,
  FrameKind.Resize,
  FrameKind.Pause,
  FrameKind.Resume,
  FrameKind.Close,
  FrameKind.Exec,
  FrameKind.Hello,
  FrameKind.Exit,
  FrameKind.Log,
);
const wellFramed = fc
  .tuple(
    hostKind,
    channel,
    fc.oneof(
      hostPayload,
      fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
    ),
  )
  .map(([kind, ch, payload]) => ({
    bytes: encodeFrame(kind, ch, payload),
    breaksStream: false,
  }));
/** Bytes that break the framing itself: the agent must close the stream, not throw. */
const badlyFramed = fc.oneof(
  fc.integer({ min: 0, max: 4 }).map((length) => ({ bytes: Buffer.from([0, 0, 0, length, 4, 0, 0, 0, 9]), breaksStream: true })),
  fc.integer({ min: MAX_FRAME_BYTES, max: 0xffffffff }).map((length) => {
    const bytes = Buffer.alloc(9);
    bytes.writeUInt32BE(length, 0);
    return { bytes, breaksStream: true };
  }),
  fc.integer({ min: 16, max: 255 }).map((kind) => ({ bytes: Buffer.from([0, 0, 0, 5, kind, 0, 0, 0, 2]), breaksStream: true })),
);
/** A frame cut short: harmless until the rest comes, so the rest is never sent (the next case gets a fresh agent). */
const truncated = wellFramed.chain(({ bytes }) =>
  fc.integer({ min: 1, max: Math.max(1, bytes.length - 1) }).map((cut) => ({ bytes: bytes.subarray(0, cut), breaksStream: false, truncated: true })),
);

describe('host → agent', () => {
  it('no frame sequence makes the agent throw; its witness terminal keeps answering', async () => {
    let round = 0;
    await fuzz(
      tally,
      60,
      fc.array(fc.oneof({ weight: 6, arbitrary: wellFramed }, { weight: 1, arbitrary: badlyFramed }, { weight: 1, arbitrary: truncated }), {
        minLength: 1,
        maxLength: 8,
      }),
      async (sequence) => {
        const agent = startAgent();
        try {
          await until(() => agent.frames.some((f) => f.kind === FrameKind.Hello), 'Hello');
          agent.host.write(encodeControl(FrameKind.Open, 1, { name: 'witness', cols: 80, rows: 24 }));
          await until(() => agent.frames.some((f) => f.kind === FrameKind.Opened && f.channel === 1), 'the witness terminal');
          let broken = false;
          let cut = false;
          for (const item of sequence) {
            if (cut) break;
            // The witness's own channel is left alone (a Close there would be a fair reason to stop answering).
            const [frame] = item.breaksStream || 'truncated' in item ? [undefined] : new FrameDecoder().push(item.bytes);
            if (frame && frame.channel === 1) continue;
            agent.host.write(item.bytes);
            broken ||= item.breaksStream;
            cut ||= 'truncated' in item;
          }
          if (broken) {
            await until(agent.isClosed, 'the agent to close an unreadable stream');
          } else if (!cut) {
            await witnessEchoes(agent, `case${round++}`);
          }
        } finally {
          // The host goes away, as a server stopping does: the agent hangs every terminal up.
          agent.host.end();
          await until(agent.isClosed, 'the agent to shut down');
        }
      },
    );
  });

  it('applies every size it accepts to the real pty, and refuses the others with an Error frame', async () => {
    const agent = startAgent();
    try {
      agent.host.write(encodeControl(FrameKind.Open, 1, { name: 'witness', cols: 80, rows: 24 }));
      await until(() => agent.frames.some((f) => f.kind === FrameKind.Opened), 'the terminal');
      await fuzz(tally, 100, fc.tuple(weirdNumber, weirdNumber), async ([cols, rows]) => {
        const errorsBefore = agent.frames.filter((f) => f.kind === FrameKind.Error).length;
        agent.host.write(encodeFrame(FrameKind.Resize, 1, JSON.stringify({ cols, rows })));
        const marker = `s${tally.cases}`;
        await witnessEchoes(agent, marker);
        // The keeper applies a well-formed size itself and leaves the rest to the Node agent, whose
        // answers come in order: once an Exec sent after the resize is done, its Error would be here.
        const barrier = 1000 + tally.cases;
        agent.host.write(encodeControl(FrameKind.Exec, barrier, { argv: ['/bin/true'], timeoutMs: 5000 }));
        await until(() => agent.frames.some((f) => f.kind === FrameKind.ExecDone && f.channel === barrier), 'the barrier command');
        expect(agent.isClosed()).toBe(false);
        const refused = agent.frames.filter((f) => f.kind === FrameKind.Error).length > errorsBefore;
        const valid = Number.isInteger(cols) && Number.isInteger(rows) && cols >= 2 && cols <= 500 && rows >= 1 && rows <= 200;
        expect(refused).toBe(!valid);
      });
    } finally {
      agent.host.end();
      await until(agent.isClosed, 'the agent to shut down');
    }
  });
});

describe('agent → host', () => {
  /** A session whose agent end the test writes: what root inside a machine could send. */
  function startSession() {
    const [agentEnd, hostEnd] = duplexPair();
    const logs: Record<string, unknown>[] = [];
    const session = new AgentSession(hostEnd as Duplex, (record) => logs.push(record), { sandbox: 'fuzz' });
    let closedWith: string | undefined;
    session.onClose((reason) => (closedWith = reason));
    return { agentEnd, session, logs, closedWith: () => closedWith };
  }

  const agentKind = fc.constantFrom(
    FrameKind.Hello,
    FrameKind.Opened,
    FrameKind.Data,
    FrameKind.Exit,
    FrameKind.Error,
    FrameKind.Log,
    FrameKind.ExecDone,
    FrameKind.SnapshotDone,
    FrameKind.Open,
    FrameKind.Resize,
  );
  const agentPayload = fc
    .oneof(
      messageLike(fc.constant(undefined), { protocol: fc.constant(1), pid: fc.integer({ min: 1, max: 100 }), hostname: weirdString }),
      messageLike(fc.constant(undefined), { pid: fc.integer({ min: 1, max: 100 }), tty: fc.constant('/dev/pts/0') }),
      messageLike(fc.constant(undefined), { code: fc.integer({ min: -1, max: 256 }), signal: fc.constantFrom(null, 9) }),
      messageLike(fc.constant(undefined), { level: fc.constantFrom('info', 'warn', 'bogus'), msg: weirdString, pid: weirdValue, time: weirdValue }),
      weirdValue,
    )
    .map((value) => JSON.stringify(value) ?? '');
  const agentFrame = fc.oneof(
    { weight: 8, arbitrary: fc.tuple(agentKind, channel, agentPayload).map(([kind, ch, payload]) => encodeFrame(kind, ch, payload)) },
    { weight: 1, arbitrary: badlyFramed.map((item) => item.bytes) },
    { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 32 }).map((b) => Buffer.from(b)) },
  );

  it('nothing the agent sends makes the session throw; it closes with a reason or carries on', async () => {
    await fuzz(tally, 300, fc.tuple(fc.array(agentFrame, { minLength: 1, maxLength: 6 }), fc.boolean()), async ([frames, openFirst]) => {
      const { agentEnd, session, closedWith } = startSession();
      agentEnd.write(encodeControl(FrameKind.Hello, 0, { protocol: PROTOCOL_VERSION, pid: 1, hostname: 'fuzz', terminals: [] }));
      const opening = openFirst
        ? session.openTerminal('1', { cols: 80, rows: 24 }).then(
            () => 'opened',
            (error: Error) => error.message,
          )
        : undefined;
      const executing = session.exec(['true'], 1000).then(
        () => 'done',
        (error: Error) => error.message,
      );
      for (const bytes of frames) agentEnd.write(bytes);
      await new Promise((resolve) => setImmediate(resolve));
      session.close('end of case');
      // Whatever was pending settles: a promise left hanging would be a reader's click that never answers.
      await expect(executing).resolves.toEqual(expect.any(String));
      if (opening) await expect(opening).resolves.toEqual(expect.any(String));
      expect(closedWith()).toEqual(expect.any(String));
    });
  });
});
