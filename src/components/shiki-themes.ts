// The two Shiki themes of the site, shared by Markdown code fences
// (astro.config.mjs) and the Transcript component so both look the same.
// Shiki emits both colours as CSS variables; global.css picks one with light-dark().
export const SHIKI_THEMES = { light: 'github-light', dark: 'github-dark' } as const;
