import rehypeStringify from 'rehype-stringify';
import remarkParse from 'remark-parse';
import remarkRehype from 'remark-rehype';
import type { Root } from 'mdast';
import { unified } from 'unified';
import { describe, expect, it } from 'vitest';
import { imageParams, rewriteLinksAndImages, withBase } from '../../src/lib/hugo/links-images.ts';

function render(markdown: string, basePath = '/tp/', externalLinkTarget?: string): string {
  return String(
    unified()
      .use(remarkParse)
      .use(() => (tree: Root) => rewriteLinksAndImages(tree, { basePath, externalLinkTarget }))
      .use(remarkRehype, { allowDangerousHtml: true })
      .use(rehypeStringify, { allowDangerousHtml: true })
      .processSync(markdown),
  );
}

describe('links and images of a Hugo page', () => {
  it('puts root-relative URLs under the base path, once', () => {
    expect(withBase('/images/a.png', '/tp/')).toBe('/tp/images/a.png');
    expect(withBase('/tp/images/a.png', '/tp/')).toBe('/tp/images/a.png');
    expect(withBase('//cdn.example/a.png', '/tp/')).toBe('//cdn.example/a.png');
    expect(withBase('images/a.png', '/tp/')).toBe('images/a.png');
    expect(withBase('/a/', '/')).toBe('/a/');
  });

  it('reads Learn image parameters and leaves others on the URL', () => {
    expect(imageParams('/i/a.png?width=40pc&classes=border,shadow&featherlight=false&v=2')).toEqual({
      src: '/i/a.png?v=2',
      width: '40pc',
      height: undefined,
      classes: ['border', 'shadow'],
      lightbox: false,
    });
    expect(imageParams('/i/a.png?width=300').width).toBe('300px');
    expect(imageParams('/i/a.png?width=calc(1px)').width).toBeUndefined();
  });

  it('renders an image with its size and classes, in a link to itself (Learn lightbox)', () => {
    expect(render('![schéma](/images/schema.png?width=40pc&classes=shadow)')).toBe(
      '<p><a href="/tp/images/schema.png" class="image-lightbox"><img src="/tp/images/schema.png" alt="schéma" style="width:40pc" class="course-image shadow" loading="lazy"></a></p>',
    );
    expect(render('![x](/i.png?featherlight=false)')).toBe('<p><img src="/tp/i.png" alt="x" class="course-image" loading="lazy"></p>');
  });

  it('rewrites links, references and raw HTML, and opens external links in a new tab when asked', () => {
    expect(render('[a](/docker/) [b][r] <img src="/x.png">\n\n[r]: /ref/', '/tp/', '_blank')).toBe(
      '<p><a href="/tp/docker/">a</a> <a href="/tp/ref/">b</a> <img src="/tp/x.png"></p>',
    );
    expect(render('[ext](https://ailleurs.example/)', '/tp/', '_blank')).toBe(
      '<p><a href="https://ailleurs.example/" target="_blank" rel="noopener">ext</a></p>',
    );
  });
});
