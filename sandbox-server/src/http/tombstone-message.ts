// Why a sandbox that existed a moment ago is gone, in words for the reader.
import { closingError, type Tombstone } from '../manager/sandbox-manager.ts';
import type { ErrorInfo } from '../../../contracts/protocol.ts';

export function describeTombstone(tombstone: Tombstone): ErrorInfo {
  const error = closingError(tombstone.reason);
  return { code: 'gone', message: `${error.message} (${tombstone.at.toISOString()})`, hint: error.hint };
}
