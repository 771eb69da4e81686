// Raw HTTP for the fuzz tests: bytes on a TCP socket, so that nothing
// (fetch, undici) tidies up a request line or a header before the server
// sees it; and the checks every answer must pass.
import { connect } from 'node:net';
import { expect } from 'vitest';
import { ERROR_CODES } from '../../contracts/protocol.ts';

/** Sends `request` as is; resolves with what came back before the server closed, or after `timeoutMs` of silence. */
export function rawRequest(port: number, request: Buffer | string, timeoutMs = 5_000): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(Buffer.concat(chunks).toString('latin1'));
    };
    let timer = setTimeout(done, timeoutMs);
    socket.on('data', (chunk) => {
      chunks.push(chunk);
      // An answer's head is all we judge; a WebSocket left open is closed by us.
      clearTimeout(timer);
      timer = setTimeout(done, 200);
    });
    socket.on('error', done);
    socket.on('close', done);
    socket.write(request);
    socket.end();
  });
}

/** An API answer: below 500 (503 for capacity aside), and a refusal says why with a known code. */
export function expectApiAnswer(status: number, body: string, what: string): void {
  expect(status, `${what} → ${status} ${body.slice(0, 300)}`).not.toBe(500);
  expect(status >= 500 && status !== 503, `${what} → ${status}`).toBe(false);
  if (status >= 400 && body.length > 0) {
    let parsed: { error?: { code?: string; message?: string } };
    try {
      parsed = JSON.parse(body) as typeof parsed;
    } catch {
      throw new Error(`${what} → ${status} with a body that is not JSON: ${body.slice(0, 200)}`);
    }
    expect(ERROR_CODES as readonly string[], `${what} → ${body.slice(0, 300)}`).toContain(parsed.error?.code);
    expect(parsed.error?.message, what).toEqual(expect.any(String));
  }
}
