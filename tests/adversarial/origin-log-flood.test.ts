// Finding 9: with no credential, the raw Origin of each refused request went
// to the log (293 MiB in 5.7 s). Now request values are cut and each kind of
// record has a rate budget, with a summary of what was dropped.
import http from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { healthy } from '../support/adversary.ts';
import { shutDown, startServer, type RunningServer } from '../support/server.ts';

const REQUESTS = 3000;
const ORIGIN = `http://${'x'.repeat(8000)}.example`;
const LOG_BUDGET_BYTES = 1024 * 1024;

let server: RunningServer;

beforeAll(async () => {
  server = await startServer({ env: { SANDBOX_DOCKER: 'false', LOG_LEVEL: 'info' } });
});

afterAll(async () => {
  expect(await shutDown(server)).toEqual({ code: 0, sandboxesCreated: 0, leftovers: [] });
});

function refused(agent: http.Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: server.port, path: '/api/sandboxes', method: 'POST', agent, headers: { origin: ORIGIN } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

it('logs refused origins cut and within a budget, whatever their number and size', async () => {
  const before = server.logBytes;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  const statuses: number[] = [];
  for (let batch = 0; batch < REQUESTS / 100; batch++) statuses.push(...(await Promise.all(Array.from({ length: 100 }, () => refused(agent)))));
  agent.destroy();
  expect(statuses.every((status) => status === 403)).toBe(true);
  expect(await healthy(server)).toBe(true);
  expect(server.logBytes - before).toBeLessThan(LOG_BUDGET_BYTES);
  const refusals = server.logs.filter((line) => line.msg === 'request from a page on a foreign origin refused');
  expect(refusals.length).toBeGreaterThan(0);
  expect(refusals.every((line) => String(line.origin).length <= 300)).toBe(true);
});
