// The instructor's key on the dashboard page. The link `…/instructeur/#cle=…`
// carries it in the fragment (never sent to a server); the page keeps it in
// sessionStorage (this tab, until it closes) and clears the address bar.
import { INSTRUCTOR_LINK_KEY } from '../../../contracts/link-keys.ts';

const STORAGE_KEY = 'course-instructor-key';

export function captureInstructorKey(): void {
  const fragment = new URLSearchParams(location.hash.replace(/^#/, ''));
  const key = fragment.get(INSTRUCTOR_LINK_KEY);
  if (key === null) return;
  rememberInstructorKey(key);
  history.replaceState(history.state, '', `${location.pathname}${location.search}`);
}

/** A pasted key, or a whole pasted link (its fragment is used). */
export function keyFromInput(text: string): string {
  const trimmed = text.trim();
  const hash = trimmed.indexOf('#');
  if (hash < 0) return trimmed;
  return new URLSearchParams(trimmed.slice(hash + 1)).get(INSTRUCTOR_LINK_KEY)?.trim() ?? trimmed;
}

export function rememberInstructorKey(key: string): void {
  try {
    sessionStorage.setItem(STORAGE_KEY, key.trim());
  } catch {
    memoryKey = key.trim();
  }
}

let memoryKey: string | undefined;

export function instructorKey(): string | undefined {
  try {
    return sessionStorage.getItem(STORAGE_KEY) ?? memoryKey;
  } catch {
    return memoryKey;
  }
}

export function forgetInstructorKey(): void {
  memoryKey = undefined;
  try {
    sessionStorage.removeItem(STORAGE_KEY);
  } catch {
    // Nothing stored.
  }
}
