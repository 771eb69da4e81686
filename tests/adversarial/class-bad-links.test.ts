// Finding 10: in class mode, ≈ 20 bad links from one address made the valid
// students behind that address get 429: one student guessing links behind the
// school's NAT locked the class out. Now failed attempts are limited, per
// attempt, and a valid link is checked first and never refused for them.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { newCredential } from '../../sandbox-server/src/classroom/credentials.ts';
import { bearerRequest, classFiles, createClass, startClassServer, type ClassFiles, type StudentLink } from '../support/classroom.ts';
import { shutDown, type RunningServer } from '../support/server.ts';

/** The school's one public address, as its reverse proxy reports it. */
const SCHOOL = { 'x-forwarded-for': '10.0.40.1' };

let files: ClassFiles;
let server: RunningServer;
let links: StudentLink[];

beforeAll(async () => {
  files = classFiles();
  ({ links } = await createClass(files.db, ['--name', 'Classe derrière un NAT', '--seats', '3', '--lifetime', '2h']));
  server = await startClassServer(files.db, { env: { CLIENT_IP_HEADER: 'x-forwarded-for', LOG_LEVEL: 'info' } });
});

afterAll(async () => {
  expect(await shutDown(server)).toMatchObject({ code: 0, leftovers: [] });
  files?.remove();
});

it('slows the guesses from an address down, never the valid links behind it', async () => {
  const statuses: number[] = [];
  for (let attempt = 0; attempt < 60; attempt++) {
    statuses.push((await bearerRequest(server, 'GET', 'api/class/me', newCredential('student'), undefined, SCHOOL)).status);
  }
  expect(statuses.filter((status) => status === 429).length).toBeGreaterThan(30);
  expect(statuses.every((status) => status === 403 || status === 429)).toBe(true);
  // Every student behind that address still gets in, at once and again.
  for (let round = 0; round < 5; round++) {
    for (const link of links) expect((await bearerRequest(server, 'GET', 'api/class/me', link.token, undefined, SCHOOL)).status).toBe(200);
  }
  // And the guesser is still held back.
  expect((await bearerRequest(server, 'GET', 'api/class/me', newCredential('student'), undefined, SCHOOL)).status).toBe(429);
});
