// The instructor's dashboard (src/pages/instructeur/): asks for the key when
// there is none, lists the classes, creates one and shows its links, shows
// the chosen class every few seconds and runs the per-student and class-wide
// actions. Everything it shows comes from the class API (dashboard-api.ts).
import { STUDENT_LINK_KEY } from '../../../contracts/link-keys.ts';
import { sandboxEndpoint } from '../sandbox-endpoint.ts';
import { DashboardApi, DashboardApiError, type ClassView, type CreatedLink, type NewClassForm } from './dashboard-api.ts';
import { renderEvents, renderHeader, renderStudent, renderSummary } from './dashboard-view.ts';
import { captureInstructorKey, forgetInstructorKey, instructorKey, keyFromInput, rememberInstructorKey } from './instructor-key.ts';
import { TerminalViewer } from './terminal-viewer.ts';

const REFRESH_MS = 5_000;
const CLASS_KEY = 'course-dashboard-class';

function required<T extends HTMLElement = HTMLElement>(root: ParentNode, selector: string): T {
  const found = root.querySelector<T>(selector);
  if (!found) throw new Error(`tableau de bord : l'élément ${selector} manque dans la page`);
  return found;
}

export class DashboardApp {
  readonly #root: HTMLElement;
  readonly #api: DashboardApi;
  readonly #siteBase: string;
  readonly #viewer: TerminalViewer;
  readonly #status: HTMLElement;
  #view: ClassView | undefined;
  #classId: string | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #busy = false;

  constructor(root: HTMLElement) {
    this.#root = root;
    const endpoint = sandboxEndpoint(root.dataset.sandboxUrl ?? '/', location.href);
    this.#api = new DashboardApi(endpoint, instructorKey);
    // The dashboard lives at <site>/instructeur/: the students' links start from <site>.
    this.#siteBase = new URL('../', new URL(location.pathname.endsWith('/') ? location.pathname : `${location.pathname}/`, location.href)).href;
    this.#viewer = new TerminalViewer(required<HTMLDialogElement>(root, '[data-viewer]'));
    this.#status = required(root, '[data-dashboard-status]');
  }

  start(): void {
    captureInstructorKey();
    required<HTMLFormElement>(this.#root, '[data-key-form] form').addEventListener('submit', (event) => {
      event.preventDefault();
      const input = required<HTMLInputElement>(this.#root, '[data-key-form] input');
      rememberInstructorKey(keyFromInput(input.value));
      input.value = '';
      void this.#load();
    });
    required(this.#root, '[data-forget-key]').addEventListener('click', () => {
      forgetInstructorKey();
      this.#stopRefresh();
      this.#show('key');
      this.#say('Clé oubliée dans cet onglet.');
    });
    required<HTMLSelectElement>(this.#root, '[data-class-select]').addEventListener('change', (event) => {
      this.#select((event.target as HTMLSelectElement).value);
    });
    required(this.#root, '[data-new-class]').addEventListener('click', () => {
      const form = required<HTMLFormElement>(this.#root, '[data-create-form]');
      form.hidden = !form.hidden;
      if (!form.hidden) form.querySelector('input')?.focus();
    });
    required<HTMLFormElement>(this.#root, '[data-create-form]').addEventListener('submit', (event) => {
      event.preventDefault();
      void this.#create(event.target as HTMLFormElement);
    });
    required(this.#root, '[data-reset-all]').addEventListener('click', () => void this.#machines('reset'));
    required(this.#root, '[data-destroy-all]').addEventListener('click', () => void this.#machines('destroy'));
    required(this.#root, '[data-export]').addEventListener('click', () => void this.#export());
    required(this.#root, '[data-students]').addEventListener('click', (event) => {
      const target = (event.target as HTMLElement).closest<HTMLButtonElement>('button[data-action]');
      if (target) void this.#studentAction(target);
    });
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') void this.#refresh();
    });
    void this.#load();
  }

  async #load(): Promise<void> {
    if (instructorKey() === undefined) {
      this.#show('key');
      return;
    }
    try {
      const classes = await this.#api.classes();
      this.#show('dashboard');
      const select = required<HTMLSelectElement>(this.#root, '[data-class-select]');
      select.replaceChildren(...classes.map((summary) => new Option(`${summary.name} (${summary.students} élèves)`, summary.id)));
      if (classes.length === 0) {
        this.#say("Aucune classe pour l'instant : créez-en une avec « Nouvelle classe ».");
        required<HTMLFormElement>(this.#root, '[data-create-form]').hidden = false;
        required(this.#root, '[data-class-view]').hidden = true;
        return;
      }
      const remembered = sessionStorage.getItem(CLASS_KEY);
      const chosen = classes.find((summary) => summary.id === remembered)?.id ?? classes.at(-1)!.id;
      select.value = chosen;
      this.#select(chosen);
    } catch (error) {
      this.#fail(error);
      if (error instanceof DashboardApiError && (error.status === 401 || error.status === 403)) {
        forgetInstructorKey();
        this.#show('key');
      }
    }
  }

  #select(classId: string): void {
    this.#classId = classId;
    sessionStorage.setItem(CLASS_KEY, classId);
    required(this.#root, '[data-links]').hidden = true;
    void this.#refresh();
    this.#stopRefresh();
    this.#timer = setInterval(() => {
      if (document.visibilityState === 'visible') void this.#refresh();
    }, REFRESH_MS);
  }

  #stopRefresh(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async #refresh(): Promise<void> {
    const classId = this.#classId;
    if (classId === undefined || this.#busy) return;
    try {
      const view = await this.#api.classView(classId);
      if (classId !== this.#classId) return;
      this.#view = view;
      this.#render(view);
      // A failure shown earlier (server unreachable…) is over.
      if (this.#status.dataset.state === 'error') this.#say('');
    } catch (error) {
      this.#fail(error);
    }
  }

  #render(view: ClassView): void {
    required(this.#root, '[data-class-view]').hidden = false;
    required(this.#root, '[data-class-title]').textContent = view.class.name;
    required(this.#root, '[data-class-summary]').textContent = renderSummary(view);
    const table = required<HTMLTableElement>(this.#root, '[data-students]');
    renderHeader(view, table.tHead ?? table.createTHead());
    const body = table.tBodies[0] ?? table.createTBody();
    body.replaceChildren(...view.students.map((student) => renderStudent(view, student)));
    renderEvents(view, required(this.#root, '[data-events]'));
    this.#root.dataset.refreshedAt = new Date().toISOString();
  }

  async #create(form: HTMLFormElement): Promise<void> {
    const data = new FormData(form);
    const text = (name: string) => String(data.get(name) ?? '').trim();
    const roster = text('roster')
      .split(/\r?\n/)
      .map((line) => line.trim())
      .filter((line) => line !== '');
    const request: NewClassForm = { name: text('name'), docker: data.get('docker') === 'on' };
    if (roster.length > 0) request.roster = roster;
    else if (text('seats') !== '') request.seats = Number(text('seats'));
    if (text('capacity') !== '') request.capacity = Number(text('capacity'));
    if (text('lifetime') !== '') request.lifetime = text('lifetime');
    if (text('memory') !== '') request.memory = text('memory');
    if (text('cpus') !== '') request.cpus = text('cpus');
    try {
      const created = await this.#api.createClass(request);
      form.reset();
      form.hidden = true;
      await this.#load();
      const select = required<HTMLSelectElement>(this.#root, '[data-class-select]');
      select.value = created.class.id;
      this.#select(created.class.id);
      this.#showLinks(created.class.startPage, created.links, `Classe « ${created.class.name} » créée.`);
      this.#say(`Classe « ${created.class.name} » créée : donnez à chaque élève son lien personnel ci-dessous.`);
    } catch (error) {
      this.#fail(error);
    }
  }

  /** The students' personal links, shown once (only their hashes are kept). */
  #showLinks(startPage: string, links: CreatedLink[], title: string): void {
    const section = required(this.#root, '[data-links]');
    required(section, '[data-links-title]').textContent = title;
    const rows = links.map(({ student, token }) => {
      const url = `${this.#siteBase}${startPage}#${STUDENT_LINK_KEY}=${token}`;
      const row = document.createElement('tr');
      const name = document.createElement('th');
      name.scope = 'row';
      name.textContent = student.name;
      const link = document.createElement('td');
      const code = document.createElement('code');
      code.textContent = url;
      code.dataset.link = student.id;
      link.append(code);
      const copy = document.createElement('td');
      const copyButton = document.createElement('button');
      copyButton.type = 'button';
      copyButton.textContent = 'Copier';
      copyButton.addEventListener('click', () => void navigator.clipboard?.writeText(url).then(() => (copyButton.textContent = 'Copié')));
      copy.append(copyButton);
      row.append(name, link, copy);
      return { row, line: `${student.name}\t${url}` };
    });
    required(section, 'tbody').replaceChildren(...rows.map(({ row }) => row));
    const all = required<HTMLButtonElement>(section, '[data-copy-links]');
    all.onclick = () => void navigator.clipboard?.writeText(rows.map(({ line }) => line).join('\n')).then(() => (all.textContent = 'Liens copiés'));
    all.textContent = 'Copier tous les liens';
    section.hidden = false;
    section.scrollIntoView({ block: 'nearest' });
  }

  async #studentAction(target: HTMLButtonElement): Promise<void> {
    const classId = this.#classId;
    const student = this.#view?.students.find((candidate) => candidate.id === target.dataset.student);
    if (classId === undefined || !student || !this.#view) return;
    try {
      switch (target.dataset.action) {
        case 'view': {
          const terminal = target.dataset.terminal ?? '1';
          const machine = target.dataset.machine;
          const url = await this.#api.viewer(classId, student.id, terminal, machine);
          await this.#viewer.open(machine === undefined ? `Terminal ${terminal} de ${student.name}` : `${machine} · ${terminal} de ${student.name}`, url);
          return;
        }
        case 'reset-machine': {
          const machine = target.dataset.machine;
          if (machine === undefined) return;
          await this.#api.resetLabMachine(classId, student.id, machine);
          this.#say(`Machine ${machine} de ${student.name} réinitialisée ; les autres machines de son lab continuent.`);
          break;
        }
        case 'reset':
          await this.#api.machines(classId, 'reset', [student.id]);
          this.#say(`Machine de ${student.name} réinitialisée : une machine neuve l'attend.`);
          break;
        case 'destroy':
          if (!confirm(`Détruire la machine de ${student.name} ? Ce qui s'y trouve est perdu.`)) return;
          await this.#api.machines(classId, 'destroy', [student.id]);
          this.#say(`Machine de ${student.name} détruite.`);
          break;
        case 'link': {
          if (student.link.state === 'active' && !confirm(`Créer un nouveau lien pour ${student.name} ? L'ancien ne fonctionnera plus.`)) return;
          const link = await this.#api.newLink(classId, student.id);
          this.#showLinks(this.#view.class.startPage, [link], `Nouveau lien pour ${student.name} (l'ancien ne fonctionne plus).`);
          break;
        }
        case 'revoke':
          if (!confirm(`Révoquer le lien de ${student.name} ? Sa machine s'arrête et le lien ne fonctionnera plus.`)) return;
          await this.#api.revoke(classId, student.id);
          this.#say(`Lien de ${student.name} révoqué.`);
          break;
      }
      await this.#refresh();
    } catch (error) {
      this.#fail(error);
    }
  }

  async #machines(action: 'reset' | 'destroy'): Promise<void> {
    const classId = this.#classId;
    if (classId === undefined) return;
    const question =
      action === 'reset'
        ? "Réinitialiser toutes les machines de la classe ? Chaque élève qui en a une repart d'une machine neuve."
        : "Détruire toutes les machines de la classe ? Ce qui s'y trouve est perdu.";
    if (!confirm(question)) return;
    this.#busy = true;
    try {
      const count = await this.#api.machines(classId, action);
      this.#say(action === 'reset' ? `${count} machine(s) réinitialisée(s).` : `${count} machine(s) détruite(s).`);
    } catch (error) {
      this.#fail(error);
    } finally {
      this.#busy = false;
    }
    await this.#refresh();
  }

  async #export(): Promise<void> {
    if (this.#classId === undefined) return;
    try {
      const { blob, filename } = await this.#api.progressCsv(this.#classId);
      const link = document.createElement('a');
      link.href = URL.createObjectURL(blob);
      link.download = filename;
      link.click();
      setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
      this.#say(`Progression exportée (${filename}).`);
    } catch (error) {
      this.#fail(error);
    }
  }

  #show(part: 'key' | 'dashboard'): void {
    required(this.#root, '[data-key-form]').hidden = part !== 'key';
    required(this.#root, '[data-dashboard]').hidden = part !== 'dashboard';
  }

  #say(message: string, state: 'ok' | 'error' = 'ok'): void {
    this.#status.dataset.state = state;
    this.#status.textContent = message;
  }

  #fail(error: unknown): void {
    if (error instanceof DashboardApiError) this.#say(`${error.message}${error.hint ? ` ${error.hint}` : ''}`, 'error');
    else this.#say(`Erreur inattendue : ${(error as Error).message}`, 'error');
  }
}
