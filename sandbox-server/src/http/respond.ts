// Small helpers to answer in the API's style: JSON, never cached, errors as
// { error: { code, message, hint } }.
import type { ServerResponse } from 'node:http';
import type { ErrorInfo } from '../../../contracts/protocol.ts';

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string | string[]> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

export function sendError(res: ServerResponse, status: number, error: ErrorInfo, headers: Record<string, string | string[]> = {}): void {
  sendJson(res, status, { error }, headers);
}

export function sendEmpty(res: ServerResponse, status: number, headers: Record<string, string | string[]> = {}): void {
  res.writeHead(status, { 'cache-control': 'no-store', ...headers });
  res.end();
}
