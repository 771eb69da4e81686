// Image names as a reader types them (`busybox`, `debian:bookworm-slim`,
// `alice/app:1`) and as the store keeps them: Docker Hub's layout, where an
// official image lives under `library/` — the store is each machine's Docker
// Hub mirror, so it is asked for exactly those paths.
const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const NAME = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

export interface ImageName {
  /** The repository in the store, e.g. "library/busybox". */
  repository: string;
  tag: string;
}

export class ImageNameError extends Error {
  override name = 'ImageNameError';
}

export function parseImageName(text: string): ImageName {
  // docker save records "docker.io/library/x:tag" or "x:tag"; both name the same image.
  const trimmed = text.trim().replace(/^(?:docker\.io|index\.docker\.io)\//, '');
  const colon = trimmed.lastIndexOf(':');
  const hasTag = colon > trimmed.lastIndexOf('/');
  const name = hasTag ? trimmed.slice(0, colon) : trimmed;
  const tag = hasTag ? trimmed.slice(colon + 1) : 'latest';
  if (!NAME.test(name) || name.length > 200) {
    throw new ImageNameError(`"${text}" is not an image name: lowercase letters, digits, separators . _ -, and / between parts (e.g. busybox, alice/app)`);
  }
  if (!TAG.test(tag)) throw new ImageNameError(`"${tag}" (in "${text}") is not a tag: letters, digits, _ . - (at most 128), e.g. latest, 1.0`);
  if (name.includes('.') && name.split('/').length > 1 && name.split('/')[0]!.includes('.')) {
    throw new ImageNameError(`"${text}" names another registry (${name.split('/')[0]}); the class store mirrors Docker Hub names only`);
  }
  return { repository: name.includes('/') ? name : `library/${name}`, tag };
}

/** How `docker pull` spells it. */
export function displayName({ repository, tag }: ImageName): string {
  return `${repository.replace(/^library\//, '')}:${tag}`;
}
