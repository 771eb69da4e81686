// Which names the server answers to. A page on an attacker's name that
// resolves to this server (DNS rebinding) sends that name as both Host and
// Origin, so "same origin" alone would let it create and drive machines:
// the Host header must be an address (an IP literal cannot be rebound), a
// loopback name, or one of the configured ALLOWED_HOSTS.
import { isIP } from 'node:net';

/** The host part of a Host header, lowercase, without port or IPv6 brackets; undefined when malformed. */
export function hostName(header: string): string | undefined {
  const text = header.trim().toLowerCase();
  const bracketed = /^\[([0-9a-f:.]+)\](?::\d{1,5})?$/.exec(text);
  if (bracketed) return bracketed[1];
  const plain = /^([a-z0-9.-]+)(?::\d{1,5})?$/.exec(text);
  return plain?.[1];
}

export function hostAllowed(header: string | undefined, allowedHosts: readonly string[]): boolean {
  // No Host at all: HTTP/1.0 tools, never a browser page.
  if (header === undefined) return true;
  const name = hostName(header);
  if (name === undefined) return false;
  if (isIP(name) !== 0) return true;
  if (name === 'localhost' || name.endsWith('.localhost')) return true;
  return allowedHosts.includes(name.replace(/\.$/, ''));
}

/** The refusal, for REST and for an upgrade alike. */
export function hostRefusal(header: string | undefined): { code: 'host-not-allowed'; message: string; hint: string } {
  const shown = (header ?? '').slice(0, 100);
  return {
    code: 'host-not-allowed',
    message: `This server does not answer to the name "${shown}".`,
    hint: 'Reach it by its own address, or add that name to ALLOWED_HOSTS in the server configuration.',
  };
}
