// What the page remembers about the reader's sandbox between reloads: its id
// and token (to reattach instead of creating another) and which terminals
// were open (to reopen them). Kept in sessionStorage, so each tab has its own
// machine and a reload keeps it; small enough for the eager page script.

export interface RememberedSandbox {
  id: string;
  token: string;
  expiresAt: string;
  /** Names of the terminals open when the page was left, in the order they were opened. */
  terminals: string[];
}

/** The part of Storage we use (sessionStorage in the page, a Map in tests). */
export interface KeyValueStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** One record per sandbox server, so two builds pointing at different servers do not mix. */
export function memoryKey(serverBase: string): string {
  return `course-sandbox:${serverBase}`;
}

function isRemembered(value: unknown): value is RememberedSandbox {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  return (
    typeof record.id === 'string' &&
    typeof record.token === 'string' &&
    typeof record.expiresAt === 'string' &&
    Array.isArray(record.terminals) &&
    record.terminals.every((name) => typeof name === 'string')
  );
}

/** The remembered sandbox, or undefined (nothing stored, unreadable, or past its expiry). */
export function recall(store: KeyValueStore | undefined, serverBase: string, now = Date.now()): RememberedSandbox | undefined {
  if (store === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(store.getItem(memoryKey(serverBase)) ?? 'null');
  } catch {
    parsed = undefined;
  }
  if (!isRemembered(parsed)) return undefined;
  if (!(Date.parse(parsed.expiresAt) > now)) return undefined;
  return parsed;
}

export function remember(store: KeyValueStore | undefined, serverBase: string, sandbox: RememberedSandbox): void {
  try {
    store?.setItem(memoryKey(serverBase), JSON.stringify(sandbox));
  } catch {
    // Storage full or disabled (private mode): the page works, a reload just starts a new machine.
  }
}

export function forget(store: KeyValueStore | undefined, serverBase: string): void {
  try {
    store?.removeItem(memoryKey(serverBase));
  } catch {
    // Same as above.
  }
}

/** sessionStorage when the browser lets us use it. */
export function sessionStore(): KeyValueStore | undefined {
  try {
    return globalThis.sessionStorage ?? undefined;
  } catch {
    return undefined;
  }
}
