/**
 * Hugo's default page order (`DefaultPageSort`, resources/page/pages_sort.go),
 * used for `.Pages` of a section and for menus:
 *
 * 1. weight ascending; weight 0 (or unset) comes after every other weight
 *    (negative weights come first);
 * 2. then date descending (to the second; no date is the oldest);
 * 3. then linkTitle (title when there is none) ascending, compared with the
 *    language's collation (so "apple" < "Apple" < "Banana" < "École");
 * 4. then the content file path (a page without a file first).
 *
 * Checked against the real `hugo` binary by tests/integration/hugo-compat.test.ts.
 */

/** What the order looks at. A `HugoFrontMatter` plus a path fits. */
export interface HugoSortable {
  weight?: number | undefined;
  /** The page's date: a Date, or anything `new Date()` understands. */
  date?: Date | string | number | undefined;
  linkTitle?: string | undefined;
  title: string;
  /** Path of the content file relative to content/; "" for a page without a file (auto-created section). */
  path: string;
}

export interface HugoSortOptions {
  /** Collation locale for titles; Hugo uses the content language, "en" by default. */
  locale?: string | undefined;
}

/** Unix seconds of Go's zero time, 0001-01-01T00:00:00Z: the date of a page without one. */
const ZERO_TIME_UNIX = -62135596800;

const collators = new Map<string, Intl.Collator>();
function collator(locale: string): Intl.Collator {
  let c = collators.get(locale);
  if (!c) {
    c = new Intl.Collator(locale);
    collators.set(locale, c);
  }
  return c;
}

function unixSeconds(date: HugoSortable['date']): number {
  if (date === undefined || date === null || date === '') return ZERO_TIME_UNIX;
  const t = (date instanceof Date ? date : new Date(date)).getTime();
  return Number.isNaN(t) ? ZERO_TIME_UNIX : Math.floor(t / 1000);
}

/** Byte order of the UTF-8 encodings (Go's string comparison), i.e. code point order. */
function compareCodePoints(a: string, b: string): number {
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done || y.done) return x.done && y.done ? 0 : x.done ? -1 : 1;
    const cx = x.value.codePointAt(0)!;
    const cy = y.value.codePointAt(0)!;
    if (cx !== cy) return cx < cy ? -1 : 1;
  }
}

/** Negative when `a` comes first in Hugo's default order, positive when `b` does. */
export function compareHugoPages(a: HugoSortable, b: HugoSortable, opts?: HugoSortOptions): number {
  const wa = a.weight ?? 0;
  const wb = b.weight ?? 0;
  if (wa !== wb) {
    if (wb === 0) return -1;
    if (wa === 0) return 1;
    return wa < wb ? -1 : 1;
  }
  const da = unixSeconds(a.date);
  const db = unixSeconds(b.date);
  if (da !== db) return da > db ? -1 : 1;
  const c = collator(opts?.locale ?? 'en').compare(a.linkTitle || a.title, b.linkTitle || b.title);
  if (c !== 0) return c;
  if (a.path === '' || b.path === '') return a.path === b.path ? 0 : a.path === '' ? -1 : 1;
  return compareCodePoints(a.path, b.path);
}

/** A sorted copy, in Hugo's default order. */
export function sortHugoPages<T extends HugoSortable>(pages: readonly T[], opts?: HugoSortOptions): T[] {
  return [...pages].sort((a, b) => compareHugoPages(a, b, opts));
}
