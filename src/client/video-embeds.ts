// Privacy-friendly video embeds ({{< youtube >}}): the page shows a button and
// asks nothing of the video host until the reader clicks it. The host comes
// from the site's configuration (params.videoEmbedOrigin, e.g. the host's
// privacy-enhanced embed origin); without it the button says how to watch.
for (const box of document.querySelectorAll<HTMLElement>('.video-embed[data-video-id]')) {
  const button = box.querySelector<HTMLButtonElement>('[data-video-play]');
  const origin = box.dataset.videoOrigin;
  button?.addEventListener('click', () => {
    const id = box.dataset.videoId ?? '';
    if (!origin) {
      const note = box.querySelector('.video-embed__note');
      if (note)
        note.textContent = `Vidéo YouTube « ${id} » : ce site n’a pas d’adresse d’intégration configurée (params.videoEmbedOrigin) ; cherchez cet identifiant sur YouTube.`;
      return;
    }
    const frame = document.createElement('iframe');
    frame.src = `${origin.replace(/\/+$/, '')}/embed/${encodeURIComponent(id)}?autoplay=1`;
    frame.title = box.dataset.videoTitle ?? 'Vidéo';
    frame.allow = 'autoplay; encrypted-media; picture-in-picture';
    frame.allowFullscreen = true;
    frame.loading = 'lazy';
    frame.referrerPolicy = 'strict-origin-when-cross-origin';
    box.replaceChildren(frame);
  });
}
