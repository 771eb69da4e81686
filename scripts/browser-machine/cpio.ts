// A directory tree as a "newc" cpio archive, the format the Linux kernel
// unpacks as its initramfs. Written here rather than with cpio(1), which a
// fresh host may not have, and so that owners are set from a rule (root,
// except the student's home) instead of from whoever ran the build.
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

export type OwnerRule = (path: string) => { uid: number; gid: number };

const MTIME = Math.floor(Date.UTC(2026, 0, 1) / 1000);

function header(fields: number[], name: string): Buffer {
  const hex = fields.map((value) => (value >>> 0).toString(16).padStart(8, '0')).join('');
  return Buffer.from(`070701${hex}${name}\0`, 'latin1');
}

function pad(length: number): Buffer {
  return Buffer.alloc((4 - (length % 4)) % 4);
}

/** The archive of everything under `root` (paths relative to it, sorted, so the same tree gives the same bytes). */
export function cpioArchive(root: string, owner: OwnerRule): Buffer {
  const parts: Buffer[] = [];
  let ino = 1;
  const add = (name: string, mode: number, ids: { uid: number; gid: number }, data: Buffer) => {
    const nameBytes = Buffer.byteLength(name, 'latin1') + 1;
    const head = header([ino++, mode, ids.uid, ids.gid, 1, MTIME, data.length, 0, 0, 0, 0, nameBytes, 0], name);
    parts.push(head, pad(head.length), data, pad(data.length));
  };
  const walk = (relative: string) => {
    const path = relative === '' ? root : join(root, relative);
    const stat = lstatSync(path);
    if (relative !== '') {
      const ids = owner(relative);
      if (stat.isSymbolicLink()) add(relative, stat.mode, ids, Buffer.from(readlinkSync(path), 'latin1'));
      else if (stat.isFile()) add(relative, stat.mode, ids, readFileSync(path));
      else if (stat.isDirectory()) add(relative, stat.mode, ids, Buffer.alloc(0));
      // Device nodes are not needed: the init script mounts devtmpfs.
    }
    if (stat.isDirectory()) {
      for (const entry of readdirSync(path).sort()) walk(relative === '' ? entry : `${relative}/${entry}`);
    }
  };
  walk('');
  add('TRAILER!!!', 0, { uid: 0, gid: 0 }, Buffer.alloc(0));
  return Buffer.concat(parts);
}
