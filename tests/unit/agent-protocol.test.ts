import { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { AgentSession } from '../../sandbox-server/src/drivers/agent-session.ts';
import {
  FrameDecoder,
  FrameKind,
  MAX_DATA_PAYLOAD,
  MAX_FRAME_BYTES,
  ProtocolError,
  decodeControl,
  encodeControl,
  encodeData,
  encodeFrame,
  parseAgentConfig,
} from '../../contracts/agent-protocol.ts';

describe('frames', () => {
  it('round-trips kind, channel and payload', () => {
    const frame = encodeFrame(FrameKind.Data, 7, Buffer.from([0, 1, 2, 255]));
    const [decoded] = new FrameDecoder().push(frame);
    expect(decoded).toEqual({ kind: FrameKind.Data, channel: 7, payload: Buffer.from([0, 1, 2, 255]) });
  });

  it('reassembles frames whatever the chunking, one byte at a time included', () => {
    const stream = Buffer.concat([
      encodeControl(FrameKind.Open, 1, { name: 'one', cols: 80, rows: 24 }),
      encodeFrame(FrameKind.Pause, 1),
      encodeFrame(FrameKind.Data, 1, 'héllo'),
      encodeFrame(FrameKind.Close, 1),
    ]);
    const decoder = new FrameDecoder();
    const frames = [...stream].flatMap((byte) => decoder.push(Buffer.from([byte])));
    expect(frames.map((frame) => frame.kind)).toEqual([FrameKind.Open, FrameKind.Pause, FrameKind.Data, FrameKind.Close]);
    expect(frames[2]!.payload.toString('utf8')).toBe('héllo');
    expect(decoder.bufferedBytes).toBe(0);
  });

  it('decodes several frames arriving in one chunk', () => {
    const chunk = Buffer.concat([encodeFrame(FrameKind.Resume, 3), encodeFrame(FrameKind.Resume, 4)]);
    expect(new FrameDecoder().push(chunk).map((frame) => frame.channel)).toEqual([3, 4]);
  });

  it('cuts big terminal output into frames under the limit, losing nothing', () => {
    const data = Buffer.alloc(MAX_DATA_PAYLOAD * 2 + 10, 0x61);
    const frames = encodeData(5, data);
    expect(frames).toHaveLength(3);
    const decoded = new FrameDecoder().push(Buffer.concat(frames));
    expect(Buffer.concat(decoded.map((frame) => frame.payload)).equals(data)).toBe(true);
  });

  it('refuses a frame announcing more than the limit, before buffering it', () => {
    const header = Buffer.alloc(9);
    header.writeUInt32BE(MAX_FRAME_BYTES, 0);
    header.writeUInt8(FrameKind.Data, 4);
    expect(() => new FrameDecoder().push(header)).toThrowErrorMatchingInlineSnapshot(`[ProtocolError: frame of 1048580 bytes exceeds the 1048576-byte limit]`);
  });

  it('refuses unknown kinds and truncated headers', () => {
    const unknown = encodeFrame(FrameKind.Data, 1);
    unknown.writeUInt8(99, 4);
    expect(() => new FrameDecoder().push(unknown)).toThrowErrorMatchingInlineSnapshot(`[ProtocolError: unknown frame kind 99]`);
    const short = Buffer.alloc(4);
    short.writeUInt32BE(2, 0);
    expect(() => new FrameDecoder().push(short)).toThrowErrorMatchingInlineSnapshot(`[ProtocolError: frame length 2 is shorter than a frame header]`);
  });

  it('refuses to encode an oversized frame', () => {
    expect(() => encodeFrame(FrameKind.Data, 1, Buffer.alloc(MAX_FRAME_BYTES))).toThrow(ProtocolError);
  });
});

describe('control messages', () => {
  it('round-trips each typed message', () => {
    const frame = new FrameDecoder().push(encodeControl(FrameKind.Exit, 2, { code: null, signal: 9 }))[0]!;
    expect(decodeControl(FrameKind.Exit, frame)).toEqual({ code: null, signal: 9 });
  });

  it('says what is wrong with a bad message', () => {
    const badName = new FrameDecoder().push(encodeFrame(FrameKind.Open, 1, JSON.stringify({ name: '../x', cols: 80, rows: 24 })))[0]!;
    expect(() => decodeControl(FrameKind.Open, badName)).toThrow(/a terminal name is/);
    const notJson = new FrameDecoder().push(encodeFrame(FrameKind.Resize, 1, '{cols'))[0]!;
    expect(() => decodeControl(FrameKind.Resize, notJson)).toThrowErrorMatchingInlineSnapshot(`[ProtocolError: Resize frame payload is not JSON]`);
    const wrongKind = new FrameDecoder().push(encodeFrame(FrameKind.Pause, 1))[0]!;
    expect(() => decodeControl(FrameKind.Resize, wrongKind)).toThrowErrorMatchingInlineSnapshot(`[ProtocolError: expected a Resize frame, got Pause]`);
  });
});

describe('agent configuration', () => {
  const valid = {
    transport: 'unix:/.sandbox/run/agent.sock',
    hostname: 'tp-docker',
    docker: true,
    user: 'student',
    terminalPidsMax: 250,
    writeIdentity: true,
  };

  it('parses a valid configuration', () => {
    expect(parseAgentConfig(JSON.stringify(valid))).toEqual(valid);
  });

  it('names the faulty field', () => {
    expect(() => parseAgentConfig(JSON.stringify({ ...valid, transport: 'tcp:10.1.2.3' }))).toThrowErrorMatchingInlineSnapshot(
      `[ProtocolError: SANDBOX_AGENT_CONFIG: transport must be "stdio", "unix:/path" or "listen:/path"]`,
    );
    expect(() => parseAgentConfig(JSON.stringify({ ...valid, hostname: 'my_name_is_bob' }))).toThrowErrorMatchingInlineSnapshot(
      `[ProtocolError: SANDBOX_AGENT_CONFIG: hostname must be a valid host name]`,
    );
    expect(parseAgentConfig(JSON.stringify({ ...valid, registryNamespace: 'lecteur-0123456789' })).registryNamespace).toBe('lecteur-0123456789');
    // It ends up in a shell profile: nothing but the namespace's own characters.
    expect(() => parseAgentConfig(JSON.stringify({ ...valid, registryNamespace: 'lecteur-x; rm -rf /' }))).toThrowErrorMatchingInlineSnapshot(
      `[ProtocolError: SANDBOX_AGENT_CONFIG: registryNamespace must be lecteur- and 10 hex digits]`,
    );
    expect(() => parseAgentConfig(undefined)).toThrowErrorMatchingInlineSnapshot(
      `[ProtocolError: SANDBOX_AGENT_CONFIG is not set: the agent is started by the sandbox driver, not by hand]`,
    );
  });
});

describe('the host session over a byte stream', () => {
  // A stream whose far end is this test: what the host writes is collected,
  // what the "agent" says is pushed in whole chunks.
  function agentEnd() {
    const fromHost: Buffer[] = [];
    const stream = new Duplex({
      read() {},
      write(chunk: Buffer, _encoding, done) {
        fromHost.push(chunk);
        done();
      },
    });
    const framesFromHost = () => new FrameDecoder().push(Buffer.concat(fromHost));
    return { stream, framesFromHost };
  }

  it('keeps the first output that arrives in the same chunk as Opened', async () => {
    const { stream, framesFromHost } = agentEnd();
    const session = new AgentSession(stream, () => {});
    const opening = session.openTerminal('1', { cols: 80, rows: 24 });
    await new Promise((resolve) => setImmediate(resolve)); // the Open frame goes out
    const [open] = framesFromHost();
    expect(decodeControl(FrameKind.Open, open!)).toEqual({ name: '1', cols: 80, rows: 24 });
    stream.push(
      Buffer.concat([
        encodeControl(FrameKind.Opened, open!.channel, { pid: 42, tty: '/dev/pts/0' }),
        encodeFrame(FrameKind.Data, open!.channel, 'student@tp-docker:~$ '),
      ]),
    );
    const terminal = await opening;
    const received = await new Promise<string>((resolve) => terminal.onData((chunk) => resolve(chunk.toString())));
    expect(received).toBe('student@tp-docker:~$ ');
  });

  it('closes the session when the agent breaks the protocol, and says why', async () => {
    const { stream } = agentEnd();
    const session = new AgentSession(stream, () => {});
    const closed = new Promise<string>((resolve) => session.onClose(resolve));
    stream.push(encodeFrame(FrameKind.Open, 0, '{}')); // only the host opens terminals
    expect(await closed).toMatch(/agent broke the protocol: the agent may not send Open frames/);
    await expect(session.openTerminal('1', { cols: 80, rows: 24 })).rejects.toThrowErrorMatchingInlineSnapshot(
      `[Error: the sandbox is gone (agent broke the protocol: the agent may not send Open frames)]`,
    );
  });
});
