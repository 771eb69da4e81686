import { describe, expect, it } from 'vitest';
import { TerminalReader, type TerminalDataSource } from '../support/terminal-reader.ts';

// A source we push bytes through by hand, cut wherever a test likes.
function source(): TerminalDataSource & { emit(chunk: string | Buffer): void } {
  let listener: ((chunk: Buffer | Uint8Array | string) => void) | undefined;
  return {
    onData(next) {
      listener = next;
      return { dispose: () => (listener = undefined) };
    },
    emit: (chunk) => listener?.(chunk),
  };
}

const PROMPT = '\x1b]133;A\x07\x1b[01;32mstudent@tp-docker\x1b[00m:~$ \x1b]133;B\x07';

describe('TerminalReader', () => {
  it('strips escapes, keeps text, and records OSC 133 marks with exit statuses', () => {
    const bytes = source();
    const reader = new TerminalReader(bytes);
    bytes.emit(`${PROMPT}ls\r\n\x1b]133;C\x07a  b\r\n\x1b]133;D;2\x07${PROMPT}`);
    expect(reader.text).toBe('student@tp-docker:~$ ls\na  b\nstudent@tp-docker:~$ ');
    expect(reader.marks.map((mark) => mark.kind)).toEqual(['A', 'B', 'C', 'D', 'A', 'B']);
    expect(reader.marks[3]).toMatchObject({ kind: 'D', exitCode: 2 });
  });

  it('copes with escapes, UTF-8 and \\r\\n cut across chunks', () => {
    const bytes = source();
    const reader = new TerminalReader(bytes);
    const all = Buffer.from(`${PROMPT}echo é\r\n\x1b]133;C\x07é\r\n\x1b]133;D;0\x07`);
    for (const byte of all) bytes.emit(Buffer.from([byte]));
    expect(reader.text).toBe('student@tp-docker:~$ echo é\né\n');
    expect(reader.marks.map((mark) => mark.kind).join('')).toBe('ABCD');
  });

  it('runs a command: its output and status, and nothing of the echo or prompt', async () => {
    const bytes = source();
    const reader = new TerminalReader(bytes, (typed) => {
      // A shell in miniature: echo, run, finish, prompt again.
      queueMicrotask(() => bytes.emit(`${typed.trim()}\r\n\x1b]133;C\x07hello\r\n\x1b]133;D;0\x07${PROMPT}`));
    });
    bytes.emit(PROMPT);
    await reader.waitForPrompt();
    expect(await reader.run('echo hello')).toEqual({ output: 'hello\n', exitCode: 0 });
  });

  it('does not take a prompt redrawn before the command ran for its end', async () => {
    const bytes = source();
    const reader = new TerminalReader(bytes, () => {
      // A resize redraws the prompt first; the command runs afterwards.
      queueMicrotask(() => bytes.emit(`\r${PROMPT}`));
      setTimeout(() => bytes.emit(`stty size\r\n\x1b]133;C\x0730 90\r\n\x1b]133;D;0\x07${PROMPT}`), 5);
    });
    bytes.emit(PROMPT);
    expect(await reader.run('stty size')).toEqual({ output: '30 90\n', exitCode: 0 });
  });

  it('says what it waited for and shows the end of the screen when it gives up', async () => {
    const bytes = source();
    const reader = new TerminalReader(bytes);
    bytes.emit('still booting…');
    await expect(reader.waitFor(/ready/, { timeoutMs: 50 })).rejects.toThrow(/no text matching \/ready\/ within 50 ms[\s\S]*still booting…/);
  });
});
