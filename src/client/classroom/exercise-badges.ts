// For a student who came through their personal link: says under each of
// the page's exercise headings whether the server's check passed (✓), and
// shows their name and class above the lesson. Reports each snippet they ran
// (the server answers with the exercises, checked right away) and looks
// again every little while, since exercises typed by hand count too.
// Loaded only when the page holds a student credential (run-controls.ts).
import { inFrench } from '../../../contracts/messages.fr.ts';
import { type ExerciseState, MeReply } from '../../../contracts/class-api.ts';
import { ApiErrorBody, type ErrorInfo } from '../../../contracts/protocol.ts';
import { apiUrl, type SandboxEndpoint } from '../sandbox-endpoint.ts';
import { SNIPPET_RUN_EVENT, classCredential, type SnippetRunDetail } from './class-credential.ts';

const POLL_MS = 15_000;

const STYLES = `
.class-banner { margin: 0 0 1rem; padding: 0.5rem 0.75rem; border: 1px solid var(--border); border-radius: 0.4rem; background: var(--bg-soft); font-size: 0.9rem; }
.class-banner[data-state='error'] { border-color: light-dark(#b42318, #ff7b72); }
.class-banner .class-hint { display: block; margin-top: 0.2rem; color: var(--muted); }
.exercise-check { display: flex; gap: 0.5rem; align-items: baseline; margin: 0.25rem 0 0.75rem; padding: 0.35rem 0.6rem; border-radius: 0.4rem; font-size: 0.875rem; border: 1px dashed var(--border); color: var(--muted); }
.exercise-check[data-passed='true'] { border-style: solid; border-color: light-dark(#1a6b2e, #3fb950); color: light-dark(#1a6b2e, #3fb950); }
.exercise-check .exercise-mark { font-weight: 700; }
`;

export class ExerciseBadges {
  readonly #endpoint: SandboxEndpoint;
  readonly #banner: HTMLElement;
  readonly #badges = new Map<string, HTMLElement>();
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(endpoint: SandboxEndpoint) {
    this.#endpoint = endpoint;
    const style = document.createElement('style');
    style.textContent = STYLES;
    document.head.append(style);
    this.#banner = document.createElement('p');
    this.#banner.className = 'class-banner';
    this.#banner.setAttribute('role', 'status');
    this.#banner.dataset.classBanner = '';
    const title = document.querySelector('main h1, article h1, h1');
    if (title) title.after(this.#banner);
    else document.body.prepend(this.#banner);
  }

  start(): void {
    void this.refresh();
    document.addEventListener(SNIPPET_RUN_EVENT, (event) => void this.report((event as CustomEvent<SnippetRunDetail>).detail));
    this.#timer = setInterval(() => {
      if (document.visibilityState === 'visible') void this.refresh();
    }, POLL_MS);
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  async refresh(): Promise<void> {
    const response = await this.#request('GET', 'api/class/me');
    if (response === undefined) return;
    if (!response.ok) return this.#showError(await readError(response));
    const me = MeReply.safeParse(await response.json().catch(() => undefined)).data;
    if (!me) return this.#showError({ code: 'bad-reply', message: 'Le serveur de la classe a envoyé une réponse inattendue.', hint: 'Rechargez la page.' });
    const mine = me.exercises.filter((exercise) => onThisPage(exercise.page));
    const passed = me.exercises.filter((exercise) => exercise.passedAt !== null).length;
    this.#banner.dataset.state = 'ok';
    this.#banner.textContent = `Classe « ${me.class.name} » — ${me.student.name} · exercices réussis : ${passed}/${me.exercises.length}`;
    this.#render(mine);
  }

  async report(run: SnippetRunDetail): Promise<void> {
    const page = location.pathname.replace(/^\/+/, '');
    const response = await this.#request('POST', 'api/class/progress', { page, snippet: run.snippet, commands: run.commands, statuses: run.statuses });
    if (response?.ok) await this.refresh();
  }

  #render(exercises: ExerciseState[]): void {
    for (const exercise of exercises) {
      let badge = this.#badges.get(exercise.key);
      if (!badge) {
        const heading = document.getElementById(exercise.section);
        if (!heading) continue;
        badge = document.createElement('p');
        badge.className = 'exercise-check';
        badge.dataset.exercise = exercise.id;
        heading.after(badge);
        this.#badges.set(exercise.key, badge);
      }
      const passed = exercise.passedAt !== null;
      badge.dataset.passed = String(passed);
      const mark = document.createElement('span');
      mark.className = 'exercise-mark';
      mark.textContent = passed ? '✓ Exercice réussi' : '○ Exercice à faire';
      const text = document.createElement('span');
      text.textContent = passed
        ? `${exercise.title} (vérifié à ${new Date(exercise.passedAt!).toLocaleTimeString('fr-FR', { hour: '2-digit', minute: '2-digit' })})`
        : `${exercise.title} — vérifié automatiquement dans votre machine quand vous le faites.`;
      badge.replaceChildren(mark, text);
    }
  }

  #showError(error: ErrorInfo | undefined): void {
    this.#banner.dataset.state = 'error';
    const message = document.createElement('span');
    const words = error === undefined ? undefined : inFrench(error);
    message.textContent = words?.message ?? 'Le serveur de la classe ne répond pas comme prévu.';
    const hint = document.createElement('span');
    hint.className = 'class-hint';
    hint.textContent = words?.hint ?? 'Rechargez la page dans un moment.';
    this.#banner.replaceChildren(message, hint);
  }

  async #request(method: string, path: string, body?: unknown): Promise<Response | undefined> {
    const token = classCredential(this.#endpoint.base);
    if (token === undefined) return undefined;
    try {
      return await fetch(apiUrl(this.#endpoint, path), {
        method,
        cache: 'no-store',
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? null : JSON.stringify(body),
      });
    } catch {
      return undefined; // Offline for a moment: the next poll tries again.
    }
  }
}

function onThisPage(page: string): boolean {
  const path = location.pathname.endsWith('/') ? location.pathname : `${location.pathname}/`;
  return path === `/${page}` || path.endsWith(`/${page}`);
}

async function readError(response: Response): Promise<ErrorInfo | undefined> {
  return ApiErrorBody.safeParse(await response.json().catch(() => undefined)).data?.error;
}
