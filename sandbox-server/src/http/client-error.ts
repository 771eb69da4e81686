// What to answer when Node's HTTP parser gives up on a connection
// ('clientError'). Before, every such connection got "400 Bad Request", even
// one that had sent nothing: a browser opens spare connections ahead of need
// (preconnect), and when one sat unused past the headers timeout the server
// wrote 400 on it; a navigation that picked that socket at the same moment
// read the 400 as its answer (a lesson page failing to load under load).
// A connection that sent nothing gets no answer, only a close: browsers
// resend a request on an unused connection closed under them, never on an
// error status.

import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ErrorInfo } from '../../../contracts/protocol.ts';

/** The 'clientError' listener: answers when there is someone to answer, then closes. */
export function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  const answer = clientErrorReply(error, (socket as Socket).bytesRead ?? 0);
  if (answer !== undefined && socket.writable) socket.end(answer);
  else socket.destroy();
}

/** The raw HTTP answer to write before closing, or undefined to just close. */
export function clientErrorReply(error: NodeJS.ErrnoException, bytesRead: number): string | undefined {
  // The peer went away: there is no one to answer.
  if (error.code === 'ECONNRESET' || error.code === 'EPIPE') return undefined;
  // Nothing ever arrived: an idle spare connection, not a bad request.
  if (bytesRead === 0) return undefined;
  switch (error.code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return reply(408, 'Request Timeout', {
        code: 'invalid-request',
        message: 'The request took too long to arrive.',
        hint: 'Send the whole request at once, then wait for the answer.',
      });
    case 'HPE_HEADER_OVERFLOW':
      return reply(431, 'Request Header Fields Too Large', {
        code: 'invalid-request',
        message: 'The request headers are too large.',
        hint: 'Send smaller headers (cookies included).',
      });
    default:
      return reply(400, 'Bad Request', { code: 'invalid-request', message: 'This request is not valid HTTP.', hint: 'Send an HTTP/1.1 request.' });
  }
}

/** The API's error shape ({ error: { code, message, hint } }), written raw: the parser gave up, so there is no response object. */
function reply(status: number, reason: string, error: ErrorInfo): string {
  const body = JSON.stringify({ error });
  return `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\nCache-Control: no-store\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}
