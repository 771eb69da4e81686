import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { runControlsHtml } from '../../src/lib/snippets/transcript-html.ts';
import { parseTranscript, TranscriptError } from '../../src/lib/snippets/transcript.ts';

describe('parseTranscript', () => {
  it('tells commands, outputs and remarks apart and lists the commands in order', () => {
    const transcript = parseTranscript(`
// Dans la VM
$ hostname
tp-docker
$ sudo unshare --uts /bin/bash
# hostname my.name.is.bob
# hostname
my.name.is.bob
`);
    expect(transcript.lines).toEqual([
      { kind: 'remark', text: 'Dans la VM' },
      { kind: 'command', prompt: '$', text: 'hostname' },
      { kind: 'output', text: 'tp-docker' },
      { kind: 'command', prompt: '$', text: 'sudo unshare --uts /bin/bash' },
      { kind: 'command', prompt: '#', text: 'hostname my.name.is.bob' },
      { kind: 'command', prompt: '#', text: 'hostname' },
      { kind: 'output', text: 'my.name.is.bob' },
    ]);
    expect(transcript.commands).toEqual(['hostname', 'sudo unshare --uts /bin/bash', 'hostname my.name.is.bob', 'hostname']);
  });

  it('removes the indentation shared by every line, as MDX template literals carry it', () => {
    const transcript = parseTranscript(`
      $ ls -l /tmp
        total 0
      // fin
    `);
    expect(transcript.lines).toEqual([
      { kind: 'command', prompt: '$', text: 'ls -l /tmp' },
      { kind: 'output', text: '  total 0' },
      { kind: 'remark', text: 'fin' },
    ]);
  });

  it('keeps shell syntax of a command intact (substitutions, quotes, pipes)', () => {
    const { commands } = parseTranscript(`# kill -9 $(pidof dockerd)\n$ echo "a  b" | wc -c`);
    expect(commands).toEqual(['kill -9 $(pidof dockerd)', 'echo "a  b" | wc -c']);
  });

  it('keeps blank lines inside an output and Windows line ends do not leak', () => {
    const transcript = parseTranscript('$ printf "a\\n\\nb\\n"\r\na\r\n\r\nb\r\n');
    expect(transcript.lines).toEqual([
      { kind: 'command', prompt: '$', text: 'printf "a\\n\\nb\\n"' },
      { kind: 'output', text: 'a' },
      { kind: 'output', text: '' },
      { kind: 'output', text: 'b' },
    ]);
  });

  it('joins a command continued with a trailing backslash into one command', () => {
    const transcript = parseTranscript('$ sudo unshare --pid --fork \\\n  --mount-proc /bin/bash\n# ps aux');
    expect(transcript.commands).toEqual(['sudo unshare --pid --fork \\\n  --mount-proc /bin/bash', 'ps aux']);
    expect(transcript.lines[0]).toEqual({
      kind: 'command',
      prompt: '$',
      text: 'sudo unshare --pid --fork \\\n  --mount-proc /bin/bash',
    });
    expect(transcript.lines).toHaveLength(2);
  });

  it('shows an escaped prompt or remark marker as output', () => {
    const transcript = parseTranscript('$ head -1 /etc/fstab\n\\# /etc/fstab: static file system information.\n\\// pas une remarque');
    expect(transcript.lines.slice(1)).toEqual([
      { kind: 'output', text: '# /etc/fstab: static file system information.' },
      { kind: 'output', text: '// pas une remarque' },
    ]);
    expect(transcript.commands).toEqual(['head -1 /etc/fstab']);
  });

  it('treats a line that merely starts with $ or # without a space as output', () => {
    const transcript = parseTranscript('$ echo $HOME\n$HOME\n#!/bin/sh');
    expect(transcript.lines.slice(1)).toEqual([
      { kind: 'output', text: '$HOME' },
      { kind: 'output', text: '#!/bin/sh' },
    ]);
  });

  it('accepts a remark without a space after the slashes', () => {
    expect(parseTranscript('//Terminal 2').lines).toEqual([{ kind: 'remark', text: 'Terminal 2' }]);
  });

  it('rejects an empty transcript with a hint', () => {
    expect(() => parseTranscript('  \n \n')).toThrowError(/transcript line 1: the transcript is empty/);
  });

  it('rejects a prompt without a command, naming the line and the fix', () => {
    let error: unknown;
    try {
      parseTranscript('$ id\nuid=0(root)\n#');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(TranscriptError);
    expect((error as TranscriptError).line).toBe(3);
    expect((error as TranscriptError).message).toMatch(/line 3: a prompt "#" with no command; .*"\\#"/);
  });

  it('rejects a continuation that never ends', () => {
    expect(() => parseTranscript('$ echo a \\')).toThrowError(/line 1: the last command ends with "\\"/);
  });
});

describe('runControlsHtml', () => {
  it('draws the play triangle in CSS, not with an SVG in each button, and styles the status line by its attribute (a lesson has a dozen)', () => {
    const html = runControlsHtml('1', '/');
    expect(html).toContain('<button type="button" class="run-button" data-run>Exécuter</button>');
    expect(html).not.toContain('<svg');
    // The status line is styled by its data attribute: no class to repeat.
    expect(html).toContain('<p role="status" data-run-status></p>');
    expect(readFileSync(new URL('../../src/styles/snippets.css', import.meta.url), 'utf8')).toMatch(/\.run-button::before \{[^}]*clip-path: polygon/);
  });
});
