// The Debian mirror the host's apt already uses: the one place this machine is
// known to reach. Read from the apt configuration (sources.list, the
// sources.list.d/*.list one-line files and the deb822 *.sources files); the
// project names no mirror of its own, so a host without one is told how to
// give it one.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { HintedError } from '../../../contracts/errors.ts';

export class MirrorNotFoundError extends HintedError {
  override name = 'MirrorNotFoundError';
}

export interface AptSourceFile {
  path: string;
  text: string;
}

/** The apt source files under `aptDir`, in the order apt reads them. */
export function readAptSources(aptDir = '/etc/apt'): AptSourceFile[] {
  const files: string[] = [];
  if (existsSync(join(aptDir, 'sources.list'))) files.push(join(aptDir, 'sources.list'));
  const partsDir = join(aptDir, 'sources.list.d');
  if (existsSync(partsDir)) {
    for (const name of readdirSync(partsDir).sort()) if (/^[\w.-]+\.(list|sources)$/.test(name)) files.push(join(partsDir, name));
  }
  return files.map((path) => ({ path, text: readFileSync(path, 'utf8') }));
}

/** The first `deb` source of `suite` in these files, or undefined. */
export function mirrorFromSources(files: readonly AptSourceFile[], suite: string): string | undefined {
  for (const file of files) {
    const found = file.path.endsWith('.sources') ? fromDeb822(file.text, suite) : fromOneLine(file.text, suite);
    if (found) return found.replace(/\/+$/, '');
  }
  return undefined;
}

/** `deb [options] URI suite components…`, one source a line. */
function fromOneLine(text: string, suite: string): string | undefined {
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    const match = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/.exec(line);
    if (match && match[2] === suite) return match[1];
  }
  return undefined;
}

/** deb822 stanzas: `Types:`, `URIs:`, `Suites:` fields, stanzas apart by blank lines, `Enabled: no` skipped. */
function fromDeb822(text: string, suite: string): string | undefined {
  const withoutComments = text
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n');
  for (const stanza of withoutComments.split(/\n\s*\n/)) {
    const field = (name: string) =>
      new RegExp(`^${name}:[ \\t]*(.*)$`, 'mi')
        .exec(stanza)?.[1]
        ?.trim()
        .split(/\s+/)
        .filter((word) => word !== '') ?? [];
    if (field('Enabled')[0]?.toLowerCase() === 'no') continue;
    if (field('Types').includes('deb') && field('Suites').includes(suite)) {
      const uri = field('URIs')[0];
      if (uri) return uri;
    }
  }
  return undefined;
}

/** The host's mirror for `suite`; throws MirrorNotFoundError saying what to add. */
export function hostDebianMirror(suite: string, aptDir = '/etc/apt'): string {
  const mirror = mirrorFromSources(readAptSources(aptDir), suite);
  if (mirror) return mirror;
  throw new MirrorNotFoundError(
    `No Debian mirror for "${suite}" in the host's apt configuration (${aptDir}/sources.list, ${aptDir}/sources.list.d/*.list or *.sources): the machines' root filesystem is built with debootstrap from the host's own mirror.`,
    `Add a "deb" source for ${suite} (the mirror your host installs from) to ${aptDir}/sources.list.d/, check it with "apt-get update", then run "npm run sandbox:prepare" again.`,
  );
}
