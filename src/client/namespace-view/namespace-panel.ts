// « Vue des namespaces »: the panel beside the terminals that shows one
// machine's processes grouped by namespace, live. Its own chunk, loaded the
// first time the reader opens it from the dock (terminal-app.ts); no
// library: plain DOM and CSS. The picture is for the eyes (aria-hidden), the
// table (namespace-render.ts) says the same to screen readers, and a live
// region says what changed (« nouveau namespace uts créé par unshare »).
import { inFrench } from '../../../contracts/messages.fr.ts';
import panelCss from './namespace-view.css?url';
import type { MachinePicture } from './machine-picture.ts';
import { namespaceBands, namespaceChanges, type NamespaceBand } from './namespace-groups.ts';
import { omittedText, renderBands, renderTable } from './namespace-render.ts';
import { NamespaceSocket, type NamespaceSocketState } from './namespace-socket.ts';

/** The machine a panel shows (in a lab, the one picked in its « Machine » list). */
export interface NamespaceMachine {
  /** The sandbox id, or "<lab id>/<machine>" for a lab's machine. */
  id: string;
  /** WS URL of its namespace view, with its credentials. */
  url: string;
}

/** How many of the latest changes stay listed. */
const CHANGES_KEPT = 4;

let stylesheet: Promise<void> | undefined;
let panelCount = 0;
function loadStyles(): Promise<void> {
  stylesheet ??= new Promise((resolve, reject) => {
    const link = document.createElement('link');
    link.rel = 'stylesheet';
    link.href = panelCss;
    link.addEventListener('load', () => resolve(), { once: true });
    link.addEventListener('error', () => reject(new Error("la feuille de style de la vue des namespaces n'a pas pu être chargée")), { once: true });
    document.head.append(link);
  });
  return stylesheet;
}

export class NamespacePanel {
  readonly element: HTMLElement;
  private readonly status: HTMLElement;
  private readonly picture: HTMLElement;
  private readonly table: HTMLElement;
  private readonly omitted: HTMLElement;
  private readonly changes: HTMLUListElement;
  private readonly tableButton: HTMLButtonElement;
  /** « Machine : node2 » — shown only on a page with a lab. */
  private readonly picker: HTMLLabelElement;
  private readonly machineSelect: HTMLSelectElement;
  private socket: NamespaceSocket | undefined;
  private machine: NamespaceMachine | undefined;
  private bands: NamespaceBand[] | undefined;
  private fresh = new Set<string>();
  private tableShown = false;
  readonly ready: Promise<void>;

  /** `pick`: the reader chose another machine of the lab in the list. */
  constructor(options: { close(): void; pick?(machine: string): void }) {
    this.ready = loadStyles().catch(() => undefined);
    const panel = document.createElement('section');
    panel.className = 'nsv-panel';
    panel.dataset.namespacePanel = '';
    // One panel per machine: ids unique on the page.
    const titleId = `nsv-title-${++panelCount}`;
    panel.setAttribute('aria-labelledby', titleId);

    const head = document.createElement('div');
    head.className = 'nsv-head';
    const title = document.createElement('h2');
    title.id = titleId;
    title.className = 'nsv-title';
    title.textContent = 'Vue des namespaces';
    this.status = document.createElement('span');
    this.status.className = 'nsv-status';
    this.status.dataset.namespaceStatus = '';
    this.tableButton = document.createElement('button');
    this.tableButton.type = 'button';
    this.tableButton.textContent = 'Tableau';
    this.tableButton.setAttribute('aria-pressed', 'false');
    this.tableButton.title = 'Afficher les mêmes informations sous forme de tableau';
    this.tableButton.addEventListener('click', () => this.showTable(!this.tableShown));
    const close = document.createElement('button');
    close.type = 'button';
    close.textContent = 'Fermer';
    close.setAttribute('aria-label', 'Fermer la vue des namespaces');
    close.addEventListener('click', () => options.close());
    this.picker = document.createElement('label');
    this.picker.className = 'nsv-picker';
    this.picker.hidden = true;
    this.machineSelect = document.createElement('select');
    this.machineSelect.dataset.namespaceMachine = '';
    this.machineSelect.addEventListener('change', () => options.pick?.(this.machineSelect.value));
    this.picker.append('Machine ', this.machineSelect);
    head.append(title, this.picker, this.status, this.tableButton, close);

    this.changes = document.createElement('ul');
    this.changes.className = 'nsv-changes';
    this.changes.setAttribute('aria-live', 'polite');
    this.changes.setAttribute('aria-label', 'Derniers changements');
    this.changes.dataset.namespaceChanges = '';
    this.omitted = document.createElement('p');
    this.omitted.className = 'nsv-omitted';
    this.omitted.hidden = true;

    const body = document.createElement('div');
    body.className = 'nsv-body';
    this.picture = document.createElement('div');
    this.picture.className = 'nsv-picture';
    // The table below says the same, in a form a screen reader can walk through.
    this.picture.setAttribute('aria-hidden', 'true');
    this.table = document.createElement('div');
    this.table.className = 'nsv-table-wrap visually-hidden';
    body.append(this.picture, this.table);
    panel.append(head, this.changes, this.omitted, body);
    this.element = panel;
    this.setStatus('connecting');
  }

  /** Shows `machine` (a new machine after a reset: the old picture goes). */
  show(machine: NamespaceMachine): void {
    if (this.machine?.id === machine.id && this.machine.url === machine.url && this.socket !== undefined) return;
    this.socket?.close();
    this.machine = machine;
    this.bands = undefined;
    this.fresh = new Set();
    this.changes.replaceChildren();
    this.picture.replaceChildren();
    this.table.replaceChildren();
    this.socket = new NamespaceSocket(machine.url, {
      picture: (picture) => this.update(picture),
      state: (state, error) => this.setStatus(state, error === undefined ? undefined : inFrench(error).message),
    });
    this.socket.connect();
  }

  /** The lab's machines to pick from, `current` selected; undefined (no lab): no list. */
  setMachines(machines: readonly string[] | undefined, current: string | undefined): void {
    this.picker.hidden = machines === undefined || machines.length < 2;
    const names = machines ?? [];
    if ([...this.machineSelect.options].map((option) => option.value).join(' ') !== names.join(' ')) {
      this.machineSelect.replaceChildren(...names.map((name) => new Option(name, name)));
    }
    if (current !== undefined) this.machineSelect.value = current;
  }

  /** The panel was closed: no more snapshots are asked for this reader. */
  stop(): void {
    this.socket?.close();
    this.socket = undefined;
    this.machine = undefined;
  }

  private update(picture: MachinePicture): void {
    const bands = namespaceBands(picture);
    if (this.bands !== undefined) {
      const changes = namespaceChanges(this.bands, bands, picture);
      if (changes.length > 0) {
        this.fresh = new Set(changes.filter((change) => change.kind === 'created').map((change) => change.label));
        for (const change of changes) {
          const item = document.createElement('li');
          item.dataset.kind = change.kind;
          item.textContent = change.text;
          this.changes.prepend(item);
        }
        while (this.changes.children.length > CHANGES_KEPT) this.changes.lastElementChild?.remove();
      }
    }
    this.bands = bands;
    this.picture.replaceChildren(renderBands(bands, this.fresh));
    this.table.replaceChildren(renderTable(picture));
    const omitted = omittedText(picture);
    this.omitted.hidden = omitted === undefined;
    this.omitted.textContent = omitted ?? '';
    this.status.textContent = `${picture.total} processus · à jour à ${new Date(picture.at).toLocaleTimeString('fr-FR')}`;
    this.element.dataset.seq = String(picture.seq);
  }

  private setStatus(state: NamespaceSocketState, message?: string): void {
    this.element.dataset.state = state;
    if (state === 'live' && message === undefined) return; // update() writes the status
    const text: Record<NamespaceSocketState, string> = {
      connecting: 'Connexion…',
      live: message ?? '',
      reconnecting: 'Connexion perdue : nouvel essai…',
      stopped: message ? `Vue arrêtée : ${message}` : 'Vue arrêtée.',
    };
    this.status.textContent = text[state];
  }

  private showTable(on: boolean): void {
    this.tableShown = on;
    this.tableButton.setAttribute('aria-pressed', String(on));
    this.table.classList.toggle('visually-hidden', !on);
    this.picture.hidden = on;
  }
}
