// The words for a server's refusal to give a machine, from the French
// catalogue: loaded with it when a refusal comes (sandbox-client.ts), so the
// terminal code a first prompt needs does not carry the whole catalogue.
import type { ErrorInfo } from '../../contracts/errors.ts';
import { ERROR_WORDS_FR, inFrench, type FrenchWords } from '../../contracts/messages.fr.ts';
import { statusWords } from './sandbox-errors.ts';

/** The catalogue's words for a refusal; by its HTTP status when the body said nothing readable. */
export function refusalWords(status: number, info: ErrorInfo | undefined): FrenchWords {
  if (info !== undefined) return inFrench(info);
  if (status === 429) return ERROR_WORDS_FR['too-many-sandboxes'];
  if (status === 503) return ERROR_WORDS_FR['server-at-capacity'];
  return statusWords(status);
}
