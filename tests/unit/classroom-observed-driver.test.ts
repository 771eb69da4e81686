// The driver wrapper that lets the classroom watch terminals: it sees each
// command's end (OSC 133 D and its status) and the student's keystrokes,
// feeds read-only watchers, and leaves the output a driver keeps for its
// first listener (the first prompt) to that listener.
import { describe, expect, it } from 'vitest';
import type { Disposable, Sandbox, SandboxDriver, TerminalSize, TerminalStream } from '../../sandbox-server/src/drivers/driver.ts';
import { ObservedDriver } from '../../sandbox-server/src/classroom/observed-driver.ts';

/** Like the agent's terminals: output printed before anyone listens goes to the first listener. */
class BufferingStream implements TerminalStream {
  readonly name = '1';
  readonly written: string[] = [];
  readonly #listeners = new Set<(chunk: Buffer) => void>();
  #unheard: Buffer[] = [];
  emit(text: string): void {
    const chunk = Buffer.from(text);
    if (this.#listeners.size === 0) this.#unheard.push(chunk);
    for (const listener of this.#listeners) listener(chunk);
  }
  onData(listener: (chunk: Buffer) => void): Disposable {
    this.#listeners.add(listener);
    const unheard = Buffer.concat(this.#unheard);
    this.#unheard = [];
    if (unheard.length > 0) listener(unheard);
    return { dispose: () => this.#listeners.delete(listener) };
  }
  onExit(): Disposable {
    return { dispose() {} };
  }
  write(data: Buffer | string): void {
    this.written.push(String(data));
  }
  resize(_size: TerminalSize): void {}
  pause(): void {}
  resume(): void {}
  close(): void {}
}

function driverWith(stream: BufferingStream): SandboxDriver {
  const sandbox: Sandbox = {
    id: 'abc',
    openTerminal: async () => stream,
    usage: async () => ({ memoryBytes: 0, cpuSeconds: 0, pids: 0 }),
    exec: async () => ({ code: 0, stdout: '', stderr: '' }),
    onExit: () => ({ dispose() {} }),
    destroy: async () => {},
    restoredTerminals: () => [],
    detach: async () => ({ kept: true }),
  };
  return {
    name: 'namespace',
    checkHost: async () => {},
    prepare: async () => {},
    create: async () => sandbox,
    adopt: async () => sandbox,
    cleanupLeftovers: async () => 0,
  };
}

describe('ObservedDriver', () => {
  it("reports each command's end with its status, and activity, while the manager still gets every byte", async () => {
    const inner = new BufferingStream();
    const finished: [string, string, number | undefined][] = [];
    const driver = new ObservedDriver(driverWith(inner), { commandFinished: (sandbox, terminal, status) => finished.push([sandbox, terminal, status]) });
    const sandbox = await driver.create({ id: 'abc', limits: { memoryBytes: 1, cpus: 1, pids: 1, diskBytes: 1 }, docker: false });
    const terminal = await sandbox.openTerminal('1', { cols: 80, rows: 24 });
    inner.emit('\x1b]133;A\x07student@tp-docker:~$ \x1b]133;B\x07');

    const received: string[] = [];
    terminal.onData((chunk) => received.push(chunk.toString()));
    expect(received.join('')).toContain('student@tp-docker:~$ ');

    expect(driver.sandbox('abc')!.lastActivityAt).toBe(0);
    terminal.write('false\r');
    expect(inner.written).toEqual(['false\r']);
    expect(driver.sandbox('abc')!.lastActivityAt).toBeGreaterThan(0);

    // A mark cut across two chunks still counts, once.
    inner.emit('\x1b]133;C\x07\x1b]133;D;');
    inner.emit('1\x07\x1b]133;A\x07');
    expect(finished).toEqual([['abc', '1', 1]]);
    expect(received.join('')).toContain('\x1b]133;D;1\x07');
  });

  it('feeds watchers the live output, and stops when they leave', async () => {
    const inner = new BufferingStream();
    const driver = new ObservedDriver(driverWith(inner), { commandFinished() {} });
    const sandbox = await driver.create({ id: 'abc', limits: { memoryBytes: 1, cpus: 1, pids: 1, diskBytes: 1 }, docker: false });
    const terminal = await sandbox.openTerminal('1', { cols: 80, rows: 24 });
    terminal.onData(() => {});
    const seen: string[] = [];
    const watching = driver
      .sandbox('abc')!
      .terminal('1')!
      .watch((chunk) => seen.push(chunk.toString()));
    inner.emit('hello');
    watching.dispose();
    inner.emit('bye');
    expect(seen).toEqual(['hello']);
    // Opening the same terminal again gives the same wrapper.
    expect(await sandbox.openTerminal('1', { cols: 80, rows: 24 })).toBe(terminal);
  });
});
