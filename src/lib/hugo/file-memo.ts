/**
 * What was computed from a content file (its front matter, parsed), kept until
 * the file changes. `npm run dev` renders a page again at each edit, and that
 * render read and parsed the front matter of every page of the course (the site
 * index of ref/children/attachments, the lab lookup): on a one-page edit, all
 * the other pages are read again only when they changed. A file is known by its
 * modification time (nanoseconds) and size, taken before it is read: a write
 * during the read leaves a stamp that no longer matches, so it is read again.
 */
import { readFileSync, statSync } from 'node:fs';

const memo = new Map<string, { stamp: string; value: unknown }>();

/** `compute(text of file)`, computed again only when the file changed since; `kind` keeps different computations apart. */
export function memoByFile<T>(kind: string, file: string, compute: (text: string) => T): T {
  const stat = statSync(file, { bigint: true });
  const stamp = `${stat.mtimeNs}:${stat.size}`;
  const key = `${kind}\0${file}`;
  const known = memo.get(key);
  if (known?.stamp === stamp) return known.value as T;
  const value = compute(readFileSync(file, 'utf8'));
  memo.set(key, { stamp, value });
  return value;
}
