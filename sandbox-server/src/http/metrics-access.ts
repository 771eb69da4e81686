// Who may read <base>metrics: with METRICS_TOKEN set, whoever sends it as a
// bearer token (a Prometheus `authorization` block); without it, only a
// client on this machine itself (the TCP peer is a loopback address and no
// reverse proxy says it forwarded someone else's request).
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export type MetricsVerdict = { ok: true } | { ok: false; status: 401 | 403 };

export function metricsAccess(req: IncomingMessage, token: string, clientIpHeader: string): MetricsVerdict {
  if (token !== '') {
    const given = /^Bearer (\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    if (given === undefined) return { ok: false, status: 401 };
    const a = Buffer.from(given);
    const b = Buffer.from(token);
    return a.length === b.length && timingSafeEqual(a, b) ? { ok: true } : { ok: false, status: 403 };
  }
  const peer = req.socket.remoteAddress ?? '';
  const loopback = peer === '::1' || peer.startsWith('127.') || peer.startsWith('::ffff:127.');
  const forwarded = clientIpHeader !== '' && req.headers[clientIpHeader] !== undefined;
  return loopback && !forwarded ? { ok: true } : { ok: false, status: 403 };
}
