// The pure parts of `npm run dev` and of a quiet build: which requests the
// preview forwards to the sandbox server and how its answers are moved under
// the page's base path, what the page says when none answers, which files
// reload the page, and which imports of v86 are answered with nothing.
import { describe, expect, it } from 'vitest';
import { SandboxServerMissingError } from '../../src/client/sandbox-errors.ts';
import { cookieForPage, forwardedPath, pathForPage, startCommandFor } from '../../src/lib/authoring/dev-sandbox-proxy.ts';
import { isInside } from '../../src/lib/authoring/dev-watch.ts';
import { isV86NodeOnlyImport } from '../../src/lib/authoring/v86-node-imports.ts';

const server = new URL('http://127.0.0.1:8080/');

describe('the preview forwards the sandbox API', () => {
  it('forwards only <base>api/…, under the server base path', () => {
    expect(forwardedPath('/linux-pratique/api/sandboxes', '/linux-pratique/', server)).toBe('/api/sandboxes');
    expect(forwardedPath('/linux-pratique/api/sandboxes/ab/terminals/1?x=1', '/linux-pratique/', server)).toBe('/api/sandboxes/ab/terminals/1?x=1');
    expect(forwardedPath('/linux-pratique/api/sandboxes', '/linux-pratique/', new URL('http://127.0.0.1:8080/cours'))).toBe('/cours/api/sandboxes');
    expect(forwardedPath('/linux-pratique/01-fichiers/', '/linux-pratique/', server)).toBeUndefined();
    expect(forwardedPath('/api/sandboxes', '/linux-pratique/', server)).toBeUndefined();
    expect(forwardedPath('/linux-pratique/apix', '/linux-pratique/', server)).toBeUndefined();
    expect(forwardedPath(undefined, '/', server)).toBeUndefined();
  });

  it("moves the server's cookie paths and Location under the page's base path", () => {
    expect(cookieForPage('sandbox_token=t; Max-Age=7200; Path=/api/sandboxes/ab; HttpOnly', '/linux-pratique/', server)).toBe(
      'sandbox_token=t; Max-Age=7200; Path=/linux-pratique/api/sandboxes/ab; HttpOnly',
    );
    expect(cookieForPage('reader=r; path=/; SameSite=Strict', '/linux-pratique/', server)).toBe('reader=r; path=/linux-pratique/; SameSite=Strict');
    expect(cookieForPage('reader=r; HttpOnly', '/linux-pratique/', server)).toBe('reader=r; HttpOnly');
    expect(pathForPage('/api/sandboxes/ab', '/linux-pratique/', server)).toBe('/linux-pratique/api/sandboxes/ab');
    expect(pathForPage('/cours', '/p/', new URL('http://127.0.0.1:8080/cours/'))).toBe('/p/');
    expect(pathForPage('/ailleurs/x', '/p/', new URL('http://127.0.0.1:8080/cours/'))).toBe('/ailleurs/x');
  });

  it('names the command that starts the server where the preview forwards', () => {
    expect(startCommandFor(server)).toBe('PORT=8080 npm run server');
    expect(startCommandFor(new URL('http://127.0.0.1/'))).toBe('PORT=80 npm run server');
  });

  it('says in French, in the preview, which server does not answer and how to start it', () => {
    const error = new SandboxServerMissingError('/linux-pratique/', "HTTP 502 sans réponse d'API", {
      url: 'http://127.0.0.1:8080/',
      start: 'PORT=8080 npm run server',
    });
    expect(error.message).toBe(
      "Aucun serveur de machines ne répond à http://127.0.0.1:8080/, où l'aperçu de npm run dev transmet « Exécuter » (HTTP 502 sans réponse d'API).",
    );
    expect(error.hint).toContain('PORT=8080 npm run server');
    expect(error.hint).not.toContain('scripts/start.sh');
    expect(error.serverUrl).toBe('http://127.0.0.1:8080/');
    // A built site (no dev server) keeps the message of a static host.
    expect(new SandboxServerMissingError('/linux-pratique/', 'connexion impossible').hint).toContain('bash scripts/start.sh');
  });
});

describe('files that reload the page', () => {
  it('a file inside static/, not the folder itself nor a neighbour', () => {
    expect(isInside('/site/static/images/a.svg', '/site/static')).toBe(true);
    expect(isInside('/site/static', '/site/static')).toBe(false);
    expect(isInside('/site/static-old/a.svg', '/site/static')).toBe(false);
    expect(isInside('/site/content/a.md', '/site/static')).toBe(false);
  });
});

describe("v86's Node-only imports", () => {
  it('are answered with nothing only when v86 itself imports them', () => {
    const v86 = '/work/x/node_modules/v86/build/libv86.mjs';
    for (const id of ['crypto', 'node:crypto', 'fs', 'node:fs/promises', 'perf_hooks']) expect(isV86NodeOnlyImport(id, v86)).toBe(true);
    expect(isV86NodeOnlyImport('node:path', v86)).toBe(false);
    expect(isV86NodeOnlyImport('fs', '/work/x/src/client/browser-machine/machine-worker.ts')).toBe(false);
    expect(isV86NodeOnlyImport('fs', undefined)).toBe(false);
  });
});
