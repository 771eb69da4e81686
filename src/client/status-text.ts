// The words of the terminal's status line, in one place.
import type { SessionState, StateDetail } from './terminal-session.ts';

export function sessionStatusText(state: SessionState, detail: StateDetail): string {
  switch (state) {
    case 'idle':
      return 'pas encore connecté';
    case 'connecting':
      return 'connexion…';
    case 'connected':
      return 'connecté';
    case 'reconnecting':
      return detail.retryInMs === undefined ? 'reconnexion…' : `reconnexion… (nouvel essai dans ${Math.max(1, Math.round(detail.retryInMs / 1000))} s)`;
    case 'exited':
      return 'session terminée : Exécuter ouvrira un nouveau shell';
    case 'machine-gone':
      return 'machine arrêtée';
    case 'taken-over':
      return 'ouvert dans une autre fenêtre';
    case 'failed':
      return `erreur : ${detail.error?.message ?? 'connexion refusée'}`;
    case 'closed':
      return 'fermé';
  }
}
