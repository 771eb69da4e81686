// What a closed terminal connection means for the page, from its close code
// (protocol.ts): try again, or stop and tell the reader why.
import { CloseCode, type ErrorCode } from '../../contracts/errors.ts';

export type CloseOutcome =
  /** The network or the server went away for a while: reconnect with backoff. */
  | 'retry'
  /** The shell exited (exit, Ctrl-D): reopening the terminal starts a new shell. */
  | 'exited'
  /** The sandbox no longer exists or no longer accepts us: a new machine is needed. */
  | 'machine-gone'
  /** The same terminal was opened in another tab or window. */
  | 'taken-over'
  /** Retrying cannot help (too many terminals, a bad request). */
  | 'fatal';

/** `errorCode` is the code of the error frame the server sent just before closing, if any. */
export function closeOutcome(code: number, exitReceived: boolean, errorCode?: ErrorCode): CloseOutcome {
  if (exitReceived) return 'exited';
  // The page's origin is refused: the server's configuration must change, another machine would not help.
  if (errorCode === 'origin-not-allowed') return 'fatal';
  switch (code) {
    case CloseCode.normal:
      // A normal close without an exit message comes from a proxy or the browser: the shell is still there.
      return 'retry';
    case CloseCode.goingAway:
    case CloseCode.internalError:
      return 'retry';
    case CloseCode.notFound:
    case CloseCode.gone:
    case CloseCode.unauthorized:
    case CloseCode.forbidden:
      return 'machine-gone';
    case CloseCode.takenOver:
      return 'taken-over';
    case CloseCode.machineReset:
      // One machine of a lab was made anew (here or in another tab): the same URL gives a shell on the new one.
      return 'retry';
    case CloseCode.badRequest:
    case CloseCode.tooManyTerminals:
    case CloseCode.messageTooBig:
      return 'fatal';
    default:
      // 1005/1006 (connection lost without a close frame) and anything unknown.
      return 'retry';
  }
}
