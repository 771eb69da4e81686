// The search island: loads Pagefind on first use, shows the best matches
// under the field, closes on Escape or a click elsewhere.

interface PagefindResultData {
  url: string;
  excerpt: string;
  meta: { title?: string };
}
interface PagefindApi {
  options(options: { baseUrl?: string; excerptLength?: number }): Promise<void>;
  init(): Promise<void>;
  debouncedSearch(term: string, options?: object, debounceMs?: number): Promise<{ results: Array<{ data(): Promise<PagefindResultData> }> } | null>;
}

const MAX_RESULTS = 8;

export class CourseSearch {
  readonly #root: HTMLElement;
  readonly #input: HTMLInputElement;
  readonly #box: HTMLElement;
  readonly #status: HTMLElement;
  readonly #list: HTMLElement;
  readonly #base: string;
  #pagefind: Promise<PagefindApi> | undefined;

  constructor(root: HTMLElement) {
    this.#root = root;
    this.#input = root.querySelector('input')!;
    this.#box = root.querySelector('[data-search-box]')!;
    this.#status = root.querySelector('[data-search-status]')!;
    this.#list = root.querySelector('[data-search-results]')!;
    this.#base = root.dataset.base ?? '/';
  }

  attach(): void {
    this.#root.querySelector('form')!.addEventListener('submit', (event) => event.preventDefault());
    this.#input.addEventListener('focus', () => void this.#load().catch(() => undefined), { once: true });
    this.#input.addEventListener('input', () => void this.#search(this.#input.value));
    this.#root.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') {
        this.#close();
        this.#input.focus();
      }
    });
    document.addEventListener('click', (event) => {
      if (!this.#root.contains(event.target as Node)) this.#close();
    });
  }

  #load(): Promise<PagefindApi> {
    this.#pagefind ??= (async () => {
      const url = `${this.#base}pagefind/pagefind.js`;
      const pagefind = (await import(/* @vite-ignore */ url)) as PagefindApi;
      // Pagefind indexed dist/ from its root; the site may be served under a base path.
      await pagefind.options({ baseUrl: this.#base, excerptLength: 24 });
      await pagefind.init();
      return pagefind;
    })();
    return this.#pagefind;
  }

  async #search(term: string): Promise<void> {
    if (term.trim() === '') {
      this.#close();
      return;
    }
    this.#box.hidden = false;
    let pagefind: PagefindApi;
    try {
      pagefind = await this.#load();
    } catch {
      this.#pagefind = undefined;
      this.#show([], "La recherche n'est pas disponible : l'index n'a pas été construit (npm run build).");
      return;
    }
    const found = await pagefind.debouncedSearch(term, {}, 150);
    if (found === null) return; // a newer keystroke superseded this search
    const data = await Promise.all(found.results.slice(0, MAX_RESULTS).map((result) => result.data()));
    const total = found.results.length;
    this.#show(data, total === 0 ? `Aucun résultat pour « ${term} ».` : `${total} résultat${total > 1 ? 's' : ''} pour « ${term} ».`);
  }

  #show(results: PagefindResultData[], status: string): void {
    this.#status.textContent = status;
    this.#list.replaceChildren(
      ...results.map((result) => {
        const item = document.createElement('li');
        const link = document.createElement('a');
        link.href = result.url;
        link.textContent = result.meta.title ?? result.url;
        const excerpt = document.createElement('p');
        // Pagefind escapes the page text itself and only adds <mark> around the matches.
        excerpt.innerHTML = result.excerpt;
        item.append(link, excerpt);
        return item;
      }),
    );
  }

  #close(): void {
    this.#box.hidden = true;
  }
}
