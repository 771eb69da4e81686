/**
 * Links and images of a Markdown page, as Hugo and the Learn theme publish them:
 *
 * - a root-relative URL ("/images/schema.png", "/docker_linux/") is a path of
 *   the site: it gets the base path, as Hugo's relURL / canonifyURLs give
 *   (static/ is copied to the site root, so /images/x.png is static/images/x.png);
 * - Learn's image query parameters are honoured and taken off the URL:
 *   `?width=40pc&height=10em&classes=border,shadow&featherlight=false`
 *   (featherlight, Learn's lightbox, becomes a plain link to the full image;
 *   `featherlight=false` or `lightbox=false` leaves the image alone);
 * - with Relearn's `externalLinkTarget = "_blank"`, links to other sites open
 *   in a new tab (what courses otherwise do with a render-link hook).
 *
 * CSS keeps every image within the column (global.css: max-width: 100%).
 */
import type { Html, Image, Link, Root, RootContent } from 'mdast';

export interface LinksImagesOptions {
  /** "/" or "/tp-iut-docker/". */
  basePath: string;
  /** Relearn's externalLinkTarget, e.g. "_blank". */
  externalLinkTarget?: string | undefined;
}

/** Puts a root-relative URL under the base path; leaves every other URL alone. */
export function withBase(url: string, basePath: string): string {
  if (!url.startsWith('/') || url.startsWith('//') || basePath === '/') return url;
  if (url === basePath.slice(0, -1) || url.startsWith(basePath)) return url;
  return basePath + url.slice(1);
}

const isExternal = (url: string) => /^(https?:)?\/\//i.test(url);

/** Learn's image parameters, read off an image URL. */
export interface ImageParams {
  src: string;
  width: string | undefined;
  height: string | undefined;
  classes: string[];
  lightbox: boolean;
}

/** A CSS length from a Learn parameter ("40pc", "300px", "50%"; a bare number is pixels). */
function cssLength(v: string | null): string | undefined {
  if (v === null || v.trim() === '') return undefined;
  const t = v.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return `${t}px`;
  return /^\d+(\.\d+)?(px|pc|pt|em|rem|%|vw|vh|ch|ex|cm|mm|in)$/.test(t) || t === 'auto' ? t : undefined;
}

export function imageParams(url: string): ImageParams {
  const q = url.indexOf('?');
  if (q === -1) return { src: url, width: undefined, height: undefined, classes: [], lightbox: true };
  const hash = url.indexOf('#', q);
  const query = new URLSearchParams(url.slice(q + 1, hash === -1 ? undefined : hash));
  const known = ['width', 'height', 'classes', 'featherlight', 'lightbox'];
  const rest = new URLSearchParams([...query].filter(([k]) => !known.includes(k.toLowerCase())));
  const tail = rest.toString();
  const off = (k: string) => /^(false|0|no|off)$/i.test(query.get(k) ?? '');
  return {
    src: url.slice(0, q) + (tail ? `?${tail}` : '') + (hash === -1 ? '' : url.slice(hash)),
    width: cssLength(query.get('width')),
    height: cssLength(query.get('height')),
    classes: (query.get('classes') ?? '').split(/[,\s]+/).filter((c) => /^[\w-]+$/.test(c)),
    lightbox: !(off('featherlight') || off('lightbox')),
  };
}

type Parent = { children: RootContent[] };

function imageNode(node: Image, basePath: string): RootContent {
  const p = imageParams(node.url);
  const style = [p.width && `width:${p.width}`, p.height && `height:${p.height}`].filter(Boolean).join(';');
  const image: Image = {
    ...node,
    url: withBase(p.src, basePath),
    data: {
      ...node.data,
      hProperties: {
        ...((node.data?.hProperties as Record<string, unknown> | undefined) ?? {}),
        ...(style ? { style } : {}),
        className: ['course-image', ...p.classes],
        loading: 'lazy',
      },
    },
  };
  if (!p.lightbox) return image;
  // Learn opens a resized image in its lightbox on click: a link to the full image does the same without script.
  return { type: 'link', url: image.url, data: { hProperties: { className: ['image-lightbox'] } }, children: [image] } as Link;
}

const HTML_URL = /\b(src|href|poster)=(["'])(\/(?!\/)[^"']*)\2/g;

/** Rewrites links and images of the tree in place. */
export function rewriteLinksAndImages(tree: Root, options: LinksImagesOptions): void {
  const { basePath, externalLinkTarget } = options;
  const visit = (parent: Parent, inLink: boolean) => {
    parent.children = parent.children.map((node) => {
      if (node.type === 'image') return inLink ? { ...node, ...imageInLink(node, basePath) } : imageNode(node, basePath);
      if (node.type === 'link') {
        node.url = withBase(node.url, basePath);
        if (externalLinkTarget && isExternal(node.url)) {
          node.data = {
            ...node.data,
            hProperties: { ...((node.data?.hProperties as object | undefined) ?? {}), target: externalLinkTarget, rel: ['noopener'] },
          };
        }
      }
      if (node.type === 'definition') node.url = withBase(node.url, basePath);
      if (node.type === 'html')
        (node as Html).value = node.value.replace(HTML_URL, (_m, attr: string, q: string, url: string) => `${attr}=${q}${withBase(url, basePath)}${q}`);
      if ('children' in node && Array.isArray(node.children)) visit(node as Parent, inLink || node.type === 'link');
      return node;
    });
  };
  visit(tree as Parent, false);
}

/** An image already inside a link keeps its parameters but gets no lightbox link of its own. */
function imageInLink(node: Image, basePath: string): Image {
  const out = imageNode(node, basePath);
  return out.type === 'link' ? ((out as Link).children[0] as Image) : (out as Image);
}
