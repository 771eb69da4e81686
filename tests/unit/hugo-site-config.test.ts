import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ContentError } from '../../src/lib/hugo/errors.ts';
import { baseURLPath, findRenderHooks, readHugoSiteConfig, siteConfigSourcesDigest } from '../../src/lib/hugo/site-config-file.ts';

let dirs: string[] = [];
function site(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'hugo-config-'));
  dirs.push(dir);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}
afterEach(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
});

describe('readHugoSiteConfig', () => {
  it('reads what a Learn course sets in config.toml, keys in any case', () => {
    const config = readHugoSiteConfig(
      site({
        'config.toml': `
baseURL = "https://cours.example/tp-linux/"
Title = "Linux pour les conteneurs"
languageCode = "fr-FR"
defaultContentLanguage = "fr"
theme = "hugo-theme-learn"
[params]
  author = "Camille Martin"
  editURL = "https://forge.example/cours/edit/main/content/"
  showVisitedLinks = true
  disableNextPrev = "true"
  themeVariant = "red"
  unknownKey = 3
[[menu.shortcuts]]
name = "<i class='fas fa-book'></i> Annexes"
url = "/annexes/"
weight = 20
[[menu.shortcuts]]
name = "Dépôt"
url = "https://forge.example/cours"
weight = 10
`,
      }),
    );
    expect(config.title).toBe('Linux pour les conteneurs');
    expect(config.baseURLPath).toBe('/tp-linux/');
    expect(config.languageCode).toBe('fr-FR');
    expect(config.params.author).toBe('Camille Martin');
    expect(config.params.showVisitedLinks).toBe(true);
    expect(config.params.disableNextPrev).toBe(true);
    expect(config.params.themeVariant).toBe('light');
    expect(config.shortcuts.map((s) => s.name)).toEqual(['Dépôt', "<i class='fas fa-book'></i> Annexes"]);
  });

  it('prefers hugo.toml and merges config/_default/params.toml and menus.yaml', () => {
    const config = readHugoSiteConfig(
      site({
        'config/_default/hugo.toml': 'title = "Par défaut"\nbaseURL = "/sous/"',
        'config/_default/params.toml': 'disableSearch = true',
        'config/_default/menus.yaml': 'shortcuts:\n  - name: Aide\n    url: /aide/\n',
      }),
    );
    expect(config.title).toBe('Par défaut');
    expect(config.baseURLPath).toBe('/sous/');
    expect(config.params.disableSearch).toBe(true);
    expect(config.shortcuts).toEqual([{ name: 'Aide', url: '/aide/', pre: '', post: '', weight: 0 }]);
  });

  it('has defaults for a site without configuration', () => {
    const config = readHugoSiteConfig(site({}));
    expect(config.file).toBe('');
    expect(config.baseURLPath).toBe('/');
    expect(config.contentDir).toBe('content');
    expect(config.staticDir).toBe('static');
  });

  it('fails on a known key with a bad value, naming the file, the key and the fix', () => {
    const dir = site({ 'config.toml': '[params]\nordersectionsby = "date"\n' });
    expect(() => readHugoSiteConfig(dir)).toThrowError(ContentError);
    expect(() => readHugoSiteConfig(dir)).toThrowErrorMatchingInlineSnapshot(
      `[ContentError: config.toml: the key params.ordersectionsby is invalid (Invalid option: expected one of "weight"|"title"), got "date". Fix: write it as [params] ordersectionsby = "weight"   (or "title"), or remove it]`,
    );
  });

  it('fails on a file Hugo cannot read, with its line', () => {
    const dir = site({ 'hugo.yaml': 'title: [unclosed\n' });
    expect(() => readHugoSiteConfig(dir)).toThrowError(/hugo\.yaml.*cannot be read/);
  });

  it('finds render hooks to report them', () => {
    const dir = site({ 'layouts/_default/_markup/render-link.html': '{{ .Text }}', 'config.toml': '' });
    expect(findRenderHooks(dir)).toEqual(['layouts/_default/_markup/render-link.html']);
  });

  it('takes the base path from baseURL', () => {
    expect(baseURLPath('https://a.example')).toBe('/');
    expect(baseURLPath('https://a.example/x/y')).toBe('/x/y/');
    expect(baseURLPath(undefined)).toBe('/');
  });
});

describe('siteConfigSourcesDigest', () => {
  it('is the digest the configuration was read from, and changes with what it would be read from now', () => {
    const dir = site({ 'config.toml': 'title = "Un"\n', 'config/_default/params.toml': 'author = "A"\n' });
    const read = readHugoSiteConfig(dir).sourcesDigest;
    expect(siteConfigSourcesDigest(dir)).toBe(read);
    writeFileSync(join(dir, 'config.toml'), '');
    expect(siteConfigSourcesDigest(dir)).not.toBe(read);
    writeFileSync(join(dir, 'config.toml'), 'title = "Un"\n');
    expect(siteConfigSourcesDigest(dir)).toBe(read);
    writeFileSync(join(dir, 'config/_default/params.toml'), 'author = "B"\n');
    expect(siteConfigSourcesDigest(dir)).not.toBe(read);
    writeFileSync(join(dir, 'config/_default/params.toml'), 'author = "A"\n');
    // A hugo.toml added wins over config.toml: another configuration.
    writeFileSync(join(dir, 'hugo.toml'), 'title = "Un"\n');
    expect(siteConfigSourcesDigest(dir)).not.toBe(read);
  });
});
