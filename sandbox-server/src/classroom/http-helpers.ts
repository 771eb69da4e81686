// Small pieces shared by the class API's handlers: the bearer credential of a
// request, its JSON body (bounded, validated), and refusals as API errors.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { z } from 'zod';
import { sendError, sendJson } from '../http/respond.ts';
import type { ErrorInfo } from '../../../contracts/protocol.ts';
import type { Refusal } from './class-auth.ts';

const MAX_BODY_BYTES = 256 * 1024;

export function bearer(req: IncomingMessage): string | undefined {
  const authorization = req.headers.authorization;
  return (authorization && /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1]) || undefined;
}

export class BadRequestError extends Error {
  override name = 'BadRequestError';
}

/** The request's JSON body checked against `schema`; an empty body is `{}`. Throws BadRequestError. */
export async function readJson<T extends z.ZodType>(req: IncomingMessage, schema: T): Promise<z.output<T>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new BadRequestError(`The request body is larger than ${MAX_BODY_BYTES / 1024} KiB.`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  let json: unknown = {};
  if (text !== '') {
    try {
      json = JSON.parse(text);
    } catch {
      throw new BadRequestError('The request body is not valid JSON.');
    }
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new BadRequestError(parsed.error.issues.map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`).join('; '));
  return parsed.data;
}

export function sendRefusal(res: ServerResponse, refusal: Refusal, headers: Record<string, string>): void {
  const extra: Record<string, string> = { ...headers };
  if (refusal.retryAfterSeconds !== undefined) extra['retry-after'] = String(refusal.retryAfterSeconds);
  if (refusal.status === 401) extra['www-authenticate'] = 'Bearer';
  sendError(res, refusal.status, refusal.error, extra);
}

export function sendBadRequest(res: ServerResponse, error: BadRequestError | Error, headers: Record<string, string>, hint?: string): void {
  const info: ErrorInfo = { code: 'invalid-request', message: error.message };
  if (hint) info.hint = hint;
  sendError(res, 400, info, headers);
}

/**
 * A reply built through its class-api.ts schema: what the browser parses is
 * exactly what the server checked it sends (a mismatch is a server bug, and
 * fails here, as a 500, rather than in the dashboard).
 */
export function sendReply<S extends z.ZodType>(res: ServerResponse, status: number, schema: S, body: z.input<S>, headers: Record<string, string>): void {
  sendJson(res, status, schema.parse(body), headers);
}
