// The panel's connection to WS api/sandboxes/:id/namespaces (protocol.ts):
// keeps a MachinePicture up to date from the server's snapshot and diff
// messages, reconnects with backoff when the connection drops, and stops for
// good when the server says the machine is gone or the panel may not open.
import { CloseCode, parseNamespaceMessage, type ErrorInfo } from '../../../contracts/protocol.ts';
import { Backoff } from '../backoff.ts';
import { PictureOutOfStepError, applyNamespaceMessage, type MachinePicture } from './machine-picture.ts';

export type NamespaceSocketState = 'connecting' | 'live' | 'reconnecting' | 'stopped';

export interface NamespaceSocketEvents {
  picture(picture: MachinePicture): void;
  state(state: NamespaceSocketState, error?: ErrorInfo): void;
}

/** Close codes after which trying again cannot help. */
const FINAL = new Set<number>([
  CloseCode.gone,
  CloseCode.forbidden,
  CloseCode.unauthorized,
  CloseCode.notFound,
  CloseCode.tooManyTerminals,
  CloseCode.badRequest,
]);

export class NamespaceSocket {
  private readonly url: string;
  private readonly events: NamespaceSocketEvents;
  private readonly backoff = new Backoff({ initialMs: 1000, maxMs: 15_000 });
  private ws: WebSocket | undefined;
  private picture: MachinePicture | undefined;
  private retry: ReturnType<typeof setTimeout> | undefined;
  private lastError: ErrorInfo | undefined;
  private closed = false;

  constructor(url: string, events: NamespaceSocketEvents) {
    this.url = url;
    this.events = events;
  }

  connect(): void {
    if (this.closed) return;
    clearTimeout(this.retry);
    this.picture = undefined;
    this.lastError = undefined;
    this.events.state('connecting');
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.addEventListener('message', (event) => {
      if (this.ws !== ws || typeof event.data !== 'string') return;
      const parsed = parseNamespaceMessage(event.data);
      if (!parsed.ok) {
        console.warn('[vue des namespaces]', parsed.error.message);
        return;
      }
      const message = parsed.value;
      if (message.type === 'error') {
        this.lastError = message;
        if (message.code === 'namespaces-failed') this.events.state('live', message);
        return;
      }
      try {
        this.picture = applyNamespaceMessage(this.picture, message);
      } catch (error) {
        // A lost message: start again from a whole snapshot.
        if (error instanceof PictureOutOfStepError) ws.close(1000);
        return;
      }
      this.backoff.reset();
      this.events.state('live');
      this.events.picture(this.picture);
    });
    ws.addEventListener('close', (event) => {
      if (this.ws !== ws) return;
      this.ws = undefined;
      if (this.closed) return;
      if (FINAL.has(event.code)) {
        this.events.state('stopped', this.lastError);
        return;
      }
      this.events.state('reconnecting', this.lastError);
      this.retry = setTimeout(() => this.connect(), this.backoff.next());
    });
  }

  /** Closes the panel's connection for good (the panel was closed, or shows another machine now). */
  close(): void {
    this.closed = true;
    clearTimeout(this.retry);
    const ws = this.ws;
    this.ws = undefined;
    ws?.close(1000);
  }
}
