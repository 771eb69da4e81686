// Who may open a socket on a reader's machine (sandbox-server/src/ws/
// upgrade-admission.ts), the checks both sockets share, in the order a client
// is told about them. The manager and its sandbox are stand-ins holding only
// what admission reads: the integration tests of each socket
// (server-api, server-bad-input, server-namespaces, classroom-server) go
// through the real ones.
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { CloseCode, READER_COOKIE, TOKEN_COOKIE, type ErrorInfo } from '../../contracts/protocol.ts';
import type { ManagedSandbox } from '../../sandbox-server/src/manager/managed-sandbox.ts';
import type { SandboxManager, Tombstone } from '../../sandbox-server/src/manager/sandbox-manager.ts';
import { admitSandboxUpgrade, originRefusal, type SandboxAdmissionOptions } from '../../sandbox-server/src/ws/upgrade-admission.ts';

const ID = 'abc123def456abc123def456abc123de';
const TOKEN = 'the-token';
/** Reader ids are 32 random bytes, base64url (reader-cookie.ts). */
const OWNER = 'o'.repeat(43);
const SOMEONE = 's'.repeat(43);

function fixture(overrides: { state?: 'running' | 'destroying'; tombstone?: Tombstone; shuttingDown?: boolean; classRefusal?: ErrorInfo } = {}) {
  let claims = 0;
  const managed = {
    id: ID,
    owner: `reader:${OWNER}`,
    state: overrides.state ?? 'running',
    tokenMatches: (token: string) => token === TOKEN,
    claim: () => void claims++,
  } as unknown as ManagedSandbox;
  const manager = {
    get: (id: string) => (id === ID && !overrides.tombstone ? managed : undefined),
    tombstone: (id: string) => (id === ID ? overrides.tombstone : undefined),
  } as unknown as SandboxManager;
  const options: SandboxAdmissionOptions = {
    allowedOrigins: ['http://allowed.test'],
    manager,
    isShuttingDown: () => overrides.shuttingDown ?? false,
    attachRefusal: () => overrides.classRefusal,
  };
  return { options, managed, claims: () => claims };
}

function upgrade(path: string, headers: Record<string, string> = {}, extra: { mustBeRunning?: boolean } = {}) {
  const req = { headers: { host: '127.0.0.1:4000', ...headers } } as unknown as IncomingMessage;
  return { req, url: new URL(path, 'http://127.0.0.1:4000'), id: ID, purpose: 'open terminals', ...extra };
}

const refusalOf = (admission: ReturnType<typeof admitSandboxUpgrade>) => (admission.admitted ? undefined : admission.refusal);

describe('admitSandboxUpgrade', () => {
  it('admits the right token from the query, a cookie or a bearer header, from this origin or an allowed one', () => {
    const { options, managed } = fixture();
    const ways: [string, Record<string, string>][] = [
      [`/x?token=${TOKEN}`, {}],
      ['/x', { cookie: `${TOKEN_COOKIE}=${TOKEN}` }],
      ['/x', { authorization: `Bearer ${TOKEN}` }],
    ];
    for (const [path, headers] of ways) expect(admitSandboxUpgrade(options, upgrade(path, headers))).toEqual({ admitted: true, managed });
    expect(admitSandboxUpgrade(options, upgrade(`/x?token=${TOKEN}`, { origin: 'http://127.0.0.1:4000' })).admitted).toBe(true);
    expect(admitSandboxUpgrade(options, upgrade(`/x?token=${TOKEN}`, { origin: 'http://allowed.test' })).admitted).toBe(true);
  });

  it('says, in this order: shutting down, origin, no such sandbox, no token, wrong token, class link', () => {
    const foreign = { origin: 'http://elsewhere.test' };
    expect(refusalOf(admitSandboxUpgrade(fixture({ shuttingDown: true }).options, upgrade('/x', foreign)))).toMatchObject({
      reason: 'shutting-down',
      code: CloseCode.goingAway,
      error: { code: 'server-shutting-down' },
    });
    expect(refusalOf(admitSandboxUpgrade(fixture().options, { ...upgrade('/x', foreign), id: 'nope' }))).toMatchObject({
      reason: 'origin',
      code: CloseCode.forbidden,
      error: { code: 'origin-not-allowed', message: 'Pages from http://elsewhere.test may not open terminals on this server.' },
    });
    expect(refusalOf(admitSandboxUpgrade(fixture().options, { ...upgrade('/x'), id: 'nope' }))).toMatchObject({
      reason: 'not-found',
      code: CloseCode.notFound,
    });
    expect(refusalOf(admitSandboxUpgrade(fixture().options, upgrade('/x')))).toMatchObject({ reason: 'unauthorized', code: CloseCode.unauthorized });
    expect(refusalOf(admitSandboxUpgrade(fixture().options, upgrade('/x?token=wrong')))).toMatchObject({ reason: 'forbidden', error: { code: 'forbidden' } });
    const revoked: ErrorInfo = { code: 'forbidden', message: 'Lien révoqué.', lang: 'fr' };
    expect(refusalOf(admitSandboxUpgrade(fixture({ classRefusal: revoked }).options, upgrade(`/x?token=${TOKEN}`)))).toEqual({
      reason: 'forbidden',
      code: CloseCode.forbidden,
      error: revoked,
    });
  });

  it("tells a destroyed sandbox's client why it went (its tombstone), and refuses one being destroyed when asked to", () => {
    const gone = refusalOf(admitSandboxUpgrade(fixture({ tombstone: { reason: 'idle', at: new Date(0) } }).options, upgrade(`/x?token=${TOKEN}`)));
    expect(gone).toMatchObject({ reason: 'gone', code: CloseCode.gone, error: { code: 'gone' } });
    const destroying = fixture({ state: 'destroying' });
    expect(admitSandboxUpgrade(destroying.options, upgrade(`/x?token=${TOKEN}`)).admitted).toBe(true);
    expect(refusalOf(admitSandboxUpgrade(destroying.options, upgrade(`/x?token=${TOKEN}`, {}, { mustBeRunning: true })))).toMatchObject({
      reason: 'not-found',
    });
  });

  it("lets the owner's browser claim its sandbox, and nobody else", () => {
    const owner = fixture();
    admitSandboxUpgrade(owner.options, upgrade(`/x?token=${TOKEN}`, { cookie: `${READER_COOKIE}=${SOMEONE}` }));
    admitSandboxUpgrade(owner.options, upgrade('/x?token=wrong', { cookie: `${READER_COOKIE}=${OWNER}` }));
    expect(owner.claims()).toBe(0);
    admitSandboxUpgrade(owner.options, upgrade(`/x?token=${TOKEN}`, { cookie: `${READER_COOKIE}=${OWNER}` }));
    expect(owner.claims()).toBe(1);
  });
});

describe('originRefusal', () => {
  it('cuts the refused origin to 200 characters before the caller words it', () => {
    const long = `http://${'x'.repeat(5000)}.test`;
    const refusal = originRefusal(upgrade('/', { origin: long }).req, [], (shown) => ({ code: 'origin-not-allowed', message: shown }));
    expect(refusal?.error.message).toBe(long.slice(0, 200));
    expect(originRefusal(upgrade('/').req, [], () => ({ code: 'origin-not-allowed', message: 'never' }))).toBeUndefined();
  });
});
