// Why the page could not get a machine, in words for the reader: what
// happened and what to do. The lesson is in French, so are these.
import { HintedError, type ErrorInfo } from '../../contracts/errors.ts';
import type { FrenchWords } from '../../contracts/messages.fr.ts';

/** The command that starts the course's server, shown wherever it is missing. */
export const START_COMMAND = 'bash scripts/start.sh';

/**
 * Set by `npm run dev` only (src/lib/authoring/dev-sandbox-proxy.ts): the sandbox server the preview
 * forwards « Exécuter » to, and the command that starts it. Undefined in a built site.
 */
declare const __COURSE_DEV_SANDBOX__: { url: string; start: string } | undefined;

function devSandbox(): { url: string; start: string } | undefined {
  return typeof __COURSE_DEV_SANDBOX__ === 'object' && __COURSE_DEV_SANDBOX__ !== null ? __COURSE_DEV_SANDBOX__ : undefined;
}

/** No sandbox server answers at the configured address (static hosting, server stopped, network). */
export class SandboxServerMissingError extends HintedError {
  override name = 'SandboxServerMissingError';
  readonly serverUrl: string;
  constructor(serverUrl: string, why: string, dev = devSandbox()) {
    super(
      dev === undefined
        ? `Aucun serveur de machines ne répond à ${serverUrl} (${why}) : les commandes ne peuvent pas être exécutées depuis cette page.`
        : `Aucun serveur de machines ne répond à ${dev.url}, où l'aperçu de npm run dev transmet « Exécuter » (${why}).`,
      dev === undefined
        ? `Pour les exécuter, démarrez le serveur du cours à la racine du dépôt avec ${START_COMMAND}, puis rechargez la page. En attendant, « Copier » copie les commandes pour les taper dans votre propre VM.`
        : `Démarrez-le dans un second terminal, en root, à la racine du dépôt : ${dev.start}, puis cliquez de nouveau sur « Exécuter » (inutile de relancer npm run dev). En attendant, « Copier » copie les commandes.`,
    );
    this.serverUrl = dev?.url ?? serverUrl;
  }
}

/** A refusal's words when nothing better is known: its HTTP status (the catalogue, refusal-words.ts, knows more). */
export function statusWords(status: number): FrenchWords {
  return { message: `le serveur a répondu par l'erreur HTTP ${status}.`, hint: 'Réessayez dans un instant.' };
}

/** The server answered but would not give a machine (capacity, failure…). */
export class SandboxRefusedError extends HintedError {
  override name = 'SandboxRefusedError';
  readonly status: number;
  readonly info: ErrorInfo | undefined;
  readonly retryAfterSeconds: number | undefined;
  /** `words`: the catalogue's for this refusal (refusal-words.ts, loaded when a refusal comes). */
  constructor(status: number, info: ErrorInfo | undefined, retryAfterSeconds: number | undefined, words: FrenchWords) {
    super(`Le serveur n'a pas pu vous donner de machine : ${words.message}`, words.hint);
    this.status = status;
    this.info = info;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** What to show for any error met while starting a run: a sentence, then what to do. */
export function describeFailure(error: unknown): { message: string; hint: string } {
  if (error instanceof HintedError && error.hint !== undefined) return { message: error.message, hint: error.hint };
  const message = error instanceof Error ? error.message : String(error);
  return { message, hint: 'Réessayez ; si cela se répète, cliquez sur « Réinitialiser la machine ».' };
}
