// What the page remembers about the reader's sandbox between reloads: its id
// and token (to reattach instead of creating another) and which terminals
// were open (to reopen them). Kept in sessionStorage, so each tab has its own
// machine and a reload keeps it; small enough for the eager page script.
//
// A lab (a page with `machines:`) is remembered under its own key, made of
// its machines' names: the pages of a chapter that share a lab find it again,
// and the reader's single machine of the other chapters is kept beside it.

export interface RememberedSandbox {
  id: string;
  token: string;
  expiresAt: string;
  /** The terminals open when the page was left, in the order they were opened: "1", or "node2/1" in a lab. */
  terminals: string[];
  /** A lab's machines, as the server named and addressed them (absent for one machine). */
  machines?: { name: string; address: string }[];
}

/** The part of Storage we use (sessionStorage in the page, a Map in tests). */
export interface KeyValueStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** One record per sandbox server, so two builds pointing at different servers do not mix; and one per lab. */
export function memoryKey(serverBase: string, lab?: readonly string[]): string {
  return lab === undefined ? `course-sandbox:${serverBase}` : `course-sandbox:${serverBase}#lab=${lab.join(',')}`;
}

/** How a lab's terminal is remembered: "node2/1" (the server keys them the same way). */
export function terminalKey(name: string, machine: string | undefined): string {
  return machine === undefined ? name : `${machine}/${name}`;
}

/** "node2/1" → { machine: "node2", name: "1" }; "1" → { name: "1" }. */
export function parseTerminalKey(key: string): { machine: string | undefined; name: string } {
  const slash = key.indexOf('/');
  return slash === -1 ? { machine: undefined, name: key } : { machine: key.slice(0, slash), name: key.slice(slash + 1) };
}

function isRemembered(value: unknown): value is RememberedSandbox {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  return (
    typeof record.id === 'string' &&
    typeof record.token === 'string' &&
    typeof record.expiresAt === 'string' &&
    Array.isArray(record.terminals) &&
    record.terminals.every((name) => typeof name === 'string') &&
    (record.machines === undefined ||
      (Array.isArray(record.machines) && record.machines.every((machine) => typeof machine?.name === 'string' && typeof machine?.address === 'string')))
  );
}

/** The remembered sandbox, or undefined (nothing stored, unreadable, or past its expiry). */
export function recall(store: KeyValueStore | undefined, serverBase: string, now = Date.now(), lab?: readonly string[]): RememberedSandbox | undefined {
  if (store === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(store.getItem(memoryKey(serverBase, lab)) ?? 'null');
  } catch {
    parsed = undefined;
  }
  if (!isRemembered(parsed)) return undefined;
  if (!(Date.parse(parsed.expiresAt) > now)) return undefined;
  return parsed;
}

export function remember(store: KeyValueStore | undefined, serverBase: string, sandbox: RememberedSandbox, lab?: readonly string[]): void {
  try {
    store?.setItem(memoryKey(serverBase, lab), JSON.stringify(sandbox));
  } catch {
    // Storage full or disabled (private mode): the page works, a reload just starts a new machine.
  }
}

export function forget(store: KeyValueStore | undefined, serverBase: string, lab?: readonly string[]): void {
  try {
    store?.removeItem(memoryKey(serverBase, lab));
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
