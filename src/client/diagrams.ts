// Draws the page's Mermaid diagrams. This small module ships on every page;
// Mermaid itself (≈ 3 MB) is fetched only by a page that has a diagram, from
// the copy the build publishes beside the site (data-mermaid-src).
interface MermaidGlobal {
  initialize(config: Record<string, unknown>): void;
  run(options: { nodes: HTMLElement[] }): Promise<void>;
}

const diagrams = [...document.querySelectorAll<HTMLElement>('pre.mermaid[data-mermaid-src]')];
const source = diagrams[0]?.dataset.mermaidSrc;
if (source !== undefined) {
  const dark =
    document.documentElement.dataset.theme === 'dark' ||
    (document.documentElement.dataset.theme !== 'light' && matchMedia('(prefers-color-scheme: dark)').matches);
  const script = document.createElement('script');
  script.src = source;
  script.async = true;
  script.addEventListener('load', async () => {
    const mermaid = (window as unknown as { mermaid?: MermaidGlobal }).mermaid;
    try {
      if (mermaid === undefined) throw new Error('Mermaid ne s’est pas chargé');
      mermaid.initialize({ startOnLoad: false, theme: dark ? 'dark' : 'default', securityLevel: 'strict' });
      await mermaid.run({ nodes: diagrams });
    } catch (error) {
      for (const d of diagrams) {
        d.dataset.diagramError = 'true';
        d.title = `Diagramme non dessiné : ${(error as Error).message}`;
      }
    }
  });
  script.addEventListener('error', () => {
    for (const d of diagrams) d.title = 'Diagramme non dessiné : le script Mermaid n’a pas pu être chargé.';
  });
  document.head.append(script);
}
