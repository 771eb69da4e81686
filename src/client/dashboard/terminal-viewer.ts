// A student's terminal, watched read-only in a dialog: xterm with input
// disabled, fed by the viewer WebSocket (classroom/viewer-endpoint.ts). The
// server drops whatever a viewer sends; here nothing is even sent.
import { inFrench } from '../../../contracts/messages.fr.ts';
import { Terminal } from '@xterm/xterm';
import { parseServerMessage } from '../../../contracts/protocol.ts';
import { loadTerminalStyles } from '../terminal-styles.ts';

export class TerminalViewer {
  readonly #dialog: HTMLDialogElement;
  readonly #screen: HTMLElement;
  readonly #title: HTMLElement;
  readonly #status: HTMLElement;
  #terminal: Terminal | undefined;
  #socket: WebSocket | undefined;

  constructor(dialog: HTMLDialogElement) {
    this.#dialog = dialog;
    this.#screen = dialog.querySelector<HTMLElement>('[data-viewer-screen]')!;
    this.#title = dialog.querySelector<HTMLElement>('[data-viewer-title]')!;
    this.#status = dialog.querySelector<HTMLElement>('[data-viewer-status]')!;
    dialog.querySelector('[data-viewer-close]')?.addEventListener('click', () => this.close());
    dialog.addEventListener('close', () => this.#disconnect());
  }

  async open(title: string, url: string): Promise<void> {
    this.#disconnect();
    await loadTerminalStyles();
    this.#title.textContent = title;
    this.#status.textContent = 'Connexion…';
    this.#screen.replaceChildren();
    const terminal = new Terminal({
      disableStdin: true,
      cursorBlink: false,
      fontSize: 13,
      scrollback: 2000,
      theme: { background: '#0d1117', foreground: '#e6edf3' },
    });
    this.#terminal = terminal;
    if (!this.#dialog.open) this.#dialog.showModal();
    terminal.open(this.#screen);
    const socket = new WebSocket(url);
    socket.binaryType = 'arraybuffer';
    this.#socket = socket;
    socket.onmessage = (event: MessageEvent) => {
      if (typeof event.data !== 'string') {
        terminal.write(new Uint8Array(event.data as ArrayBuffer));
        return;
      }
      const parsed = parseServerMessage(event.data);
      if (!parsed.ok) return;
      const message = parsed.value;
      if (message.type === 'ready') {
        terminal.resize(message.cols, message.rows);
        this.#status.textContent = "En direct, lecture seule : ce que vous tapez ici n'est pas envoyé.";
      } else if (message.type === 'exit') {
        this.#status.textContent = "Le shell de ce terminal s'est terminé.";
      } else {
        const words = inFrench(message);
        this.#status.textContent = `${words.message} ${words.hint}`;
      }
    };
    socket.onclose = (event) => {
      if (this.#socket !== socket) return;
      if (event.code !== 1000 && !this.#status.textContent?.includes('terminé')) {
        this.#status.textContent = `${this.#status.textContent ?? ''} (connexion fermée)`.trim();
      }
    };
  }

  close(): void {
    if (this.#dialog.open) this.#dialog.close();
    this.#disconnect();
  }

  #disconnect(): void {
    const socket = this.#socket;
    this.#socket = undefined;
    socket?.close(1000);
    this.#terminal?.dispose();
    this.#terminal = undefined;
  }
}
