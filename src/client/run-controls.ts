// The page's only eager terminal code: it makes the Exécuter, Copier and
// « Ouvrir un nouveau terminal » buttons work, and loads the terminal app
// (xterm included) once the page is read and the browser idle, or as soon as
// a reader points at or tabs to a button, so that the first click finds it
// there; at once after a reload when the reader had terminals open. Keep it
// small: every lesson page ships it.
import { textToCopy, writeClipboard } from '../components/copy-client.ts';
import { sandboxEndpoint } from './sandbox-endpoint.ts';
import { recall, sessionStore } from './sandbox-memory.ts';
import { captureClassLink, classCredential } from './classroom/class-credential.ts';
import type { Report, TerminalApp, TerminalAppOptions } from './terminal-app.ts';

let app: Promise<TerminalApp> | undefined;

/** The page's lab, as the build wrote it from its front matter's `machines:` (CourseLayout.astro); undefined: one machine. */
const lab = document.querySelector<HTMLElement>('[data-lab-machines]')?.dataset.labMachines?.split(' ').filter(Boolean);

/** The sandbox server's URL, as the build wrote it on the controls, and the page's lab. */
function appOptions(element: HTMLElement): TerminalAppOptions {
  return { server: element.dataset.sandboxUrl ?? '/', lab };
}

/** The terminal code (one import site: the click and the prefetch share one download). */
const appModule = () => import('./terminal-app.ts');

function loadApp(options: TerminalAppOptions): Promise<TerminalApp> {
  if (app === undefined) {
    app = appModule().then(({ TerminalApp }) => new TerminalApp(options));
    app.catch(() => {
      app = undefined; // A failed download (network) may succeed on the next click.
    });
  }
  return app;
}

/**
 * Downloads the terminal code, makes the app (styles applied, terminal area
 * built but hidden) and builds terminal `name` ahead, unseen, without asking
 * for a machine: the click then costs only the machine and showing it. A
 * failed download is simply tried again by the click.
 */
function prefetchApp(element: HTMLElement, name: string, machine: string | undefined): void {
  loadApp(appOptions(element))
    .then((loaded) => loaded.prepare(name, machine))
    .catch(() => undefined);
}

/** A reader pointing at, or tabbing to, a button is about to click it. */
function prefetchOnApproach(element: HTMLElement | null, prefetch: () => void): void {
  element?.addEventListener('pointerenter', prefetch, { once: true });
  element?.addEventListener('focus', prefetch, { once: true });
}

/** After the page is readable (load) and when the browser has nothing better to do; not on a metered connection that asks to save data. */
function prefetchWhenIdle(prefetch: () => void): void {
  const saveData = (navigator as Navigator & { connection?: { saveData?: boolean } }).connection?.saveData === true;
  if (saveData) return;
  const idle = () => (typeof requestIdleCallback === 'function' ? requestIdleCallback(prefetch, { timeout: 3000 }) : setTimeout(prefetch, 200));
  if (document.readyState === 'complete') idle();
  else addEventListener('load', idle, { once: true });
}

/** The command to start the server, shown as code inside the hint. */
const START_COMMAND = 'bash scripts/start.sh';

function reporter(controls: HTMLElement): Report {
  const status = controls.querySelector<HTMLElement>('[data-run-status]');
  return (state, message, hint, action) => {
    controls.dataset.runState = state;
    if (status === null) return;
    const text = document.createElement('span');
    text.className = 'run-message';
    text.textContent = message;
    status.replaceChildren(text);
    if (hint !== undefined) {
      const help = document.createElement('span');
      help.className = 'run-hint';
      for (const [index, part] of hint.split(START_COMMAND).entries()) {
        if (index > 0) {
          const code = document.createElement('code');
          code.textContent = START_COMMAND;
          help.append(code);
        }
        help.append(part);
      }
      status.append(' ', help);
    }
    if (action !== undefined) {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'run-offer';
      button.textContent = action.label;
      button.addEventListener(
        'click',
        () => {
          button.disabled = true;
          action.run();
        },
        { once: true },
      );
      status.append(button);
    }
  };
}

const LOAD_FAILED = "Le terminal n'a pas pu être chargé : le serveur qui sert cette page ne répond plus.";
const LOAD_FAILED_HINT = `Vérifiez votre connexion ; si le serveur du cours est arrêté, relancez-le avec ${START_COMMAND}, puis rechargez la page.`;

/** Sets up one snippet's buttons; returns what builds its terminal ahead. */
function setUpSnippet(controls: HTMLElement): (() => void) | undefined {
  const figure = controls.closest<HTMLElement>('[data-transcript]');
  if (figure === null) return undefined;
  const commands = JSON.parse(figure.dataset.commands ?? '[]') as string[];
  const terminal = controls.dataset.terminal ?? figure.dataset.terminal ?? '1';
  // On a lab page, say beside « Exécuter » which machine the block runs on (the block's own, else the lab's first).
  const machine = lab === undefined ? undefined : lab.includes(figure.dataset.machine ?? '') ? figure.dataset.machine : lab[0];
  if (machine !== undefined) showMachine(controls, machine, terminal);
  const options = appOptions(controls);
  const report = reporter(controls);
  const lines = () => figure.querySelectorAll<HTMLElement>('[data-command-index]');

  const run = controls.querySelector<HTMLElement>('[data-run]');
  const prefetch = () => prefetchApp(controls, terminal, machine);
  prefetchOnApproach(run, prefetch);
  run?.addEventListener('click', () => {
    // A click while the machine starts would only start it twice; later clicks re-run (with Ctrl-C first).
    if (controls.dataset.runState === 'starting') return;
    for (const line of lines()) line.classList.remove('is-running', 'is-done', 'is-failed');
    report('starting', 'Chargement du terminal…');
    loadApp(options)
      .then((loaded) =>
        loaded.runSnippet({
          id: String([...document.querySelectorAll('[data-transcript]')].indexOf(figure)),
          terminal,
          machine,
          commands,
          report,
          // The terminal area covers the bottom of the window (terminal.css sets the matching scroll-padding).
          reveal: () => controls.scrollIntoView({ block: 'nearest' }),
          commandState: (index, state) => {
            const line = figure.querySelector(`[data-command-index="${index}"]`);
            line?.classList.remove('is-running', 'is-done', 'is-failed');
            line?.classList.add(`is-${state}`);
          },
        }),
      )
      .catch(() => report('error', LOAD_FAILED, LOAD_FAILED_HINT));
  });

  const copy = controls.querySelector<HTMLButtonElement>('[data-copy]');
  const pre = figure.querySelector<HTMLElement>('pre');
  copy?.addEventListener('click', () => {
    if (pre === null) return;
    writeClipboard(textToCopy(pre))
      .then(() => report('done', commands.length > 1 ? 'Commandes copiées.' : 'Commande copiée.'))
      .catch(() => report('error', 'Copie impossible : sélectionnez le texte à la main.'));
  });
  return prefetch;
}

/** « sur node2 » (« sur node2, terminal 2 ») after the buttons, in the place of « dans le terminal 2 ». */
function showMachine(controls: HTMLElement, machine: string, terminal: string): void {
  let target = controls.querySelector<HTMLElement>('.run-target');
  if (target === null) {
    target = document.createElement('span');
    target.className = 'run-target';
    controls.querySelector('.run-buttons')?.append(target);
  }
  target.textContent = terminal === '1' ? `sur ${machine}` : `sur ${machine}, terminal ${terminal}`;
}

function setUpOpenButton(button: HTMLElement): void {
  const name = button.dataset.openTerminal ?? '2';
  const machine = button.dataset.machine;
  const options = appOptions(button);
  const holder = button.closest<HTMLElement>('[data-terminal-open]') ?? button;
  const report = reporter(holder);
  prefetchOnApproach(button, () => prefetchApp(button, name, machine));
  button.addEventListener('click', () => {
    report('starting', 'Chargement du terminal…');
    loadApp(options)
      .then((loaded) => loaded.openTerminal(name, report, machine))
      .catch(() => report('error', LOAD_FAILED, LOAD_FAILED_HINT));
  });
}

const snippets = [...document.querySelectorAll<HTMLElement>('[data-run-controls]')];
// When idle, the first snippet's terminal is built ahead (most first clicks are on it, or use the same terminal).
const firstPrefetch = snippets.map(setUpSnippet).find((prefetch) => prefetch !== undefined);
if (firstPrefetch !== undefined) prefetchWhenIdle(firstPrefetch);
document.querySelectorAll<HTMLElement>('[data-open-terminal]').forEach(setUpOpenButton);

// After a reload, reattach to the terminals the reader had open (if the machine still exists).
const first = snippets[0];
const server = first?.dataset.sandboxUrl;

// A student's personal link (class mode): keep it, then show their exercises' ✓ on this page.
if (server !== undefined) {
  const endpoint = sandboxEndpoint(server, location.href);
  captureClassLink(endpoint.base);
  if (classCredential(endpoint.base) !== undefined) {
    import('./classroom/exercise-badges.ts').then(({ ExerciseBadges }) => new ExerciseBadges(endpoint).start()).catch(() => undefined);
  }
}
if (
  first !== undefined &&
  server !== undefined &&
  (recall(sessionStore(), sandboxEndpoint(server, location.href).base, Date.now(), lab)?.terminals.length ?? 0) > 0
) {
  loadApp(appOptions(first))
    .then((loaded) => loaded.restore())
    .catch(() => undefined);
}
