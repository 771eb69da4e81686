// The real server (and real machines) against fuzzed input at every door:
// terminal WebSocket frames (text and binary, valid JSON of the wrong
// types, huge numbers, unicode, empty), REST methods, paths, query strings,
// bodies and headers, and raw request lines and upgrade requests. Through it
// all the server stays healthy and another reader's shell keeps answering.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloseCode, ERROR_CODES, MAX_CLIENT_FRAME_BYTES, apiPath } from '../../contracts/protocol.ts';
import { shutDown, startServer, type RunningServer } from '../support/server.ts';
import { TerminalClient, attachTerminal, createSandbox, deleteSandbox, type AttachedTerminal, type CreatedSandbox } from '../support/server-client.ts';
import { clientText, uriPart, weirdString, weirdValue } from './arbitraries.ts';
import { fuzz, newTally, reportTally } from './fuzz-run.ts';
import { expectApiAnswer, rawRequest } from './http-probe.ts';

const tally = newTally();
let server: RunningServer;
let target: CreatedSandbox;
let bystander: CreatedSandbox;
let witness: AttachedTerminal;
let checks = 0;
const closeCodes: number[] = [];
const created: { id: string; token: string }[] = [];

beforeAll(async () => {
  server = await startServer({ env: { SANDBOX_DOCKER: 'false', MAX_SANDBOXES_PER_CLIENT: '3', MAX_TERMINALS_PER_SANDBOX: '8' } });
  [target, bystander] = await Promise.all([createSandbox(server), createSandbox(server)]);
  witness = await attachTerminal(server, bystander, '1');
  await witness.reader.waitForPrompt();
});

afterAll(async () => {
  reportTally('server', tally);
  for (const sandbox of [target, bystander, ...created]) if (sandbox) await deleteSandbox(server, sandbox);
  const shutdown = await shutDown(server);
  expect(shutdown.code).toBe(0);
  expect(shutdown.leftovers).toEqual([]);
  expect(closeCodes).not.toContain(1006);
  expect(server.rawOutput.join('\n')).not.toMatch(/Uncaught|RangeError|TypeError/);
  expect(server.logs.filter((line) => line.site === 'uncaught-exception' || line.site === 'unhandled-rejection')).toEqual([]);
});

/** The server answers and the other reader's shell still runs commands (every few cases: a shell round trip is not free). */
async function everyoneElseFine(force = false): Promise<void> {
  if (!force && ++checks % 10 !== 0) return;
  expect(server.process.exitCode).toBeNull();
  expect((await fetch(new URL('healthz', server.url))).status).toBe(200);
  expect((await witness.reader.run(`echo fine-$((${checks}+1))`)).output.trim()).toBe(`fine-${checks + 1}`);
}

describe('terminal WebSocket frames', () => {
  const frame = fc.oneof(
    { weight: 5, arbitrary: clientText.map((text) => ({ text })) },
    { weight: 2, arbitrary: fc.uint8Array({ maxLength: 64 }).map((bytes) => ({ binary: Buffer.from(bytes) })) },
    { weight: 1, arbitrary: fc.integer({ min: MAX_CLIENT_FRAME_BYTES - 1, max: MAX_CLIENT_FRAME_BYTES + 2 }).map((size) => ({ text: ' '.repeat(size) })) },
    { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 16 }).map((bytes) => ({ invalidUtf8: Buffer.from([0xff, ...bytes]) })) },
  );

  it('every frame gets at most an error frame with a known code; the connection and everyone else carry on', async () => {
    let client = await TerminalClient.connect(server, target.id, 'fz', { token: target.token });
    await client.waitForMessage('ready');
    await fuzz(tally, 150, fc.array(frame, { minLength: 1, maxLength: 5 }), async (frames) => {
      if (client.ws.readyState !== client.ws.OPEN) {
        // The fuzzed bytes may have typed `exit` or Ctrl-D: that shell ended normally; open a new one.
        closeCodes.push((await client.closed).code);
        client = await TerminalClient.connect(server, target.id, 'fz', { token: target.token });
        await client.waitForMessage('ready');
      }
      for (const item of frames) {
        if ('text' in item) client.sendText(item.text);
        else if ('binary' in item) client.type(item.binary);
        else client.ws.send(item.invalidUtf8, { binary: false });
      }
      // A round trip through the same connection: everything before it was handled.
      client.control({ type: 'ack', bytes: 0 });
      await new Promise((resolve) => setTimeout(resolve, 5));
      for (const message of client.messages) {
        if (message.type === 'error') expect(ERROR_CODES).toContain(message.code);
      }
      await everyoneElseFine();
    });
    await client.close();
    await everyoneElseFine(true);
  });

  it('URLs with any name, size and token get a documented close code or a terminal', async () => {
    const name = fc.oneof(fc.constantFrom('1', 'url', 'x'.repeat(17), 'A', '-', '%2e%2e', '%00', 'ü'), weirdString.map(uriPart));
    const query = fc
      .array(fc.tuple(fc.constantFrom('cols', 'rows', 'token', 'x', ''), weirdString), { maxLength: 4 })
      .map((pairs) => pairs.map(([k, v]) => `${k}=${uriPart(v)}`).join('&'));
    const documented = new Set<number>([...Object.values(CloseCode)]);
    await fuzz(tally, 60, fc.tuple(fc.constantFrom(target.id, 'nope', '0'.repeat(32)), name, query, fc.boolean()), async ([id, terminal, extra, withToken]) => {
      const client = await TerminalClient.connect(server, id, terminal, { ...(withToken ? { token: target.token } : {}), query: extra }).catch(() => undefined);
      if (client) {
        const outcome = await Promise.race([client.waitForMessage('ready', 10_000).then(() => 'ready' as const), client.closed]);
        if (outcome === 'ready') {
          // A shell was opened under that name: end it, so the machine does not fill up with terminals.
          // (Ctrl-C first: a name may reach a shell the frame fuzzing left in a heredoc or a quote.)
          client.type('\x03\x15exit\r');
          const exited = await Promise.race([client.closed.then(() => true), new Promise<false>((resolve) => setTimeout(() => resolve(false), 10_000))]);
          if (!exited) await client.close();
        }
        const { code } = await client.closed;
        closeCodes.push(code);
        expect(documented.has(code as CloseCode), `close code ${code}`).toBe(true);
      }
      await everyoneElseFine();
    });
  });
});

describe('REST', () => {
  const method = fc.constantFrom('GET', 'POST', 'DELETE', 'PUT', 'PATCH', 'OPTIONS', 'HEAD');
  const path = fc.oneof(
    fc.constantFrom(apiPath.sandboxes(), 'api', 'api/', 'api/sandboxes/', 'healthz', 'metrics', 'api/class/me', 'api/class/classes'),
    fc.constantFrom('nope', '0'.repeat(32), 'A'.repeat(32), '..', '%2e%2e', '%00').map((id) => `api/sandboxes/${id}`),
    fc.constant(`api/sandboxes/${'f'.repeat(32)}`),
    weirdString.map((s) => `api/sandboxes/${uriPart(s)}`),
    weirdString.map((s) => `api/${uriPart(s)}`),
  );
  const query = fc.array(fc.tuple(weirdString, weirdString), { maxLength: 3 }).map((pairs) => new URLSearchParams(pairs).toString());
  const headers = fc.record(
    {
      authorization: fc.oneof(
        weirdString.map((s) => `Bearer ${s}`),
        fc.constant('Bearer'),
        fc.constant('Basic Zm9vOmJhcg=='),
      ),
      cookie: fc.oneof(
        weirdString.map((s) => `sandbox_token=${uriPart(s)}`),
        fc.constant('=;;=;'),
        fc.constant('sandbox_token'),
      ),
      origin: fc.oneof(
        fc.constant('null'),
        fc.constant('http://127.0.0.1:1'),
        weirdString.map((s) => `http://${uriPart(s)}`),
      ),
      'content-type': fc.constantFrom('application/json', 'text/plain', 'multipart/form-data; boundary=x', '*/*'),
      'x-forwarded-for': fc.constantFrom('10.1.2.3', 'garbage', '::1', ''),
    },
    { requiredKeys: [] },
  );
  const body = fc.oneof(
    fc.constant(undefined),
    weirdValue.map((v) => JSON.stringify(v) ?? ''),
    weirdString,
  );

  it('every request is answered below 500 with a known error code, and nothing breaks', async () => {
    await fuzz(tally, 150, fc.tuple(method, path, query, headers, body), async ([verb, where, search, extra, payload]) => {
      const url = new URL(where, server.url);
      url.search = search;
      const sendsBody = payload !== undefined && verb !== 'GET' && verb !== 'HEAD';
      const response = await fetch(url, { method: verb, headers: extra as Record<string, string>, ...(sendsBody ? { body: payload } : {}) }).catch(
        (error: unknown) => error as Error,
      );
      if (response instanceof Error) {
        // Only the client may refuse to send (a header value fetch will not put on the wire); the server never hangs up on a request.
        expect(String(response)).toMatch(/TypeError|invalid|header/i);
        return;
      }
      const text = await response.text();
      if (where.startsWith('api')) expectApiAnswer(response.status, text, `${verb} ${url.pathname}${url.search}`);
      else expect(response.status).toBeLessThan(500);
      if (response.status === 201) created.push(JSON.parse(text) as { id: string; token: string });
      await everyoneElseFine();
    });
  });
});

describe('raw requests', () => {
  const target = fc.oneof(
    fc.constantFrom(
      '/',
      '*',
      '//',
      'http://[',
      'http://x:99999/',
      '/api/sandboxes/%',
      '/%ZZ',
      `/${'a'.repeat(9000)}`,
      '/api/sandboxes/x/terminals/1',
      '/\u0000',
    ),
    weirdString.map((s) => `/api/sandboxes/${s}/terminals/${s}`),
    weirdString.map((s) => `/${s}`),
  );
  const upgrade = fc.boolean();
  const headerLines = fc.array(
    fc.tuple(
      fc.constantFrom('Host', 'Origin', 'Cookie', 'Content-Length', 'Transfer-Encoding', 'Sec-WebSocket-Version', 'X-Forwarded-For', 'Expect'),
      weirdString,
    ),
    { maxLength: 4 },
  );

  it('every request line and header set is answered or closed, never the end of the server', async () => {
    await fuzz(tally, 120, fc.tuple(fc.constantFrom('GET', 'POST', 'BREW', ''), target, upgrade, headerLines), async ([verb, where, asUpgrade, lines]) => {
      const head = [`${verb} ${where} HTTP/1.1`, 'Host: 127.0.0.1'];
      if (asUpgrade) head.push('Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==');
      for (const [name, value] of lines) head.push(`${name}: ${value}`);
      const answer = await rawRequest(server.port, Buffer.from(`${head.join('\r\n')}\r\n\r\n`, 'utf8'));
      if (answer.length > 0) expect(answer).toMatch(/^HTTP\/1\.1 (1|2|3|4)\d\d /);
      if (/^HTTP\/1\.1 101 /.test(answer)) {
        // An upgrade that went through gets an error frame and a 4xxx close, never silence: nothing more to check here.
      }
      await everyoneElseFine();
    });
    await everyoneElseFine(true);
  });
});
