// Why a sandbox that existed a moment ago is gone, in words for the reader.
import { closingError, type Tombstone } from '../manager/sandbox-manager.ts';
import type { ErrorInfo } from '../../../contracts/protocol.ts';

export function describeTombstone(tombstone: Tombstone): ErrorInfo {
  const error = closingError(tombstone.reason);
  const hint = error.hint === undefined ? {} : { hint: error.hint };
  // French words (lang: fr) are shown as written, so the date reads as French does.
  if (error.lang === 'fr')
    return { code: 'gone', lang: 'fr', message: `${error.message} (${tombstone.at.toLocaleString('fr-FR', { timeZone: 'UTC' })} UTC)`, ...hint };
  return { code: 'gone', message: `${error.message} (${tombstone.at.toISOString()})`, ...hint };
}
