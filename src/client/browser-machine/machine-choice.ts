// What the terminal app must know of the browser machine before it loads any
// of its code: the site's mode, whether the reader accepted one in this tab,
// and the error for "no machine chosen yet". The offer and the machine
// itself (browser-machine-offer.ts and what it imports) are a chunk of their
// own, fetched only when they are offered or were accepted.

/** COURSE_MACHINE: which machines the page uses (see src/lib/site-config.ts). */
export type MachineMode = 'auto' | 'browser' | 'server';

/** sessionStorage key: the reader accepted a browser machine in this tab. */
export const ACCEPTED_KEY = 'course-browser-machine';

/** The site is built for browser machines only and the reader has not started one yet. */
export class NoMachineChosenError extends Error {
  override name = 'NoMachineChosenError';
  readonly hint = 'Cliquez sur « Démarrer une machine dans votre navigateur ».';
  constructor() {
    super("Aucune machine n'est démarrée pour cette page.");
  }
}

export function storage(): Storage | undefined {
  try {
    return globalThis.sessionStorage ?? undefined;
  } catch {
    return undefined;
  }
}

/** Whether the reader accepted a browser machine in this tab (then the offer's code is needed to give it back). */
export function acceptedInThisTab(mode: MachineMode): boolean {
  return mode !== 'server' && storage()?.getItem(ACCEPTED_KEY) === 'accepted';
}
