// The student's personal link, on the page side. The link carries its
// credential in the fragment (#acces=…, never sent to any server); the page
// keeps it in localStorage — so it follows the student across pages, tabs and
// reloads — and removes it from the address bar. It then goes with each
// request for a machine as `Authorization: Bearer …`. Small: lesson pages
// load it eagerly.
import { STUDENT_LINK_KEY } from '../../../contracts/link-keys.ts';

const STORAGE_PREFIX = 'course-class:';

function storage(): Storage | undefined {
  try {
    return globalThis.localStorage ?? undefined;
  } catch {
    return undefined;
  }
}

/** If the address carries a student link, keep its credential (for `serverBase`) and clean the address. */
export function captureClassLink(serverBase: string, location: Location = globalThis.location): void {
  const fragment = new URLSearchParams(location.hash.replace(/^#/, ''));
  const token = fragment.get(STUDENT_LINK_KEY);
  if (token === null) return;
  try {
    storage()?.setItem(STORAGE_PREFIX + serverBase, token.trim());
  } catch {
    // Storage disabled: the link still works for this page view only.
    sessionCredential = token.trim();
  }
  fragment.delete(STUDENT_LINK_KEY);
  const rest = fragment.toString();
  history.replaceState(history.state, '', `${location.pathname}${location.search}${rest ? `#${rest}` : ''}`);
}

let sessionCredential: string | undefined;

/** The student credential kept for this sandbox server, if any. */
export function classCredential(serverBase: string): string | undefined {
  try {
    return storage()?.getItem(STORAGE_PREFIX + serverBase) ?? sessionCredential;
  } catch {
    return sessionCredential;
  }
}

/** Fired on `document` by the terminal app when a snippet's run ends (terminal-app.ts). */
export const SNIPPET_RUN_EVENT = 'course:snippet-run';

export interface SnippetRunDetail {
  /** The snippet's position in the page (0, 1, …). */
  snippet: string;
  terminal: string;
  commands: readonly string[];
  /** Each finished command's exit status; null when the shell gave none (it opened a new shell). */
  statuses: (number | null)[];
}
