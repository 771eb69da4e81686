// How the dashboard writes durations, sizes and states, in French.

export const STATUS_LABELS = { online: 'en ligne', idle: 'inactif', none: 'pas de machine' } as const;
export const LINK_LABELS = { active: 'actif', revoked: 'révoqué', expired: 'expiré', none: 'aucun' } as const;

/** "42 s", "7 min", "1 h 05" */
export function duration(seconds: number): string {
  if (seconds < 60) return `${Math.max(0, Math.round(seconds))} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')}`;
}

/** "87 Mio" */
export function mebibytes(bytes: number | null): string {
  return bytes === null ? '—' : `${Math.round(bytes / 2 ** 20)} Mio`;
}

export function percent(value: number | null): string {
  return value === null ? '—' : `${value.toLocaleString('fr-FR', { maximumFractionDigits: 1 })} %`;
}

/** "10:42" today, "12/03 10:42" another day. */
export function clock(iso: string | null, now = new Date()): string {
  if (iso === null) return '—';
  const at = new Date(iso);
  const time = at.toLocaleTimeString('fr-FR', { hour: '2-digit', minute: '2-digit' });
  return at.toDateString() === now.toDateString() ? time : `${at.toLocaleDateString('fr-FR', { day: '2-digit', month: '2-digit' })} ${time}`;
}

export function dateTime(iso: string): string {
  return new Date(iso).toLocaleString('fr-FR', { dateStyle: 'long', timeStyle: 'short' });
}
