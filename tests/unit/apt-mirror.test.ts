// The mirror for the machines' root filesystem comes from the host's apt
// configuration, in each of its three forms; without one, a clear error.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { hostDebianMirror, mirrorFromSources } from '../../sandbox-server/src/rootfs/mirror.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** An apt directory with these files (paths relative to it). */
function aptDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'apt-mirror-'));
  dirs.push(dir);
  mkdirSync(join(dir, 'sources.list.d'));
  for (const [path, text] of Object.entries(files)) writeFileSync(join(dir, path), text);
  return dir;
}

describe("the host's Debian mirror", () => {
  it('reads a deb822 .sources file: Types deb, the suite among Suites, first of URIs', () => {
    const dir = aptDir({
      'sources.list.d/debian.sources': [
        '# security first, another suite',
        'Types: deb',
        'URIs: http://security.mirror.example/debian-security',
        'Suites: bookworm-security',
        '',
        'Types: deb-src',
        'URIs: http://src.mirror.example/debian',
        'Suites: bookworm',
        '',
        'Enabled: no',
        'Types: deb',
        'URIs: http://off.mirror.example/debian',
        'Suites: bookworm',
        '',
        'Types: deb',
        'URIs: http://mirror.example/debian/ http://second.mirror.example/debian',
        'Suites: bookworm bookworm-updates',
        'Components: main',
      ].join('\n'),
    });
    expect(hostDebianMirror('bookworm', dir)).toBe('http://mirror.example/debian');
  });

  it('reads one-line sources.list and sources.list.d/*.list, options and comments included', () => {
    const dir = aptDir({
      'sources.list': '# deb http://commented.example/debian bookworm main\ndeb-src http://src.example/debian bookworm main\n',
      'sources.list.d/local.list': 'deb [signed-by=/usr/share/keyrings/k.gpg arch=amd64] http://mirror.example/debian bookworm main # ours\n',
      'sources.list.d/ignored.list.disabled': 'deb http://disabled.example/debian bookworm main\n',
    });
    expect(hostDebianMirror('bookworm', dir)).toBe('http://mirror.example/debian');
  });

  it('takes sources.list before sources.list.d, and the files of sources.list.d in name order', () => {
    expect(
      mirrorFromSources(
        [
          { path: '/etc/apt/sources.list', text: 'deb http://first.example/debian bookworm main\n' },
          { path: '/etc/apt/sources.list.d/a.sources', text: 'Types: deb\nURIs: http://second.example/debian\nSuites: bookworm\n' },
        ],
        'bookworm',
      ),
    ).toBe('http://first.example/debian');
  });

  it('fails clearly, with what to add, when no source serves the suite', () => {
    const dir = aptDir({ 'sources.list.d/other.list': 'deb http://mirror.example/debian trixie main\n' });
    let caught: unknown;
    try {
      hostDebianMirror('bookworm', dir);
    } catch (error) {
      caught = error;
    }
    expect({
      name: (caught as Error).name,
      message: (caught as Error).message.replaceAll(dir, '<apt>'),
      hint: (caught as { hint: string }).hint.replaceAll(dir, '<apt>'),
    }).toMatchInlineSnapshot(`
        {
          "hint": "Add a "deb" source for bookworm (the mirror your host installs from) to <apt>/sources.list.d/, check it with "apt-get update", then run "npm run sandbox:prepare" again.",
          "message": "No Debian mirror for "bookworm" in the host's apt configuration (<apt>/sources.list, <apt>/sources.list.d/*.list or *.sources): the machines' root filesystem is built with debootstrap from the host's own mirror.",
          "name": "MirrorNotFoundError",
        }
      `);
  });
});
