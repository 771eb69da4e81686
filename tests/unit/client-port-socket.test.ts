// The browser machine's terminals speak the sandbox server's protocol: a real
// TerminalSession over a PortSocket must connect, get the replay, send input
// and sizes to the machine, and hear when its machine is gone.
import { describe, expect, it } from 'vitest';
import { CloseCode } from '../../contracts/protocol.ts';
import type { TerminalSize } from '../../contracts/sizes.ts';
import { PortSocket, type PortHost } from '../../src/client/browser-machine/port-socket.ts';
import { TerminalSession, type SessionState } from '../../src/client/terminal-session.ts';

const settle = () => new Promise((done) => setTimeout(done, 0));
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

class FakeMachine implements PortHost {
  inputs: string[] = [];
  sizes: TerminalSize[] = [];
  attached = new Map<number, PortSocket>();
  screen(): Uint8Array {
    return new TextEncoder().encode('student@tp-docker:~$ ');
  }
  input(_port: number, bytes: Uint8Array): void {
    this.inputs.push(text(bytes));
  }
  resize(_port: number, size: TerminalSize): void {
    this.sizes.push(size);
  }
  attach(port: number, socket: PortSocket): void {
    this.attached.set(port, socket);
  }
  detach(port: number, socket: PortSocket): void {
    if (this.attached.get(port) === socket) this.attached.delete(port);
  }
}

function open(machine: FakeMachine) {
  const states: SessionState[] = [];
  const output: { text: string; replay: boolean }[] = [];
  const session = new TerminalSession({
    url: (size) => `browser-machine:navigateur-1/1?cols=${size.cols}&rows=${size.rows}`,
    size: { cols: 100, rows: 30 },
    socket: () => new PortSocket(machine, 'navigateur-1', '1', 0, { cols: 100, rows: 30 }),
    events: {
      state: (state) => states.push(state),
      output: (bytes, replay, written) => {
        output.push({ text: text(bytes), replay });
        written();
      },
    },
  });
  session.connect();
  return { session, states, output };
}

describe('PortSocket', () => {
  it('connects a TerminalSession with a ready frame, then replays what the terminal showed', async () => {
    const machine = new FakeMachine();
    const { session, states, output } = open(machine);
    await settle();
    expect(states).toEqual(['connecting', 'connected']);
    expect(session.connected).toBe(true);
    expect(output).toEqual([{ text: 'student@tp-docker:~$ ', replay: true }]);
    expect(machine.sizes).toEqual([{ cols: 100, rows: 30 }]);
    machine.attached.get(0)?.deliver(new TextEncoder().encode('ls\r\n'));
    expect(output.at(-1)).toEqual({ text: 'ls\r\n', replay: false });
  });

  it('sends typed input and new sizes to the machine; acks are not its business', async () => {
    const machine = new FakeMachine();
    const { session } = open(machine);
    await settle();
    expect(session.input('hostname\r')).toBe(true);
    expect(session.resize(90, 25)).toBe(true);
    expect(machine.inputs).toEqual(['hostname\r']);
    expect(machine.sizes.at(-1)).toEqual({ cols: 90, rows: 25 });
  });

  it('tells the session its machine is gone when the machine is reset', async () => {
    const machine = new FakeMachine();
    const { session, states } = open(machine);
    await settle();
    machine.attached.get(0)?.close(CloseCode.gone, 'machine reset');
    expect(states.at(-1)).toBe('machine-gone');
    expect(session.input('x')).toBe(false);
    expect(machine.attached.size).toBe(0);
  });
});
