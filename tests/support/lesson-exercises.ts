// What the lesson « Les Namespaces » says, as tests: every exercise typed as
// the student would, in two terminals of one machine, and what each terminal
// must show. Written once, run by every way of getting a machine:
// namespace-lesson.test.ts (namespace driver), vm-driver.test.ts (VM driver,
// with longer timeouts under emulation) and server-lesson.test.ts (through the
// sandbox server's WebSockets).
//
//   beforeAll(async () => { …open two terminals…; dockerdPid = await waitForDockerd(one.reader); });
//   describeLessonExercises({ machine: () => ({ one, two, dockerdPid }) });
import { describe, expect, it } from 'vitest';
import type { TerminalSize } from '../../sandbox-server/src/drivers/driver.ts';
import type { TerminalReader } from './terminal-reader.ts';

export interface LessonTerminal {
  /** Reads the terminal and types into it. */
  reader: TerminalReader;
  /** Resizes the terminal as the reader's window would (a driver's TerminalStream, or a resize message on the socket). */
  terminal: { resize(size: TerminalSize): void };
}

export interface LessonMachine {
  /** Terminal "1", opened at 120×40 and showing its first prompt. */
  one: LessonTerminal;
  /** Terminal "2" of the same machine, showing its first prompt. */
  two: LessonTerminal;
  /** What waitForDockerd returned. */
  dockerdPid: string;
}

export interface LessonExercisesOptions {
  /** The machine, once the test file's beforeAll has opened it. */
  machine: () => LessonMachine;
  /** Timeout of the commands that start processes (sudo, unshare, ps): longer for a VM under emulation. */
  slow?: { timeoutMs?: number };
}

/**
 * dockerd starts in the background; the prompt does not wait for it, the
 * lesson does. Its socket appears early, before the daemon is set up, and
 * while it sets up it forks helpers (containerd, `runc --version`, a re-exec
 * of itself…), each a second "dockerd" for pidof until it execs, for seconds
 * under emulation. So this waits until the daemon answers on its socket (it
 * serves only once set up, and then forks nothing by itself) with pidof
 * naming one process, and returns its PID.
 */
export async function waitForDockerd(reader: TerminalReader, options: { timeoutMs?: number } = {}): Promise<string> {
  const { output } = await reader.run(
    'for i in $(seq 600); do [ -S /run/docker.sock ] && sudo -n curl -sf --unix-socket /run/docker.sock http://docker/_ping >/dev/null && [ "$(pidof dockerd | wc -w)" = 1 ] && break; sleep 0.2; done; pidof dockerd',
    options,
  );
  return output.trim();
}

/** Registers the lesson's exercises (describe blocks: the machine, UTS, mnt, pid, user), in the lesson's order. */
export function describeLessonExercises({ machine, slow = {} }: LessonExercisesOptions): void {
  describe('the machine the student finds', () => {
    it('greets with the course VM prompt, in the student home, as a login shell', async () => {
      const { one } = machine();
      expect(one.reader.text).toMatch(/^student@tp-docker:~\$ $/m);
      expect((await one.reader.run('pwd')).output.trim()).toBe('/home/student');
      expect((await one.reader.run('shopt -q login_shell && echo login')).output.trim()).toBe('login');
    });

    it('is student (uid 1000) with passwordless sudo', async () => {
      const { one } = machine();
      expect((await one.reader.run('id')).output.trim()).toBe('uid=1000(student) gid=1000(student) groups=1000(student),101(docker)');
      expect(await one.reader.run('sudo -n id -u', slow)).toEqual({ output: '0\n', exitCode: 0 });
    });

    it('runs in a real terminal that knows its size and type, and follows resizes', async () => {
      const { one } = machine();
      expect((await one.reader.run('tty')).output.trim()).toMatch(/^\/dev\/pts\/\d+$/);
      expect((await one.reader.run('stty size')).output.trim()).toBe('40 120');
      expect((await one.reader.run('echo $TERM')).output.trim()).toBe('xterm-256color');
      one.terminal.resize({ cols: 90, rows: 30 });
      expect((await one.reader.run('stty size')).output.trim()).toBe('30 90');
    });

    it('reports exit statuses through the OSC 133 D mark', async () => {
      const { one } = machine();
      expect((await one.reader.run('false')).exitCode).toBe(1);
      expect((await one.reader.run('(exit 42)')).exitCode).toBe(42);
      expect((await one.reader.run('true')).exitCode).toBe(0);
    });

    it('has a real dockerd whose namespaces root can list', async () => {
      const { one, dockerdPid } = machine();
      expect(dockerdPid).toMatch(/^\d+$/);
      const ns = await one.reader.run(`sudo ls -l /proc/${dockerdPid}/ns`, slow);
      expect(ns.exitCode).toBe(0);
      for (const kind of ['cgroup', 'ipc', 'mnt', 'net', 'pid', 'user', 'uts']) expect(ns.output).toMatch(new RegExp(`${kind} -> '?${kind}:\\[\\d+\\]`));
    });

    it('shows /proc/1/ns to root only, as on the course VM', async () => {
      const { one } = machine();
      expect((await one.reader.run('ls -l /proc/1/ns')).output).toMatch(/Permission denied/);
      const allowed = await one.reader.run('sudo ls -l /proc/1/ns', slow);
      expect(allowed.exitCode).toBe(0);
      expect(allowed.output).toMatch(/uts -> 'uts:\[\d+\]'/);
    });
  });

  describe('UTS', () => {
    it('changes the host name in the new namespace only', async () => {
      const { one, two } = machine();
      expect((await one.reader.run('hostname')).output.trim()).toBe('tp-docker');
      await one.reader.run('sudo unshare --uts /bin/bash', slow);
      expect(one.reader.text).toMatch(/root@tp-docker:\/home\/student# $/);
      // The lesson's underscore version is refused by Debian's hostname, on the course VM too.
      expect((await one.reader.run('hostname my_name_is_bob')).output).toMatch(/invalid/);
      expect((await one.reader.run('hostname my.name.is.bob')).exitCode).toBe(0);
      expect((await one.reader.run('hostname')).output.trim()).toBe('my.name.is.bob');
      // "Ouvrir un nouveau terminal et vérifier le hostname de la VM."
      expect((await two.reader.run('hostname')).output.trim()).toBe('tp-docker');
      await one.reader.run('exit');
      expect((await one.reader.run('hostname')).output.trim()).toBe('tp-docker');
    });
  });

  describe('mnt', () => {
    it('mounts a private /tmp that the second terminal does not see', async () => {
      const { one, two } = machine();
      await two.reader.run('echo from-terminal-2 > /tmp/seen-by-the-machine');
      await one.reader.run('sudo unshare --mount /bin/bash', slow);
      expect((await one.reader.run('mount -t tmpfs none /tmp')).exitCode).toBe(0);
      expect((await one.reader.run('ls -l /tmp')).output.trim()).toBe('total 0');
      expect((await two.reader.run('ls -l /tmp')).output).toMatch(/seen-by-the-machine/);
      await one.reader.run('exit');
      expect((await one.reader.run('cat /tmp/seen-by-the-machine')).output.trim()).toBe('from-terminal-2');
    });
  });

  describe('pid', () => {
    it("still shows the machine's processes without --mount-proc, but cannot touch them", async () => {
      const { one, dockerdPid } = machine();
      await one.reader.run('sudo unshare --pid --fork /bin/bash', slow);
      const ps = await one.reader.run('ps aux', slow);
      expect(ps.exitCode).toBe(0);
      expect(ps.output).not.toMatch(/fatal library error/);
      expect(ps.output).toMatch(/dockerd/);
      expect((await one.reader.run('pidof dockerd')).output.trim()).toBe(dockerdPid);
      const kill = await one.reader.run('kill -9 $(pidof dockerd)');
      expect(kill.output).toMatch(new RegExp(`bash: kill: \\(${dockerdPid}\\) - No such process`));
      await one.reader.run('exit');
      // dockerd lived through it.
      expect((await one.reader.run('pidof dockerd')).output.trim()).toBe(dockerdPid);
    });

    it('shows only bash and ps with --mount-proc', async () => {
      const { one } = machine();
      await one.reader.run('sudo unshare --pid --fork --mount-proc /bin/bash', slow);
      const lines = (await one.reader.run('ps aux', slow)).output.trim().split('\n');
      expect(lines[0]).toMatch(/^USER\s+PID/);
      expect(lines.slice(1).map((line) => line.split(/\s+/).slice(10).join(' '))).toEqual(['/bin/bash', 'ps aux']);
      expect(lines[1]!.split(/\s+/)[1]).toBe('1');
      await one.reader.run('exit');
    });
  });

  describe('user', () => {
    it('makes the student nobody in a user namespace made without sudo', async () => {
      const { one } = machine();
      await one.reader.run('unshare --user /bin/bash');
      expect((await one.reader.run('id')).output.trim()).toBe('uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)');
      await one.reader.run('exit');
      expect((await one.reader.run('id -u')).output.trim()).toBe('1000');
    });
  });
}
