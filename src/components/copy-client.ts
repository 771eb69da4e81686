// Copy buttons for code blocks. Added by script (a button that cannot work
// without JavaScript should not be in the HTML).

/** What a block gives to the clipboard: a transcript's commands, else the code as shown. */
export function textToCopy(pre: HTMLElement): string {
  const transcript = pre.closest<HTMLElement>('[data-commands]');
  if (transcript !== null) {
    return (JSON.parse(transcript.dataset.commands ?? '[]') as string[]).join('\n');
  }
  return (pre.querySelector('code') ?? pre).textContent ?? '';
}

/** Puts text on the clipboard, with a fallback for plain-http hosts; throws when the browser refuses. */
export async function writeClipboard(text: string): Promise<void> {
  if (navigator.clipboard !== undefined && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  // Plain-http hosts have no Clipboard API: fall back to a hidden selection.
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.style.position = 'fixed';
  area.style.opacity = '0';
  document.body.append(area);
  area.select();
  const copied = document.execCommand('copy');
  area.remove();
  if (!copied) throw new Error('copy refused');
}

export function addCopyButtons(root: Document): void {
  const status = root.querySelector<HTMLElement>('[data-copy-status]');
  for (const pre of root.querySelectorAll<HTMLElement>('.article pre')) {
    // Runnable snippets have their own Copier button (RunControls.astro); a diagram is a picture, not code.
    if (pre.closest('[data-transcript]')?.querySelector('[data-run-controls]') || pre.classList.contains('mermaid')) continue;
    let frame = pre.parentElement;
    if (frame === null) continue;
    if (!frame.classList.contains('code-block')) {
      const wrapper = root.createElement('div');
      wrapper.className = 'code-block';
      pre.replaceWith(wrapper);
      wrapper.append(pre);
      frame = wrapper;
    }
    const button = root.createElement('button');
    button.type = 'button';
    button.className = 'copy-button';
    button.textContent = 'Copier';
    const isTranscript = pre.closest('[data-commands]') !== null;
    button.setAttribute('aria-label', isTranscript ? 'Copier les commandes' : 'Copier le code');
    button.addEventListener('click', async () => {
      let message: string;
      try {
        await writeClipboard(textToCopy(pre));
        message = 'Copié !';
      } catch {
        message = 'Copie impossible : sélectionnez le texte à la main.';
      }
      button.textContent = message === 'Copié !' ? message : 'Échec';
      if (status !== null) status.textContent = message;
      setTimeout(() => {
        button.textContent = 'Copier';
      }, 2000);
    });
    frame.append(button);
  }
}
