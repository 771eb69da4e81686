import { describe, expect, it } from 'vitest';
import { terminalSocketUrl } from '../../src/client/sandbox-client.ts';
import { sandboxEndpoint } from '../../src/client/sandbox-endpoint.ts';
import { forget, memoryKey, recall, remember, type KeyValueStore } from '../../src/client/sandbox-memory.ts';

function memoryStore(): KeyValueStore & { data: Map<string, string> } {
  const data = new Map<string, string>();
  return { data, getItem: (k) => data.get(k) ?? null, setItem: (k, v) => void data.set(k, v), removeItem: (k) => void data.delete(k) };
}

const machine = { id: 'a'.repeat(32), token: 't0ken', expiresAt: '2030-01-01T00:00:00.000Z', terminals: ['1', '2'] };

describe('sandboxEndpoint', () => {
  it("defaults to the page's own server under the site's base path", () => {
    expect(sandboxEndpoint('/', 'http://localhost:4321/docker_linux/namespaces/')).toEqual({ base: 'http://localhost:4321/', crossOrigin: false });
    expect(sandboxEndpoint('/tp-iut-docker/', 'https://cours.example.org/tp-iut-docker/x/')).toEqual({
      base: 'https://cours.example.org/tp-iut-docker/',
      crossOrigin: false,
    });
  });

  it('points at another origin when the build says so', () => {
    expect(sandboxEndpoint('https://sandbox.example.org/api-root', 'https://cours.example.org/')).toEqual({
      base: 'https://sandbox.example.org/api-root/',
      crossOrigin: true,
    });
  });
});

describe('terminalSocketUrl', () => {
  it('keeps the token out of same-origin URLs (the cookie carries it) and adds it across origins', () => {
    const same = terminalSocketUrl(sandboxEndpoint('/', 'http://localhost:4321/'), machine.id, '2', { cols: 100, rows: 30 }, machine.token);
    expect(same).toBe(`ws://localhost:4321/api/sandboxes/${machine.id}/terminals/2?cols=100&rows=30`);
    const other = terminalSocketUrl(
      sandboxEndpoint('https://sandbox.example.org/', 'https://cours.example.org/'),
      machine.id,
      '1',
      { cols: 80, rows: 24 },
      machine.token,
    );
    expect(other).toBe(`wss://sandbox.example.org/api/sandboxes/${machine.id}/terminals/1?cols=80&rows=24&token=t0ken`);
  });
});

describe('sandbox memory', () => {
  it('remembers the machine and its terminals per server, and forgets it', () => {
    const store = memoryStore();
    remember(store, 'http://localhost:4321/', machine);
    expect(recall(store, 'http://localhost:4321/', Date.parse('2029-01-01'))).toEqual(machine);
    expect(recall(store, 'http://other:4321/', Date.parse('2029-01-01'))).toBeUndefined();
    forget(store, 'http://localhost:4321/');
    expect(store.data.size).toBe(0);
  });

  it('ignores an expired, malformed or missing record', () => {
    const store = memoryStore();
    remember(store, 'b/', machine);
    expect(recall(store, 'b/', Date.parse('2031-01-01'))).toBeUndefined();
    store.setItem(memoryKey('c/'), '{not json');
    expect(recall(store, 'c/')).toBeUndefined();
    store.setItem(memoryKey('d/'), JSON.stringify({ ...machine, terminals: 'oops' }));
    expect(recall(store, 'd/')).toBeUndefined();
    expect(recall(undefined, 'e/')).toBeUndefined();
  });
});
