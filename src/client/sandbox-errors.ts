// Why the page could not get a machine, in words for the reader: what
// happened and what to do. The lesson is in French, so are these.
import { HintedError, type ErrorInfo } from '../../contracts/errors.ts';

/** The command that starts the course's server, shown wherever it is missing. */
export const START_COMMAND = 'bash scripts/start.sh';

/** No sandbox server answers at the configured address (static hosting, server stopped, network). */
export class SandboxServerMissingError extends HintedError {
  override name = 'SandboxServerMissingError';
  readonly serverUrl: string;
  constructor(serverUrl: string, why: string) {
    super(
      `Aucun serveur de machines ne répond à ${serverUrl} (${why}) : les commandes ne peuvent pas être exécutées depuis cette page.`,
      `Pour les exécuter, démarrez le serveur du cours à la racine du dépôt avec ${START_COMMAND}, puis rechargez la page. En attendant, « Copier » copie les commandes pour les taper dans votre propre VM.`,
    );
    this.serverUrl = serverUrl;
  }
}

const REFUSAL_HINTS: Partial<Record<ErrorInfo['code'], string>> = {
  'too-many-sandboxes': 'Vous avez déjà plusieurs machines ouvertes (autres onglets ?) : fermez-les ou attendez qu\'elles expirent, puis réessayez.',
  'server-at-capacity': 'Le serveur est plein pour le moment : réessayez dans une minute.',
  'server-shutting-down': 'Le serveur redémarre : réessayez dans un instant.',
  'sandbox-failed': 'Réessayez ; si cela se répète, le journal du serveur (message « sandbox creation failed ») en donne la raison.',
};

/** The server answered but would not give a machine (capacity, failure…). */
export class SandboxRefusedError extends HintedError {
  override name = 'SandboxRefusedError';
  readonly status: number;
  readonly info: ErrorInfo | undefined;
  readonly retryAfterSeconds: number | undefined;
  constructor(status: number, info: ErrorInfo | undefined, retryAfterSeconds: number | undefined) {
    super(
      `Le serveur n'a pas pu vous donner de machine (HTTP ${status}${info ? ` : ${info.message}` : ''}).`,
      (info && REFUSAL_HINTS[info.code]) ?? info?.hint ?? 'Réessayez dans un instant.',
    );
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
