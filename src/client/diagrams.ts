// Draws the page's Mermaid diagrams. This tiny module ships on every page; the
// Mermaid library itself (large) is fetched only when the page has a diagram.
const diagrams = document.querySelectorAll<HTMLElement>('pre.mermaid');
if (diagrams.length > 0) {
  const dark = document.documentElement.dataset.theme === 'dark' || (document.documentElement.dataset.theme !== 'light' && matchMedia('(prefers-color-scheme: dark)').matches);
  import('mermaid')
    .then(async ({ default: mermaid }) => {
      mermaid.initialize({ startOnLoad: false, theme: dark ? 'dark' : 'default', securityLevel: 'strict' });
      await mermaid.run({ nodes: [...diagrams] });
    })
    .catch((error: unknown) => {
      for (const d of diagrams) {
        d.dataset.diagramError = 'true';
        d.title = `Diagramme non dessiné : ${(error as Error).message}`;
      }
    });
}
