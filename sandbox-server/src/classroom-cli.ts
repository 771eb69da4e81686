// Classes from the command line (`npm run class -- <command>`), on the same
// SQLite file as the server (CLASS_DB; same environment or SANDBOX_CONFIG
// file). It works whether the server runs or not: a running server applies
// resets and revocations within two seconds.
//
//   create --name NAME (--roster FILE | --seats N) [--capacity N] [--lifetime 8h]
//          [--memory 256MiB] [--cpus 0.5] [--pids 512] [--docker true|false] [--page PATH] [--machines node1,node2,node3]
//                       a class and one personal link per student (shown once)
//   list                the classes
//   links  --class NAME [--student NAME]   new links (the old ones stop working)
//   revoke --class NAME [--student NAME]   links stop working, machines end
//   reset  --class NAME [--student NAME]   fresh machines
//   export --class NAME [--out FILE]       progress as CSV (standard output by default)
//   instructor          a new instructor key, as the dashboard's link
//
// Every command takes --url URL: the course site's address as students reach
// it (default: this server's address from the configuration).
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, type Config } from './config.ts';
import { ClassSettingsError, classDefaults, parseRoster, resolveClassRequest } from './classroom/class-settings.ts';
import { ClassroomDatabaseError, openClassroomDatabase } from './classroom/database.ts';
import { ChecksFileError, loadExercises } from './classroom/exercises.ts';
import { INSTRUCTOR_LINK_KEY, STUDENT_LINK_KEY } from '../../contracts/link-keys.ts';
import { frenchDateTime } from './classroom/messages.ts';
import { progressCsv } from './classroom/progress-csv.ts';
import { ClassroomInputError, ClassroomStore, type ClassRecord, type StudentRecord } from './classroom/store.ts';

const USAGE = `usage: npm run class -- <command> [options]
  create --name NAME (--roster FILE | --seats N) [--capacity N] [--lifetime 8h] [--memory 256MiB] [--cpus 0.5] [--pids 512] [--docker true|false] [--page PATH] [--machines node1,node2,node3]
  list
  links  --class NAME [--student NAME]
  revoke --class NAME [--student NAME]
  reset  --class NAME [--student NAME]
  export --class NAME [--out FILE]
  instructor
All commands: --url URL (the course site as students reach it). Database: CLASS_DB (see docs/hosting.md).`;

class UsageError extends Error {
  override name = 'UsageError';
}

const OPTIONS = {
  name: { type: 'string' },
  roster: { type: 'string' },
  seats: { type: 'string' },
  capacity: { type: 'string' },
  lifetime: { type: 'string' },
  memory: { type: 'string' },
  cpus: { type: 'string' },
  pids: { type: 'string' },
  docker: { type: 'string' },
  machines: { type: 'string' },
  page: { type: 'string' },
  class: { type: 'string' },
  student: { type: 'string' },
  out: { type: 'string' },
  url: { type: 'string' },
  help: { type: 'boolean' },
} as const;

type Options = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const [command, ...extra] = parsed.positionals;
  if (parsed.values.help || command === undefined) {
    console.log(USAGE);
    return command === undefined && !parsed.values.help ? 2 : 0;
  }
  if (extra.length > 0) throw new UsageError(`unexpected argument(s): ${extra.join(' ')}`);
  const config = loadConfig();
  const store = new ClassroomStore(openClassroomDatabase(config.classDb));
  try {
    const options = parsed.values;
    const site = siteUrl(options.url, config);
    switch (command) {
      case 'create':
        return await create(store, config, options, site);
      case 'list':
        return list(store);
      case 'links':
        return links(store, options, site);
      case 'revoke':
        return revoke(store, options);
      case 'reset':
        return reset(store, options);
      case 'export':
        return await exportCsv(store, config, options);
      case 'instructor':
        return instructor(store, site);
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } finally {
    store.close();
  }
}

async function create(store: ClassroomStore, config: Config, options: Options, site: string): Promise<number> {
  if (options.name === undefined) throw new UsageError('create needs --name');
  if ((options.roster === undefined) === (options.seats === undefined))
    throw new UsageError('create needs either --roster FILE (one name per line) or --seats N');
  let roster: string[] | undefined;
  if (options.roster !== undefined) {
    let text: string;
    try {
      text = readFileSync(options.roster, 'utf8');
    } catch (error) {
      throw new UsageError(`cannot read the roster ${options.roster}: ${(error as Error).message}`);
    }
    roster = parseRoster(text);
  }
  const exercises = await loadExercises(config.contentDir);
  const { newClass, names } = resolveClassRequest(
    {
      name: options.name,
      capacity: options.capacity,
      roster,
      seats: options.seats,
      lifetime: options.lifetime,
      memory: options.memory,
      cpus: options.cpus,
      pids: options.pids,
      docker: options.docker,
      startPage: options.page,
      machines: options.machines?.split(',').map((name) => name.trim()),
    },
    classDefaults(config, exercises[0]?.page ?? ''),
  );
  const { classRecord, links: issued } = store.createClass(newClass, names);
  console.log(
    `Class "${classRecord.name}" created: ${issued.length} students (capacity ${classRecord.capacity}), links valid until ${frenchDateTime(classRecord.expiresAt)}.`,
  );
  console.log(
    `Machines: ${classRecord.driver}, ${Math.round(classRecord.limits.memoryBytes / 2 ** 20)} MiB, ${classRecord.limits.cpus} CPU, ${classRecord.limits.pids} tasks, Docker ${classRecord.docker ? 'on' : 'off'}${classRecord.machines ? `; a lab of ${classRecord.machines.join(', ')} per student` : ''}.`,
  );
  console.log('Personal links (shown only now: keep them; `links` makes new ones):\n');
  printLinks(classRecord, issued, site);
  if (!store.hasInstructorCredential()) {
    console.log('\nNo instructor key yet; here is one for the dashboard (`instructor` makes another):');
    console.log(`  ${site}instructeur/#${INSTRUCTOR_LINK_KEY}=${store.issueInstructorCredential('created with the first class')}`);
  }
  return 0;
}

function list(store: ClassroomStore): number {
  const classes = store.listClasses();
  if (classes.length === 0) {
    console.log('No classes yet: create one with `npm run class -- create --name NAME --seats N`.');
    return 0;
  }
  for (const record of classes) {
    const state = record.expiresAt > Date.now() ? `until ${frenchDateTime(record.expiresAt)}` : `ended ${frenchDateTime(record.expiresAt)}`;
    console.log(`${record.name}\t${record.students}/${record.capacity} students\t${record.driver}\t${state}`);
  }
  return 0;
}

function links(store: ClassroomStore, options: Options, site: string): number {
  const { classRecord, students } = target(store, options);
  const issued = students.map((student) => store.issueStudentLink(student.id));
  console.log(`New links for ${issued.length} student(s) of "${classRecord.name}"; their earlier links no longer work:\n`);
  printLinks(classRecord, issued, site);
  return 0;
}

function revoke(store: ClassroomStore, options: Options): number {
  const { classRecord, students } = target(store, options);
  const count = store.revokeStudents(students.map((student) => student.id));
  for (const student of students) store.addEvent(classRecord.id, student.id, 'revoked', `Lien de ${student.name} révoqué (ligne de commande).`);
  console.log(`Revoked ${count} link(s) of ${students.length} student(s) in "${classRecord.name}"; a running server ends their machines within seconds.`);
  return 0;
}

function reset(store: ClassroomStore, options: Options): number {
  const { classRecord, students } = target(store, options);
  store.bumpReset(students.map((student) => student.id));
  console.log(
    `Asked for fresh machines for ${students.length} student(s) of "${classRecord.name}": a running server replaces the machines they have within seconds.`,
  );
  return 0;
}

async function exportCsv(store: ClassroomStore, config: Config, options: Options): Promise<number> {
  const { classRecord } = target(store, { ...options, student: undefined });
  const csv = progressCsv(store, classRecord, await loadExercises(config.contentDir));
  if (options.out === undefined) process.stdout.write(csv);
  else {
    writeFileSync(options.out, csv);
    console.error(`Progress of "${classRecord.name}" written to ${options.out}.`);
  }
  return 0;
}

function instructor(store: ClassroomStore, site: string): number {
  const token = store.issueInstructorCredential('npm run class -- instructor');
  console.log('The dashboard, with a new instructor key (keep it private: it opens every class):');
  console.log(`  ${site}instructeur/#${INSTRUCTOR_LINK_KEY}=${token}`);
  return 0;
}

function target(store: ClassroomStore, options: Options): { classRecord: ClassRecord; students: StudentRecord[] } {
  if (options.class === undefined) throw new UsageError('this command needs --class NAME (see `list`)');
  const classRecord = store.findClassByName(options.class);
  if (!classRecord) {
    const known =
      store
        .listClasses()
        .map((record) => `"${record.name}"`)
        .join(', ') || 'none';
    throw new UsageError(`no class named "${options.class}"; classes: ${known}`);
  }
  const all = store.students(classRecord.id);
  if (options.student === undefined) return { classRecord, students: all };
  const student = all.find((candidate) => candidate.name === options.student);
  if (!student) throw new UsageError(`no student "${options.student}" in "${classRecord.name}"; students: ${all.map((s) => `"${s.name}"`).join(', ')}`);
  return { classRecord, students: [student] };
}

function printLinks(classRecord: ClassRecord, issued: { student: StudentRecord; token: string }[], site: string): void {
  const width = Math.max(...issued.map(({ student }) => student.name.length), 4);
  for (const { student, token } of issued) {
    console.log(`${String(student.seat).padStart(3)}  ${student.name.padEnd(width)}  ${site}${classRecord.startPage}#${STUDENT_LINK_KEY}=${token}`);
  }
}

/** The site's address as students reach it, ending with "/". */
function siteUrl(given: string | undefined, config: Config): string {
  if (given !== undefined) {
    let url: URL;
    try {
      url = new URL(given);
    } catch {
      throw new UsageError(`--url ${given} is not a URL: write e.g. https://course.example.org/`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError('--url must be an http(s) address');
    return url.href.endsWith('/') ? url.href : `${url.href}/`;
  }
  const host = config.host === '0.0.0.0' || config.host === '::' || config.host === '127.0.0.1' ? 'localhost' : config.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${config.port}${config.basePath}`;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    const known =
      error instanceof UsageError ||
      error instanceof ConfigError ||
      error instanceof ClassSettingsError ||
      error instanceof ClassroomInputError ||
      error instanceof ChecksFileError;
    if (error instanceof ClassroomDatabaseError) {
      console.error(`${error.message}\nWhat to do: ${error.hint}`);
      process.exit(1);
    }
    console.error(known ? `class: ${(error as Error).message}` : `class: failed: ${(error as Error).stack ?? String(error)}`);
    if (error instanceof UsageError) console.error(`\n${USAGE}`);
    process.exit(known ? 2 : 1);
  },
);
