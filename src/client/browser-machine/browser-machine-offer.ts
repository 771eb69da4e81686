// Whether, when and in what words the page offers a machine in the reader's
// browser: only when no server machine can be had (no server answers, or the
// site was built for static hosting), only if this site ships one, and only
// on the reader's click (it is a download of several megabytes). Once
// accepted in a tab, later Exécuter clicks (and reloads) use it directly.
import { START_COMMAND } from '../sandbox-errors.ts';
import { BrowserMachine, browserMachineBase, downloadBytes, fetchManifest, megabytes } from './browser-machine.ts';
import type { BrowserMachineManifest } from './guest-layout.ts';
import { ACCEPTED_KEY, NoMachineChosenError, acceptedInThisTab, storage, type MachineMode } from './machine-choice.ts';

export { NoMachineChosenError, type MachineMode };

export interface OfferText {
  message: string;
  hint: string;
  label: string;
}

export class BrowserMachineOffer {
  private readonly mode: MachineMode;
  private readonly base: string;
  private manifest: Promise<BrowserMachineManifest | undefined> | undefined;
  private machine: BrowserMachine | undefined;
  private loaded: BrowserMachineManifest | undefined;

  constructor(mode: MachineMode, basePath: string, pageUrl: string) {
    this.mode = mode;
    this.base = browserMachineBase(basePath, pageUrl);
  }

  /** The words of the offer, or undefined when there is none to make. */
  async describe(serverMissing: boolean): Promise<OfferText | undefined> {
    const manifest = await this.load();
    if (manifest === undefined) return undefined;
    const size = megabytes(downloadBytes(manifest));
    const what = `Elle est téléchargée au premier démarrage (${size}), tourne dans cet onglet et s'arrête quand vous le fermez ; rien ne sort de votre ordinateur. Elle n'a pas Docker : les exercices sur dockerd le disent.`;
    return {
      message: serverMissing
        ? 'Aucun serveur de machines ne répond : cette page peut démarrer une machine Linux dans votre navigateur.'
        : "Les commandes de cette page s'exécutent dans une machine Linux qui tourne dans votre navigateur.",
      hint: serverMissing ? `${what} Pour une machine du serveur du cours, démarrez-le avec ${START_COMMAND}, puis rechargez la page.` : what,
      label: `Démarrer une machine dans votre navigateur (${size})`,
    };
  }

  /** The reader clicked the offer: the machine to use (started by its first ensure()). */
  accept(): BrowserMachine {
    if (this.loaded === undefined) throw new Error('La machine du navigateur a été demandée avant que sa description soit lue : rechargez la page.');
    try {
      storage()?.setItem(ACCEPTED_KEY, 'accepted');
    } catch {
      // Not remembered: the next reload asks again.
    }
    this.machine ??= new BrowserMachine(this.loaded, this.base);
    return this.machine;
  }

  /** The machine, when the reader already accepted one in this tab (and this site still ships it). */
  async acceptedBefore(): Promise<BrowserMachine | undefined> {
    if (this.machine !== undefined) return this.machine;
    if (!acceptedInThisTab(this.mode)) return undefined;
    return (await this.load()) === undefined ? undefined : this.accept();
  }

  private async load(): Promise<BrowserMachineManifest | undefined> {
    if (this.mode === 'server') return undefined;
    this.manifest ??= fetchManifest(this.base).then((manifest) => {
      this.loaded = manifest;
      return manifest;
    });
    return this.manifest;
  }
}
