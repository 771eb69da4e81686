// What a machine may ask of the class registry, decided from the request
// line alone and from which machine asks (the gate knows it from the socket
// the connection came in on: one socket per machine, machine-gates.ts).
//
// Three stores stand behind the gate:
//   shared   the class's images (defaults + `npm run images -- import`), read-only;
//   reader   what readers pushed, each under their own namespace (lecteur-<hash>/…),
//            read and written only by the machines of that reader;
//   (cache)  on a host with internet, a pull-through cache asked when the shared
//            store lacks an image (machine-gates.ts falls back to it on 404).
// Everything else — the catalogue, other readers' namespaces, deletes, writes
// outside one's namespace, debug endpoints — is refused, in French.
import { createHash } from 'node:crypto';

// Repository names and references as distribution's own grammar defines them (reference/regexp.go).
const NAME_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const NAME = `${NAME_COMPONENT}(?:/${NAME_COMPONENT})*`;
const TAG = '[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}';
const DIGEST = 'sha256:[a-f0-9]{64}';
const UPLOAD_ID = '[A-Za-z0-9-]{1,64}';

const MANIFEST = new RegExp(`^/v2/(${NAME})/manifests/(?:${TAG}|${DIGEST})$`);
const BLOB = new RegExp(`^/v2/(${NAME})/blobs/${DIGEST}$`);
const UPLOAD_START = new RegExp(`^/v2/(${NAME})/blobs/uploads/$`);
const UPLOAD = new RegExp(`^/v2/(${NAME})/blobs/uploads/(${UPLOAD_ID})$`);
const TAG_LIST = new RegExp(`^/v2/(${NAME})/tags/list$`);

/** A reader's namespace in the class registry: `lecteur-` and 10 hex digits of a hash of the reader's id. */
export const READER_NAMESPACE = /^lecteur-[0-9a-f]{10}$/;

/**
 * The namespace of a reader (a lone machine, or all the machines of one lab):
 * derived from the id the server gave it, so the same after a server restart,
 * and telling nothing about the id itself. 40 bits: two live readers sharing
 * one is a one-in-ten-million event for a class of a few hundred (and the
 * gate refuses to open a second reader on a namespace in use: machine-gates.ts).
 */
export function readerNamespace(readerId: string): string {
  return `lecteur-${createHash('sha256').update(readerId).digest('hex').slice(0, 10)}`;
}

/** True when `repository` (e.g. "alice/app") would land in a reader's namespace. */
export function isReaderRepository(repository: string): boolean {
  return READER_NAMESPACE.test(repository.split('/')[0] ?? '');
}

export type Route =
  /** A read of the class's images (then, if configured, of the pull-through cache). */
  | { to: 'shared' }
  /** A request inside the asking machine's own namespace. `write` requests count against its quota. */
  | { to: 'reader'; repository: string; write: boolean; upload?: string | undefined; stripMount?: boolean }
  | { to: 'refuse'; message: string };

/** Where a request from a machine whose namespace is `own` goes. */
export function routeRequest(method: string | undefined, url: string | undefined, own: string): Route {
  if (!url || url.length > 1024) return refuse(MESSAGES.unknown(own));
  const [path = '', query = ''] = url.split('?', 2);
  if (path === '/v2/' && (method === 'GET' || method === 'HEAD')) return { to: 'shared' };
  const repository = [MANIFEST, BLOB, UPLOAD_START, UPLOAD, TAG_LIST].map((pattern) => pattern.exec(path)?.[1]).find(Boolean);
  if (!repository || repository.length > 255) return refuse(MESSAGES.unknown(own));
  const namespace = repository.split('/')[0]!;
  if (namespace === own) return readerRoute(method, path, query, repository, own);
  if (READER_NAMESPACE.test(namespace)) return refuse(MESSAGES.othersNamespace(own));
  const read = method === 'GET' || method === 'HEAD';
  if (read && (MANIFEST.test(path) || BLOB.test(path))) return { to: 'shared' };
  if (read && TAG_LIST.test(path)) return refuse(MESSAGES.noListing(own));
  return refuse(MESSAGES.readOnly(own));
}

function readerRoute(method: string | undefined, path: string, query: string, repository: string, own: string): Route {
  const read = method === 'GET' || method === 'HEAD';
  if (read && (MANIFEST.test(path) || BLOB.test(path) || TAG_LIST.test(path))) return { to: 'reader', repository, write: false };
  if (method === 'PUT' && MANIFEST.test(path)) return { to: 'reader', repository, write: true };
  if (method === 'POST' && UPLOAD_START.test(path)) {
    // A cross-repository mount copies a blob without sending it: only from the reader's own namespace.
    const from = new URLSearchParams(query).get('from');
    return { to: 'reader', repository, write: true, stripMount: from !== null && from.split('/')[0] !== own };
  }
  const upload = UPLOAD.exec(path)?.[2];
  if (upload && (method === 'PATCH' || method === 'PUT')) return { to: 'reader', repository, write: true, upload };
  // Status of an upload, and docker's cancel of a failed one.
  if (upload && (read || method === 'DELETE')) return { to: 'reader', repository, write: false, upload };
  return refuse(MESSAGES.noDelete(own));
}

function refuse(message: string): Route {
  return { to: 'refuse', message };
}

/** What readers read in `docker push`/`docker pull` output: what happened, and what to do. */
export const MESSAGES = {
  readOnly: (own: string) =>
    `les images de la classe sont en lecture seule : poussez vos images dans votre espace, localhost:5000/${own}/… (par exemple docker tag mon-app localhost:5000/${own}/mon-app, puis docker push localhost:5000/${own}/mon-app ; la variable $DEPOT le contient)`,
  othersNamespace: (own: string) =>
    `cet espace du dépôt de la classe est celui d'un autre lecteur : vous n'y lisez ni n'y écrivez rien ; le vôtre est localhost:5000/${own}/… (la variable $DEPOT le contient)`,
  noListing: (own: string) =>
    `le dépôt de la classe ne donne pas la liste de ses images : docker pull NOM suffit ; la liste de vos propres images est à localhost:5000/v2/${own}/NOM/tags/list`,
  noDelete: (own: string) =>
    `le dépôt de la classe ne supprime pas d'image : vos images partent avec votre machine ; pour en remplacer une, poussez-la de nouveau sous le même nom dans localhost:5000/${own}/…`,
  unknown: (own: string) =>
    `le dépôt de la classe ne répond qu'à docker pull et docker push (dans votre espace, localhost:5000/${own}/…) : cette requête n'en fait pas partie`,
  quota: (own: string, quotaBytes: number) =>
    `votre espace du dépôt de la classe est plein (${formatMiB(quotaBytes)} au plus pour localhost:5000/${own}/…) : l'image n'a pas été envoyée. Poussez une image plus petite (une base busybox plutôt que debian), ou gardez-la dans votre machine`,
  namespaceInUse: () => `votre espace du dépôt de la classe est déjà pris par une autre machine : recréez votre machine pour en avoir un autre`,
} as const;

export function formatMiB(bytes: number): string {
  return `${Math.round(bytes / 1024 ** 2)} Mio`;
}
