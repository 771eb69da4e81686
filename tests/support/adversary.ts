// Root inside a machine playing the attacker, for tests/adversarial/ and the
// adversarial benchmark. A small Perl program (Perl is in every Debian image)
// is typed into the machine; it finds the agent, copies its descriptors with
// pidfd_getfd (its stdout/stderr pipes to the host, its socket to the host)
// and writes what a hostile machine would: bytes without a newline, floods of
// lines, forged agent frames. Every attack is capped in bytes by its caller
// and in time by `timeout` inside the machine.
import type { TerminalReader } from './terminal-reader.ts';

const ADVERSARY = String.raw`
use strict; use warnings;
my ($mode, @args) = @ARGV;
sub agent_pid {
  opendir(my $d, '/proc') or die "no /proc\n";
  for my $p (sort { $a <=> $b } grep { /^\d+$/ } readdir $d) {
    open(my $f, '<', "/proc/$p/cmdline") or next; local $/; my $c = <$f> // '';
    return $p if $c =~ m{^/\.sandbox/app/sandbox-server/agent/terminal-keeper\0};
  }
  die "no agent found\n";
}
# The process that holds the host's socket and the ptys is the agent's terminal keeper (terminal-keeper.c),
# started by sandbox-init (PID 1, which names the keeper in its own arguments, after "--"), and its Node side's parent.
# pidfd_open = 434, pidfd_getfd = 438 on x86_64.
sub steal {
  my ($pid, $fd) = @_;
  my $pidfd = syscall(434, $pid + 0, 0); die "pidfd_open: $!\n" if $pidfd < 0;
  my $copy = syscall(438, $pidfd, $fd + 0, 0); die "pidfd_getfd: $!\n" if $copy < 0;
  open(my $fh, '>&=', $copy) or die "fdopen: $!\n"; binmode $fh; return $fh;
}
sub socket_fd {
  my ($pid) = @_;
  opendir(my $d, "/proc/$pid/fd") or die "no fds\n";
  # Its stdout and stderr may be sockets too; past them come its link to the Node agent, the socket it
  # listens on for hosts, then the connection it accepted from the current host: the last one.
  my @s = sort { $a <=> $b } grep { $_ > 2 && (readlink("/proc/$pid/fd/$_") // '') =~ /^socket:/ } grep { /^\d+$/ } readdir $d;
  die "no socket\n" unless @s; return $s[-1];
}
# The copies share the keeper's open files, which it made non-blocking: wait on EAGAIN.
sub put {
  my ($fh, $data) = @_; my $o = 0;
  while ($o < length $data) {
    my $n = syswrite($fh, $data, length($data) - $o, $o);
    if (!defined $n) { die "write: $!\n" unless $!{EAGAIN}; my $w = ''; vec($w, fileno($fh), 1) = 1; select(undef, $w, undef, 1); next }
    $o += $n;
  }
}
sub frame { my ($kind, $ch, $payload) = @_; return pack('NCN', 5 + length $payload, $kind, $ch) . $payload; }
my $pid = agent_pid();
if ($mode eq 'nonewline') {
  my ($fd, $bytes) = @args; my $fh = steal($pid, $fd); my $chunk = 'A' x 65536;
  for (my $i = 0; $i < $bytes; $i += 65536) { put($fh, $chunk) }
} elsif ($mode eq 'newline') {
  my ($fd) = @args; put(steal($pid, $fd), "\n");
} elsif ($mode eq 'lines') {
  my ($fd, $count) = @args; my $fh = steal($pid, $fd);
  my $batch = ('{"level":"fatal","msg":"forged","sandbox":"someone-else"}' . "\n") x 100;
  for (my $i = 0; $i < $count; $i += 100) { put($fh, $batch) }
} elsif ($mode eq 'data') {
  my ($channel, $bytes) = @args; my $fh = steal($pid, socket_fd($pid)); kill 'STOP', $pid;
  my $f = frame(4, $channel, 'Z' x 65000);
  for (my $i = 0; $i < $bytes; $i += 65000) { put($fh, $f) }
} elsif ($mode eq 'logframes') {
  my ($count) = @args; my $fh = steal($pid, socket_fd($pid)); kill 'STOP', $pid;
  my $batch = frame(11, 0, '{"level":"error","msg":"sandbox destroyed","sandbox":"someone-else","pad":"' . ('p' x 200) . '"}') x 100;
  for (my $i = 0; $i < $count; $i += 100) { put($fh, $batch) }
} elsif ($mode eq 'stop') {
  # Said before, since nothing the machine prints reaches the reader once its agent is stopped.
  $| = 1; print "adversary: stopping the agent\n"; select(undef, undef, undef, 0.5); kill 'STOP', $pid; exit 0;
}
elsif ($mode eq 'deeptree') {
  my ($dir, $levels) = @args; chdir $dir or die "chdir $dir: $!\n"; my $name = 'd' x 250;
  for (1 .. $levels) { mkdir $name or die "mkdir: $!\n"; chdir $name or die "chdir: $!\n" }
} else { die "unknown mode $mode\n" }
print "adversary: $mode done\n";
`;

/** Where the program is put inside the machine. */
export const ADVERSARY_PATH = '/tmp/adversary.pl';

/** Types the program into the machine through the reader's own terminal (a line at a time, as pasted text). */
export async function installAdversary(reader: TerminalReader): Promise<void> {
  const encoded = Buffer.from(ADVERSARY).toString('base64');
  await reader.run(`rm -f ${ADVERSARY_PATH}.b64`);
  for (let offset = 0; offset < encoded.length; offset += 700) {
    await reader.run(`printf %s '${encoded.slice(offset, offset + 700)}' >> ${ADVERSARY_PATH}.b64`);
  }
  const check = await reader.run(`base64 -d ${ADVERSARY_PATH}.b64 > ${ADVERSARY_PATH} && perl -c ${ADVERSARY_PATH} 2>&1`);
  if (!check.output.includes('syntax OK')) throw new Error(`the adversary did not arrive intact: ${check.output}`);
}

/** Runs an attack that must finish (stop the agent, write a newline) and checks that it did. */
export async function runAttack(reader: TerminalReader, mode: string, args: (string | number)[] = []): Promise<void> {
  const { output } = await reader.run(attack(mode, args, 10));
  if (!output.includes(`adversary: ${mode} done`)) throw new Error(`the attack "${mode}" failed inside the machine: ${output}`);
}

/** Stops the agent (SIGSTOP); resolves a moment after the machine said it would. */
export async function stopAgent(reader: TerminalReader, type: (text: string) => void): Promise<void> {
  const from = reader.cursor.text;
  type(`${attack('stop', [], 10)}\r`);
  await reader.waitFor('adversary: stopping the agent', { from });
  await new Promise((resolve) => setTimeout(resolve, 1500));
}

/** The command that runs one attack as root inside, for at most `seconds`. */
export function attack(mode: string, args: (string | number)[], seconds: number): string {
  return `sudo timeout ${seconds} perl ${ADVERSARY_PATH} ${mode} ${args.join(' ')}`;
}

import { attachTerminal, createSandbox, type AttachedTerminal, type CreatedSandbox, type ServerAddress } from './server-client.ts';

export interface HostileMachine extends AttachedTerminal {
  sandbox: CreatedSandbox;
}

/** A new machine with terminal "1" attached, its prompt reached and the adversary installed. */
export async function hostileMachine(server: ServerAddress): Promise<HostileMachine> {
  const sandbox = await createSandbox(server);
  const terminal = await attachTerminal(server, sandbox, '1');
  await terminal.reader.waitForPrompt();
  await installAdversary(terminal.reader);
  return { ...terminal, sandbox };
}

/** The server's resident memory, in MiB (from its own metrics). */
export async function serverRssMiB(server: { metric(name: string): Promise<number> }): Promise<number> {
  return (await server.metric('process_resident_memory_bytes')) / 2 ** 20;
}

/** GET healthz answers 200 (the server is up and serving). */
export async function healthy(server: ServerAddress): Promise<boolean> {
  const response = await fetch(new URL('healthz', server.url)).catch(() => undefined);
  return response?.status === 200;
}
