// How the server answers a connection its HTTP parser gives up on
// (sandbox-server/src/http/client-error.ts), through a real Node server and
// raw sockets: an idle spare connection (a browser's preconnect) is closed
// without a word, a half-sent request gets 408, garbage gets 400, oversized
// headers 431 — each with the API's JSON error.
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answerClientError } from '../../sandbox-server/src/http/client-error.ts';

let server: Server;
let port: number;

beforeAll(async () => {
  // Short timeouts checked often, so the timeouts fire within the test.
  server = createServer({ connectionsCheckingInterval: 50, headersTimeout: 300, requestTimeout: 300 }, (_req, res) => res.end('ok'));
  server.on('clientError', answerClientError);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** Writes `bytes` (nothing if empty) and collects everything the server sends until it closes. */
function exchange(bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      received += chunk;
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(received));
    if (bytes) socket.write(bytes);
  });
}

function statusAndError(answer: string): { status: number; code: unknown } {
  const status = Number(answer.split(' ')[1]);
  const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { error: { code: unknown } };
  return { status, code: body.error.code };
}

describe('a connection the HTTP parser gives up on', () => {
  it('closes an idle connection that sent nothing without answering it (a browser resends on it, never on a status)', async () => {
    expect(await exchange('')).toBe('');
  });

  it('answers 408 to a request whose headers stop half-way', async () => {
    expect(statusAndError(await exchange('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n'))).toEqual({ status: 408, code: 'invalid-request' });
  });

  it('answers 400 to bytes that are not HTTP', async () => {
    expect(statusAndError(await exchange('\u0001\u0002 not http\r\n\r\n'))).toEqual({ status: 400, code: 'invalid-request' });
  });

  it('answers 431 to headers larger than the parser takes', async () => {
    const answer = await exchange(`GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(statusAndError(answer)).toEqual({ status: 431, code: 'invalid-request' });
  });

  it('still answers a whole request', async () => {
    expect(await exchange('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n')).toMatch(/^HTTP\/1\.1 200 OK[\s\S]*ok$/);
  });
});
