// The terminal's stylesheets (xterm's own and terminal.css), linked into the
// page when the terminal app is made (the page idle, or a first approach of
// « Exécuter »): they style only the terminal area, hidden until used. Imported as URLs rather than as
// CSS modules: Astro hoists CSS modules of page scripts into every page's
// <head>, even when the script imports them lazily.
import xtermCss from '@xterm/xterm/css/xterm.css?url';
import terminalCss from '../styles/terminal.css?url';

let loaded: Promise<void> | undefined;

function link(href: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const element = document.createElement('link');
    element.rel = 'stylesheet';
    element.href = href;
    element.addEventListener('load', () => resolve(), { once: true });
    element.addEventListener('error', () => reject(new Error(`la feuille de style ${href} n'a pas pu être chargée`)), { once: true });
    document.head.append(element);
  });
}

/** Resolves once both stylesheets apply (xterm measures its cells with them). */
export function loadTerminalStyles(): Promise<void> {
  loaded ??= Promise.all([link(xtermCss), link(terminalCss)]).then(() => undefined);
  return loaded;
}
