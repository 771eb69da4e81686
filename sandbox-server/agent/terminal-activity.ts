// Tells, once, that something happened on one of the machine's terminals: a
// shell read a key or wrote its echo, output, a prompt; a pty was opened.
//
// The fork-bomb watch (terminal-groups.ts) uses it to sleep while the
// machine is idle: a terminal's processes can only start a fork bomb after
// its shell read a command, and the shell echoes what it reads, so a write on
// the terminal comes first. The kernel tells that through inotify: a read or
// write on /dev/pts/N raises IN_ACCESS / IN_MODIFY on that file's own watch
// (seen on the host's kernel, 6.18, and the VM guests', 6.1; on 6.18 a watch
// on /dev/pts itself only sees ptys appear and be opened, not their reads and
// writes). So this watches each /dev/pts/N, and /dev/pts for new ones.
//
// One event is enough: at the first one every watch is dropped, so that
// while a reader types nothing here costs a system call per keystroke; the
// caller arms it again when it wants to hear of the next one.
import { type FSWatcher, readdirSync, watch } from 'node:fs';

const PTS = '/dev/pts';

export interface TerminalActivity {
  /** Calls `onActivity` once, at the next read or write on a terminal (or a new pty). Safe to call while armed. */
  arm(onActivity: () => void): void;
  disarm(): void;
}

/** Watches the machine's ptys; throws when inotify is not usable here (no /dev/pts, no watches left). */
export function watchTerminalActivity(pts = PTS): TerminalActivity {
  let watchers: FSWatcher[] = [];
  const disarm = () => {
    for (const watcher of watchers) watcher.close();
    watchers = [];
  };
  return {
    arm(onActivity) {
      if (watchers.length > 0) return;
      const fire = () => {
        if (watchers.length === 0) return; // A second event of the same batch.
        disarm();
        onActivity();
      };
      const names = readdirSync(pts).filter((name) => /^\d+$/.test(name));
      try {
        for (const path of [pts, ...names.map((name) => `${pts}/${name}`)]) {
          const watcher = watch(path, { persistent: false }, fire);
          // A pty that closed (its file gone) ends its watch, not the agent.
          watcher.on('error', () => watcher.close());
          watchers.push(watcher);
        }
      } catch (error) {
        // A pty closed between the listing and its watch: that is activity too.
        if ((error as NodeJS.ErrnoException).code === 'ENOENT' && watchers.length > 0) return fire();
        disarm();
        throw error;
      }
    },
    disarm,
  };
}
