import { describe, expect, it } from 'vitest';
import { commandIsIncomplete } from '../../src/lib/snippets/shell-syntax.ts';
import { FenceError, parseFenceAttributes, planShellBlock } from '../../src/lib/snippets/shell-fences.ts';
import { looksLikeProse, parseTranscript, TranscriptError } from '../../src/lib/snippets/transcript.ts';

describe('prompt styles of Hugo courses', () => {
  it('reads user@host, root@host, (machine) and [root@host] prompts; the prompt stays as written', () => {
    const t = parseTranscript('student@tp:~$ id -u\n1000\nroot@tp:/# hostname\ntp\n(node1) $ uname -s\nLinux\n[root@tp ~]# whoami\nroot');
    expect(t.commands).toEqual(['id -u', 'hostname', 'uname -s', 'whoami']);
    expect(t.lines.filter((l) => l.kind === 'command').map((l) => (l.kind === 'command' ? [l.prompt, l.shown] : []))).toEqual([
      ['$', 'student@tp:~$'],
      ['#', 'root@tp:/#'],
      ['$', '(node1) $'],
      ['#', '[root@tp ~]#'],
    ]);
    expect(t.machine).toBe('node1');
  });

  it('joins here-documents, "> " continuations, "\\" and do … done into one command', () => {
    const t = parseTranscript('$ cat <<EOF > notes.txt\n> ligne un\n> EOF\n$ for f in a b; do\n>   echo $f\n> done\na\nb\n$ ls \\\n  -l');
    expect(t.commands).toEqual(['cat <<EOF > notes.txt\nligne un\nEOF', 'for f in a b; do\n  echo $f\ndone', 'ls \\\n  -l']);
    expect(t.lines.filter((l) => l.kind === 'output').map((l) => l.text)).toEqual(['a', 'b']);
  });

  it('marks commands typed at a container prompt as foreign', () => {
    const t = parseTranscript('$ docker run -ti alpine sh\n/ # ping -c1 appdev');
    expect(t.lines[1]).toEqual({ kind: 'command', prompt: '#', text: 'ping -c1 appdev', shown: '/ #', foreign: true });
  });

  it('refuses a French comment after "# " next to root prompts, as ambiguous', () => {
    expect(looksLikeProse('Créer le dossier')).toBe(true);
    expect(looksLikeProse('on regarde les processus')).toBe(true);
    expect(looksLikeProse('ps aux')).toBe(false);
    expect(looksLikeProse('kill -9 $(pidof dockerd)')).toBe(false);
    expect(looksLikeProse('hostname my.name.is.bob')).toBe(false);
    let error: unknown;
    try {
      parseTranscript('$ sudo -i\n# on regarde les processus\n# ps aux');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TranscriptError);
    expect((error as TranscriptError).kind).toBe('ambiguous');
    expect((error as TranscriptError).line).toBe(2);
  });

  it('reads a block without prompt as a script: every command typed, "# " lines are comments', () => {
    const t = parseTranscript('# Préparer un dossier\nmkdir -p /tmp/essai\nif true; then\n  echo oui\nfi');
    expect(t.mode).toBe('script');
    expect(t.commands).toEqual(['mkdir -p /tmp/essai', 'if true; then\n  echo oui\nfi']);
    expect(t.lines[0]).toEqual({ kind: 'remark', text: 'Préparer un dossier', marker: '#' });
  });
});

describe('commandIsIncomplete', () => {
  it.each([
    ['ls -l', false],
    ['echo "a', true],
    ["awk '{print $1}' f", false],
    ['cat <<EOF', true],
    ['cat <<-FIN\n\tx\n\tFIN', false],
    ['ls |', true],
    ['a &&', true],
    ['f() {', true],
    ['f() { echo; }', false],
    ['case $x in a) echo a;; esac', false],
    ['echo $(date', true],
    ['echo "$HOME"', false],
  ])('%j → %s', (text, incomplete) => {
    expect(commandIsIncomplete(text)).toBe(incomplete);
  });
});

describe('planShellBlock', () => {
  it('runs bash, sh, shell and console blocks with prompts, and unlabelled blocks that start with one', () => {
    for (const lang of ['bash', 'sh', 'shell', 'console', '']) expect(planShellBlock(lang, '', '$ id\nuid=1000').kind).toBe('run');
    expect(planShellBlock('', '', 'uid=1000').kind).toBe('skip');
    expect(planShellBlock('python', '', '$ x').kind).toBe('skip');
  });

  it('takes the terminal and machine from fence attributes or a "// Terminal 2" first line', () => {
    expect(planShellBlock('bash', '{terminal=2, machine="web", linenos=true}', '$ id')).toMatchObject({ kind: 'run', terminal: '2', machine: 'web' });
    expect(planShellBlock('bash', '', '// Terminal 3\n$ id')).toMatchObject({ kind: 'run', terminal: '3', code: '$ id' });
  });

  it('says why a block is copy-only', () => {
    expect(planShellBlock('console', '', 'uid=0(root)')).toMatchObject({ kind: 'copy-only', reason: expect.stringMatching(/only output/) });
    expect(planShellBlock('bash', '', '#!/bin/bash\necho x')).toMatchObject({ kind: 'copy-only', reason: expect.stringMatching(/script file/) });
    expect(planShellBlock('bash', '{runnable=false}', '$ id')).toMatchObject({ kind: 'copy-only', reason: expect.stringMatching(/runnable=false/) });
    expect(planShellBlock('bash', '', '$ docker run -ti alpine sh\n/ # ping appdev')).toMatchObject({
      kind: 'copy-only',
      reason: expect.stringMatching(/container/),
    });
    expect(planShellBlock('bash', '', '# hostname\ntp')).toMatchObject({ kind: 'copy-only', reason: expect.stringMatching(/root command or a shell comment/) });
  });

  it('fails only on attributes it cannot read', () => {
    expect(() => parseFenceAttributes('{terminal=zéro}')).toThrowError(FenceError);
    expect(() => parseFenceAttributes('{terminal=2')).toThrowError(/not closed/);
    expect(() => parseFenceAttributes('{runnable=peut-être}')).toThrowError(/true or false/);
    expect(parseFenceAttributes('{.shell #id hl_lines=[1,2]}')).toEqual({});
  });
});
