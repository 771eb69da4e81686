// The link between the Node agent and the terminal keeper in front of it
// (terminal-keeper.c): the agent's fd 3, a socketpair the keeper made. Frames
// have the host protocol's layout (contracts/agent-protocol.ts); the host's
// kinds pass through it unchanged, and these few, which the host never sees,
// are the agent's requests to the keeper and the keeper's news of its
// terminals. Their numbers are the C file's too (a unit test compares them).
import { FrameKind, encodeFrameOfKind } from '../../contracts/agent-protocol.ts';

export const LinkKind = {
  /** agent → keeper: set up, now serve the host. NUL-separated: transport, hostname. */
  Ready: 100,
  /** agent → keeper: start a shell on a new pty (spawnPayload). */
  Spawn: 101,
  /** keeper → agent: the shell runs. u32 pid, then its tty's path. */
  Spawned: 102,
  /** keeper → agent: the shell could not start; the host has been sent an Error. */
  SpawnFailed: 103,
  /** agent → keeper: a checked new window size. u16 cols, u16 rows. */
  SetSize: 104,
  /** keeper → agent: the shell is gone; the host has been sent its Exit. The same JSON Exit. */
  Exited: 105,
  /** keeper → agent: a host connection came (u8 1) or went (u8 0). */
  Host: 106,
  /** keeper → a restarted agent: a terminal that runs already (decodeAdopt). */
  Adopt: 107,
} as const;

/**
 * In the environment of an agent the keeper started again after the first
 * died: the machine is made already (dockerd runs, its files are written),
 * and its terminals come as Adopt messages.
 */
export const AGENT_RESTART_ENV = 'SANDBOX_AGENT_RESTART';

/** Every kind a link frame may have: the host's and the link's own. */
export const LINK_FRAME_KINDS: ReadonlySet<number> = new Set([...Object.values(FrameKind), ...Object.values(LinkKind)]);

/** The agent's fd the keeper's end of the link is on. */
export const LINK_FD = 3;

export interface ShellCommand {
  /** argv[0] is run as is (an absolute path: no PATH lookup). */
  argv: string[];
  env: Record<string, string>;
  cwd: string;
}

export function readyFrame(transport: string, hostname: string): Buffer {
  return encodeFrameOfKind(LinkKind.Ready, 0, Buffer.from(`${transport}\0${hostname}\0`));
}

export function spawnFrame(channel: number, name: string, cols: number, rows: number, command: ShellCommand): Buffer {
  const fields = [name, command.cwd, ...command.argv, '', ...Object.entries(command.env).map(([key, value]) => `${key}=${value}`)];
  if (fields.some((field, index) => field.includes('\0') || (field === '' && index !== 2 + command.argv.length))) {
    throw new Error('a shell command may not hold NUL bytes or empty fields');
  }
  return encodeFrameOfKind(LinkKind.Spawn, channel, Buffer.concat([sizeBytes(cols, rows), Buffer.from(`${fields.join('\0')}\0`)]));
}

export function setSizeFrame(channel: number, cols: number, rows: number): Buffer {
  return encodeFrameOfKind(LinkKind.SetSize, channel, sizeBytes(cols, rows));
}

/** A window size as the keeper reads it: u16 cols, u16 rows. */
function sizeBytes(cols: number, rows: number): Buffer {
  const size = Buffer.alloc(4);
  size.writeUInt16BE(cols, 0);
  size.writeUInt16BE(rows, 2);
  return size;
}

/** Adopt: u32 pid, then NUL-terminated: the terminal's name, its tty. */
export function decodeAdopt(payload: Buffer): { pid: number; name: string; tty: string } {
  const fields = payload.subarray(4).toString('utf8').split('\0');
  if (payload.length < 4 || fields.length !== 3 || fields[2] !== '' || !fields[0]) throw new Error('a malformed Adopt message');
  return { pid: payload.readUInt32BE(0), name: fields[0], tty: fields[1]! };
}

export function decodeSpawned(payload: Buffer): { pid: number; tty: string } {
  if (payload.length < 4) throw new Error('a Spawned message too short for a pid');
  return { pid: payload.readUInt32BE(0), tty: payload.subarray(4).toString('utf8') };
}
