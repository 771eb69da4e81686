// One reader = one browser, on the real server: the reader cookie brings
// every tab back to the same machine; a machine nobody can come back for is
// released after the short unclaimed timeout; the per-reader limit is keyed
// on the browser and the per-address ceiling counts every reader behind one
// address (a classroom behind NAT).
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CreateSandboxResponse, READER_COOKIE, SandboxStatus, apiPath } from '../../contracts/protocol.ts';
import { shutDown, startServer, type RunningServer } from '../support/server.ts';
import { attachTerminal, deleteSandbox } from '../support/server-client.ts';

let server: RunningServer;
const made: { id: string; token: string }[] = [];

beforeAll(async () => {
  server = await startServer({
    env: {
      SANDBOX_DOCKER: 'false',
      CLIENT_IP_HEADER: 'x-forwarded-for',
      MAX_SANDBOXES_PER_CLIENT: '1',
      MAX_SANDBOXES_PER_ADDRESS: '3',
      IDLE_TIMEOUT: '15m',
      UNCLAIMED_IDLE_TIMEOUT: '2s',
    },
  });
});

afterAll(async () => {
  for (const sandbox of made) await deleteSandbox(server, sandbox);
  const shutdown = await shutDown(server);
  expect(shutdown.code).toBe(0);
  expect(shutdown.leftovers).toEqual([]);
});

/** POST api/sandboxes as a browser at `address` holding `cookie` (if any). */
/** A reply of the API: a machine, or a refusal. */
interface Reply {
  id: string;
  token: string;
  expiresAt: string;
  error: { code: string };
}

async function ask(address: string, cookie?: string): Promise<{ status: number; body: Reply; setCookies: string[]; reader?: string }> {
  const response = await fetch(new URL(apiPath.sandboxes(), server.url), {
    method: 'POST',
    headers: { 'x-forwarded-for': address, ...(cookie ? { cookie } : {}) },
  });
  const body = (await response.json()) as Reply;
  const setCookies = response.headers.getSetCookie();
  const reader = setCookies.map((line) => new RegExp(`^${READER_COOKIE}=([^;]+)`).exec(line)?.[1]).find(Boolean);
  if (response.status === 200 || response.status === 201) {
    const parsed = CreateSandboxResponse.parse(body);
    if (!made.some((m) => m.id === parsed.id)) made.push(parsed);
  }
  return { status: response.status, body, setCookies, ...(reader ? { reader } : {}) };
}

async function status(sandbox: { id: string; token: string }): Promise<{ code: number; body: Reply }> {
  const response = await fetch(new URL(apiPath.sandbox(sandbox.id), server.url), { headers: { authorization: `Bearer ${sandbox.token}` } });
  return { code: response.status, body: (await response.json()) as Reply };
}

describe('the reader cookie', () => {
  it('is set on a first visit: HttpOnly, SameSite=Strict, for the whole course', async () => {
    const first = await ask('10.0.0.1');
    expect(first.status).toBe(201);
    const line = first.setCookies.find((cookie) => cookie.startsWith(`${READER_COOKIE}=`));
    expect(line).toMatch(/HttpOnly/i);
    expect(line).toMatch(/SameSite=Strict/i);
    expect(line).toMatch(/Path=\/(;|$)/);
    expect(first.reader).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('brings every later tab back to the same machine, with its token', async () => {
    const first = await ask('10.0.0.2');
    const cookie = `${READER_COOKIE}=${first.reader}`;
    for (let tab = 0; tab < 4; tab++) {
      const again = await ask('10.0.0.2', cookie);
      expect(again.status).toBe(200);
      expect(again.body).toEqual(first.body);
      // No new reader cookie for a browser that has one.
      expect(again.reader).toBeUndefined();
    }
  });

  it('gives two tabs asking at the same moment one machine', async () => {
    const first = await ask('10.0.0.3');
    const cookie = `${READER_COOKIE}=${first.reader}`;
    await deleteSandbox(server, first.body);
    const [a, b] = await Promise.all([ask('10.0.0.3', cookie), ask('10.0.0.3', cookie)]);
    expect([a.status, b.status].sort()).toEqual([200, 201]);
    expect(a.body.id).toBe(b.body.id);
  });

  it('ignores a cookie it could not have issued', async () => {
    const forged = await ask('10.0.0.4', `${READER_COOKIE}=short`);
    expect(forged.status).toBe(201);
    expect(forged.reader).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });
});

describe('machines nobody can come back for', () => {
  it('get the short idle timeout until their reader comes back, then the full one', async () => {
    const first = await ask('10.0.1.1');
    const fresh = SandboxStatus.parse((await status(first.body)).body);
    expect(Date.parse(fresh.idle.expiresAt!) - Date.parse(fresh.idle.since!)).toBe(2000);
    const back = await ask('10.0.1.1', `${READER_COOKIE}=${first.reader}`);
    expect(back.status).toBe(200);
    const claimed = SandboxStatus.parse((await status(first.body)).body);
    expect(Date.parse(claimed.idle.expiresAt!) - Date.parse(claimed.idle.since!)).toBe(15 * 60_000);
  });

  it('an attach with the reader cookie claims it too', async () => {
    const first = await ask('10.0.1.2');
    const terminal = await attachTerminal(server, first.body, '1', { cookie: `${READER_COOKIE}=${first.reader}; sandbox_token=${first.body.token}` });
    await terminal.client.close();
    // The client's close resolves before the server has seen it: until then the
    // machine counts as attached (idle.since null). Wait for the server's side.
    const detached = await vi.waitFor(
      async () => {
        const answer = SandboxStatus.parse((await status(first.body)).body);
        if (answer.idle.since === null) throw new Error('the server has not yet seen the terminal close');
        return answer;
      },
      { timeout: 10_000, interval: 50 },
    );
    expect(Date.parse(detached.idle.expiresAt!) - Date.parse(detached.idle.since!)).toBe(15 * 60_000);
  });

  it('are released once the short timeout passes (a browser that keeps no cookie closed its tab)', async () => {
    const lost = await ask('10.0.1.3');
    const deadline = Date.now() + 60_000;
    let answer = await status(lost.body);
    while (answer.code === 200 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      answer = await status(lost.body);
    }
    expect(answer.code).toBe(410);
    expect(answer.body.error.code).toBe('gone');
  });
});

describe('limits', () => {
  it('one reader holds one machine; readers behind one address share its ceiling; another address is not affected', async () => {
    const address = '10.0.2.1';
    const readers = [await ask(address), await ask(address), await ask(address)];
    expect(readers.map((r) => r.status)).toEqual([201, 201, 201]);
    // A fourth browser behind the same address: the ceiling (3).
    const fourth = await ask(address);
    expect(fourth.status).toBe(429);
    expect(fourth.body.error.code).toBe('too-many-sandboxes');
    // Known readers still get theirs back.
    expect((await ask(address, `${READER_COOKIE}=${readers[0]!.reader}`)).status).toBe(200);
    // Elsewhere, nothing changes.
    expect((await ask('10.0.2.2')).status).toBe(201);
  });
});
