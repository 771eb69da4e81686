// The Debian mirror the host's apt already uses: the one place this machine is
// known to reach (deb.debian.org here).
import { existsSync, readFileSync } from 'node:fs';

const FALLBACK = 'http://deb.debian.org/debian';

export function hostDebianMirror(suite: string): string {
  const deb822 = '/etc/apt/sources.list.d/debian.sources';
  if (existsSync(deb822)) {
    for (const stanza of readFileSync(deb822, 'utf8').split(/\n\s*\n/)) {
      const field = (name: string) => new RegExp(`^${name}:\\s*(.+)$`, 'mi').exec(stanza)?.[1]?.trim().split(/\s+/) ?? [];
      if (field('Suites').includes(suite) && field('Types').includes('deb')) {
        const uri = field('URIs')[0];
        if (uri) return uri;
      }
    }
  }
  const classic = '/etc/apt/sources.list';
  if (existsSync(classic)) {
    const match = new RegExp(`^deb\\s+(?:\\[[^\\]]*\\]\\s+)?(\\S+)\\s+${suite}\\s`, 'm').exec(readFileSync(classic, 'utf8'));
    if (match?.[1]) return match[1];
  }
  return FALLBACK;
}
