// The project names no outside host or address (the developers' guide): traffic
// goes to loopback and to addresses inside the network namespaces and machines
// it makes, and a mirror comes from the host's own apt configuration. This
// reads every tracked file and lists what it names beyond an allow-list.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Host names that are not outside hosts, each with why. */
const ALLOWED_HOSTS: [RegExp, string][] = [
  [/^localhost$|\.localhost$/, 'this machine'],
  [/^([\w-]+\.)*example(\.(org|com|net))?$/, 'reserved for examples (RFC 2606)'],
  [/\.(invalid|test)$/, 'reserved, never resolves (RFC 2606)'],
  [/^www\.w3\.org$/, 'the name of the SVG/XHTML XML namespaces: an identifier, never fetched'],
  [/^docker\.io$/, "Debian's package name for Docker, and the registry prefix the image store strips from image names; never contacted"],
];

/** IPv4 addresses that stay on this machine or inside what the project makes. */
function allowedAddress(address: string): boolean {
  const [a, b] = address.split('.').map(Number) as [number, number];
  if (a === 127 || address === '0.0.0.0' || a === 255) return true; // loopback, any, masks
  if (a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168)) return true; // private: inside namespaces and machines
  return a === 169 && b === 254; // link-local
}

const URL_HOST = /\b(?:https?|wss?|ftp):\/\/([a-z0-9.-]+)/gi;
const BARE_HOST = /(?<![\w$@/.-])((?:[a-z0-9-]+\.)+(?:org|com|net|io|dev|fr|de|eu|co|cloud|uk|us))\b(?!\.?[\w(-])/gi; // not `page.fr.md` (a Hugo language)
const IPV4 = /(?<![\w.])(\d{1,3}(?:\.\d{1,3}){3})(?![\w.])/g;

/** One line per outside name in `text`: `path:line: name`. */
function outsideNames(path: string, text: string): string[] {
  const found: string[] = [];
  text.split('\n').forEach((line, index) => {
    const names = new Set<string>();
    for (const match of line.matchAll(URL_HOST)) if (match[1]!.includes('.')) names.add(match[1]!.toLowerCase().replace(/\.$/, ''));
    for (const match of line.matchAll(BARE_HOST)) names.add(match[1]!.toLowerCase());
    for (const name of names) if (!/^[\d.]+$/.test(name) && !ALLOWED_HOSTS.some(([pattern]) => pattern.test(name))) found.push(`${path}:${index + 1}: ${name}`);
    for (const match of line.matchAll(IPV4)) if (!allowedAddress(match[1]!)) found.push(`${path}:${index + 1}: ${match[1]}`);
  });
  return found;
}

describe('outside hosts and addresses', () => {
  it('are named nowhere in the tracked files', () => {
    const files = execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' })
      .split('\0')
      // The lock names the registry's tarballs; this file names outside hosts to show they are found.
      .filter((path) => path !== '' && path !== 'package-lock.json' && path !== 'tests/unit/no-outside-hosts.test.ts');
    expect(files.length).toBeGreaterThan(100);
    const found: string[] = [];
    for (const path of files) {
      let text: string;
      try {
        text = readFileSync(`${ROOT}/${path}`, 'utf8');
      } catch {
        continue; // removed in the work tree
      }
      if (text.includes('\0')) continue; // binary
      found.push(...outsideNames(path, text));
    }
    expect(found).toEqual([]);
  });

  it('finds names in URLs, bare names and addresses, and lets reserved ones pass', () => {
    expect(outsideNames('a.ts', "fetch('https://registry.npmjs.org/x'); // see deb.debian.org, 192.0.2.1")).toEqual([
      'a.ts:1: registry.npmjs.org',
      'a.ts:1: deb.debian.org',
      'a.ts:1: 192.0.2.1',
    ]);
    expect(outsideNames('a.ts', "'http://localhost:4321/' 'https://cours.example.org/' 'http://server.invalid' 127.0.0.1 10.0.2.2 172.17.0.1")).toEqual([]);
    expect(outsideNames('a.ts', 'log.info(x); this.log.info(y); file.test.ts; version 1.8.1; content/page.fr.md')).toEqual([]);
    expect(outsideNames('a.md', 'Le miroir est deb.debian.org.')).toEqual(['a.md:1: deb.debian.org']);
  });
});
