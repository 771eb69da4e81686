// Shared by the theme toggle island; the pre-paint copy of this logic lives
// inline in BaseLayout's <head> (it must run before any bundled module).
export type Theme = 'light' | 'dark';

export const THEME_STORAGE_KEY = 'course-theme';

export function currentTheme(): Theme {
  const pinned = document.documentElement.dataset.theme;
  if (pinned === 'light' || pinned === 'dark') return pinned;
  return matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

export function applyTheme(theme: Theme): void {
  document.documentElement.dataset.theme = theme;
}
