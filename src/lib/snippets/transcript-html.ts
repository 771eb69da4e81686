// The HTML of a runnable snippet, written once for the <Transcript> component
// (MDX) and for fenced shell blocks of Markdown pages, so both are the same
// markup: a <figure data-transcript> carrying its commands and terminal (the
// snippet controls never re-parse the text), the highlighted commands behind
// prompts that cannot be selected, the outputs, the remarks, and under it the
// « Exécuter » / « Copier » controls (run-controls.ts makes them work).
//
// A copy-only block is the same figure without « Exécuter »: the page's copy
// button (copy-client.ts) copies its commands, without prompts.
import type { Transcript } from './transcript.ts';
import { highlightCommandsSync } from './highlight-commands.ts';

export interface SnippetMarkupOptions {
  transcript: Transcript;
  /** "1", "2"… */
  terminal: string;
  /** The machine of the page's lab the block runs on (run-controls.ts routes it there; ignored on a page without a lab). */
  machine?: string | undefined;
  /** Caption above the block; default "Terminal N" for terminals other than 1. */
  title?: string | undefined;
  /** Where the sandbox server is (RunControls' data-sandbox-url). */
  sandboxUrl: string;
  /** False: shown and copied, not run (why goes to data-copy-only, for check:content and tests). */
  runnable: boolean;
  copyOnlyReason?: string | undefined;
}

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** The « Exécuter » and « Copier » buttons and the status line (same markup as RunControls.astro). */
export function runControlsHtml(terminal: string, sandboxUrl: string): string {
  return (
    `<div class="run-controls" data-run-controls data-terminal="${escapeHtml(terminal)}" data-sandbox-url="${escapeHtml(sandboxUrl)}">` +
    '<div class="run-buttons">' +
    '<button type="button" class="run-button" data-run>Exécuter</button>' +
    '<button type="button" class="run-copy" data-copy>Copier</button>' +
    (terminal !== '1' ? `<span class="run-target">dans le terminal ${escapeHtml(terminal)}</span>` : '') +
    '</div><p role="status" data-run-status></p></div>'
  );
}

export function transcriptHtml(options: SnippetMarkupOptions): string {
  const { transcript, terminal, machine, title, sandboxUrl, runnable } = options;
  const highlighted = highlightCommandsSync(transcript.commands);
  const caption = title ?? (terminal === '1' ? undefined : `Terminal ${terminal}`);
  let commandIndex = 0;
  const rows = transcript.lines.map((line) => {
    if (line.kind === 'command') {
      const index = commandIndex++;
      const tokens = highlighted[index] ?? [];
      const shown = line.shown ?? line.prompt;
      const code = tokens.map((tokenLine) => tokenLine.map((t) => `<span style="${escapeHtml(t.style)}">${escapeHtml(t.content)}</span>`).join('')).join('\n');
      return (
        `<span class="tl tl-command" data-command-index="${index}" data-prompt="${line.prompt}"${line.foreign ? ' data-foreign-shell' : ''}>` +
        (shown === '' ? '' : `<span class="tl-prompt">${escapeHtml(shown)} </span>`) +
        `${code}</span>`
      );
    }
    if (line.kind === 'output') return `<span class="tl tl-output">${escapeHtml(line.text)}</span>`;
    return `<span class="tl tl-remark">${line.marker ?? '//'} ${escapeHtml(line.text)}</span>`;
  });
  const attributes = [
    'class="transcript"',
    'data-transcript',
    `data-terminal="${escapeHtml(terminal)}"`,
    machine ? `data-machine="${escapeHtml(machine)}"` : '',
    `data-mode="${transcript.mode}"`,
    runnable ? '' : `data-copy-only="${escapeHtml(options.copyOnlyReason ?? '')}"`,
    `data-commands="${escapeHtml(JSON.stringify(transcript.commands))}"`,
  ].filter(Boolean);
  return (
    `<figure ${attributes.join(' ')}>` +
    (caption ? `<figcaption class="transcript-title">${escapeHtml(caption)}</figcaption>` : '') +
    `<div class="code-block"><pre class="astro-code transcript-code" tabindex="0" data-language="bash"><code>${rows.join('\n')}</code></pre></div>` +
    (runnable ? runControlsHtml(terminal, sandboxUrl) : '') +
    '</figure>'
  );
}
