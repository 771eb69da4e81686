// The terminal session's error frames in the reader's words: the French
// catalogue comes with the first error frame (a first prompt needs none of
// it), and what the socket says after that frame waits for it, in order, so
// the close that follows an error still carries its French words.
import { describe, expect, it, vi } from 'vitest';
import { CloseCode } from '../../contracts/errors.ts';
import { ERROR_WORDS_FR } from '../../contracts/messages.fr.ts';
import { TerminalSession, type SocketLike } from '../../src/client/terminal-session.ts';

function fakeSocket(): SocketLike & { sent: unknown[] } {
  return {
    binaryType: 'blob',
    readyState: 1,
    onopen: null,
    onmessage: null,
    onclose: null,
    onerror: null,
    sent: [],
    send(data) {
      this.sent.push(data);
    },
    close() {},
  };
}

describe('error frames', () => {
  it('reach the page in French, and what follows them keeps its order', async () => {
    const sockets: ReturnType<typeof fakeSocket>[] = [];
    const seen: string[] = [];
    const session = new TerminalSession({
      url: () => 'ws://127.0.0.1/api/sandboxes/x/terminals/1',
      size: { cols: 80, rows: 24 },
      socket: () => {
        const socket = fakeSocket();
        sockets.push(socket);
        return socket;
      },
      events: {
        state: (state, detail) => seen.push(`state ${state}${detail.error ? `: ${detail.error.message}` : ''}`),
        output: (bytes, _replay, written) => {
          seen.push(`output ${new TextDecoder().decode(bytes)}`);
          written();
        },
        error: (error) => seen.push(`error ${error.message}`),
      },
    });
    session.connect();
    const socket = sockets[0]!;
    socket.onmessage?.({ data: JSON.stringify({ type: 'ready', sandbox: 'x', terminal: '1', cols: 80, rows: 24, resumed: false, replayBytes: 0 }) });
    socket.onmessage?.({ data: JSON.stringify({ type: 'error', code: 'taken-over', message: 'This terminal was opened in another window or tab.' }) });
    socket.onmessage?.({ data: new TextEncoder().encode('late').buffer });
    socket.onclose?.({ code: CloseCode.takenOver, reason: 'attached elsewhere' });

    const words = ERROR_WORDS_FR['taken-over'].message;
    await vi.waitFor(() => expect(seen.at(-1)).toBe(`state taken-over: ${words}`));
    expect(seen).toEqual(['state connecting', 'state connected', `error ${words}`, 'output late', `state taken-over: ${words}`]);
    expect(seen.join('\n')).not.toContain('another window');

    // Loaded once: a second error frame is in French at once.
    session.connect();
    const again = sockets[1]!;
    again.onmessage?.({ data: JSON.stringify({ type: 'error', code: 'invalid-size', message: 'Bad size.' }) });
    expect(seen.at(-1)).toBe(`error ${ERROR_WORDS_FR['invalid-size'].message}`);
  });
});
