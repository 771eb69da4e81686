// terminal-keeper: the front of the agent inside a machine. It owns the
// machine's terminals (ptys, their login shells, their recent output) and the
// connection to the host, and carries every keystroke and every byte of output
// itself; the Node agent behind it (main.ts) does all the rest: it decides
// what a shell is (cgroups, user, environment), runs exercise commands,
// describes processes, starts dockerd, and writes the logs.
//
// Why a small C program on the echo path: a keystroke's echo crosses this
// process twice. On this kind of host (a nested VM where every wake-up and
// system call is dear) a Node process woken from idle spends 200–300 µs of
// CPU per wake-up running its stream machinery cold; this loop spends a few
// system calls. Nothing else changed: the host speaks the same protocol
// (contracts/agent-protocol.ts) to the same socket, and frames it does not
// carry itself pass through to the Node agent unchanged.
//
//   host ⇄ (listen:/unix:/stdio transport) ⇄ keeper ⇄ ptys ⇄ shells
//                                             ⇅ link (fd 3 of the agent, a socketpair)
//                                            Node agent
//
// Frames on the link have the host protocol's layout; the kinds the host
// never sees (LINK_* below) are mirrored in agent/keeper-link.ts, which a
// unit test holds to this file.
//
// The keeper carries: Data, Pause, Resume, Close and (well-formed) Resize for its terminals; the
// Hello (it knows the terminals) and their replay after it; Opened and Exit
// (it starts and reaps the shells). Everything else the host sends (Open,
// Resize, Exec, Snapshot, anything unexpected) goes to the Node agent, and
// everything the agent sends that is not a LINK_* request goes to the host.
//
// The Node agent may die (a bug of ours, root inside killing it): the keeper
// starts it again, tells the new one which terminals run (LINK_ADOPT), and
// answers with an Error what the dead one had been asked and not answered
// (an Open, an Exec, a Snapshot), so that the host asks again rather than
// waits. The shells, their screens and the host connection never notice.
// Only an agent that keeps dying (AGENT_RESTARTS within AGENT_RESTART_WINDOW_MS)
// or that dies before it ever served ends the machine.
//
// Trust: the host is the server; root inside the machine can also connect to
// the socket (and then takes over, as a new host does), or kill this process
// (and the machine ends). Every length read from a peer is checked before it
// is used.
//
// Usage: terminal-keeper AGENT_COMMAND [ARG]...   (the Node agent, with fd 3 the link)
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

// ---- The protocol (contracts/agent-protocol.ts) -----------------------------
#define PROTOCOL_VERSION 2
#define HEADER_BYTES 9
#define MAX_FRAME_BYTES (1 << 20)
#define MAX_DATA_PAYLOAD (64 * 1024)
#define TERMINAL_REPLAY_BYTES (64 * 1024)
#define MAX_OPEN_TERMINALS 256
// contracts/sizes.ts
#define MIN_COLS 2
#define MAX_COLS 500
#define MIN_ROWS 1
#define MAX_ROWS 200

enum {
  K_HELLO = 1, K_OPEN = 2, K_OPENED = 3, K_DATA = 4, K_RESIZE = 5, K_PAUSE = 6, K_RESUME = 7, K_CLOSE = 8,
  K_EXIT = 9, K_ERROR = 10, K_LOG = 11, K_EXEC = 12, K_EXEC_DONE = 13, K_SNAPSHOT = 14, K_SNAPSHOT_DONE = 15,
  K_LAST_HOST_KIND = 15,
};

// ---- The link to the Node agent (agent/keeper-link.ts) ----------------------
enum {
  /** agent → keeper, channel 0: set up, serve the host. NUL-separated: transport, hostname. */
  LINK_READY = 100,
  /** agent → keeper: start a shell on a new pty. u16 cols, u16 rows, then NUL-terminated: name, cwd, argv…, "", env… */
  LINK_SPAWN = 101,
  /** keeper → agent: the shell runs. u32 pid, then the tty's path. */
  LINK_SPAWNED = 102,
  /** keeper → agent: the shell could not start (the host has been sent an Error). */
  LINK_SPAWN_FAILED = 103,
  /** agent → keeper: a checked new window size. u16 cols, u16 rows. */
  LINK_SET_SIZE = 104,
  /** keeper → agent: the shell is gone (the host has been sent its Exit); the same JSON Exit. */
  LINK_EXITED = 105,
  /** keeper → agent: a host connection came or went (for its logs). u8 1 = came, 0 = went. */
  LINK_HOST = 106,
  /** keeper → a restarted agent: a terminal that runs already. u32 pid, then NUL-terminated: name, tty. */
  LINK_ADOPT = 107,
};

/** The agent restarted more than this many times within the window: it cannot live, the machine ends. */
#define AGENT_RESTARTS 3
#define AGENT_RESTART_WINDOW_MS 60000
/** Set in a restarted agent's environment: it finds the machine made (dockerd running, files written). */
#define AGENT_RESTART_ENV "SANDBOX_AGENT_RESTART"
/** Requests of the host's the agent has not answered yet, remembered to answer them if it dies. */
#define MAX_UNANSWERED 1024

#define LINK_FD 3
/** The host's socket's unsent bytes past which no pty is read (its reader is behind). */
#define HOST_HIGH_WATER (256 * 1024)
#define HOST_LOW_WATER (64 * 1024)
/** Input for one terminal its shell has not read yet; beyond it, input is dropped (and said). */
#define MAX_PENDING_INPUT (4 * 1024 * 1024)
/** After its shell exited, how long a terminal's last output may take to come out of the pty. */
#define EXIT_DRAIN_MS 200
/**
 * Output that trickles (a program writing line by line to its tty, as `seq`
 * does) is read in pieces this small or smaller only once per REST_MS: read
 * at once, each line would be a frame, and under emulation (a VM guest) the
 * writer and this loop took turns on the CPU for every line (3.4 MB of `seq`
 * took 98 s). Never the echo of what was just typed, nor output after a quiet
 * spell: those go at once.
 */
#define SMALL_READ_BYTES 1024
#define REST_MS 1

// ---- Byte queues -------------------------------------------------------------
typedef struct {
  char *data;
  size_t start, end, capacity;
} Queue;

static size_t queue_size(const Queue *q) { return q->end - q->start; }

static void queue_reserve(Queue *q, size_t more) {
  if (q->end + more <= q->capacity) return;
  if (q->start > 0) {
    memmove(q->data, q->data + q->start, q->end - q->start);
    q->end -= q->start;
    q->start = 0;
    if (q->end + more <= q->capacity) return;
  }
  size_t capacity = q->capacity ? q->capacity : 4096;
  while (capacity < q->end + more) capacity *= 2;
  char *data = realloc(q->data, capacity);
  if (!data) {
    fputs("terminal-keeper: out of memory\n", stderr);
    exit(70);
  }
  q->data = data;
  q->capacity = capacity;
}

static void queue_push(Queue *q, const void *bytes, size_t length) {
  queue_reserve(q, length);
  memcpy(q->data + q->end, bytes, length);
  q->end += length;
}

static void queue_drop(Queue *q, size_t count) {
  q->start += count;
  if (q->start == q->end) q->start = q->end = 0;
}

static void queue_free(Queue *q) {
  free(q->data);
  memset(q, 0, sizeof *q);
}

static void put_u32(unsigned char *at, uint32_t value) {
  at[0] = value >> 24;
  at[1] = value >> 16;
  at[2] = value >> 8;
  at[3] = value;
}

static uint32_t get_u32(const unsigned char *at) {
  return (uint32_t)at[0] << 24 | (uint32_t)at[1] << 16 | (uint32_t)at[2] << 8 | at[3];
}

static uint16_t get_u16(const unsigned char *at) { return (uint16_t)(at[0] << 8 | at[1]); }

// ---- State -----------------------------------------------------------------------
typedef struct {
  uint32_t channel;
  char name[32];
  pid_t pid;
  int master; // -1 once closed
  char tty[64];
  unsigned cols, rows;
  int paused_by_host;
  int hung_up;
  int exited; // reaped: status is set
  int status;
  int64_t drain_deadline; // ms, once exited with the pty still open
  unsigned char *ring;
  size_t ring_head, ring_length;
  Queue input;
  int watching_out; // EPOLLOUT asked for on the master (input waits)
  int typed_since_read; // input went in since the last read: what comes next is its echo
  int64_t last_read_ms; // when output was last read
  int64_t resting_until_ms; // not read before then (trickling output is gathered, see read_master)
} Terminal;

typedef struct {
  int fd; // -1: none
  int write_fd; // stdio: fd 1; sockets: the same as fd
  Queue out;
  Queue in;
} Peer;

static Terminal *terminals[MAX_OPEN_TERMINALS];
static int epoll_fd, signal_fd, listen_fd = -1;
static Peer host = {.fd = -1, .write_fd = -1};
static Peer link_peer = {.fd = LINK_FD, .write_fd = LINK_FD};
static pid_t agent_pid;
static char **agent_command;
static int agent_served; // the agent sent Ready once: it can serve, so a death is worth a restart
static int64_t agent_restarts_ms[AGENT_RESTARTS]; // when the last restarts were, oldest first
static int agent_restart_count;
typedef struct {
  uint32_t channel;
  int kind; // K_OPEN, K_EXEC or K_SNAPSHOT
} Unanswered;
static Unanswered unanswered[MAX_UNANSWERED];
static int unanswered_count;
static int reconnectable;
static char hostname[256] = "";
static int host_blocked; // the host's queue is over its high water: ptys are not read

// epoll tags: what became ready.
enum { TAG_LISTEN = 1, TAG_HOST, TAG_LINK, TAG_SIGNAL, TAG_MASTER };
#define TAG(kind, index) ((uint64_t)(kind) << 32 | (uint32_t)(index))

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void send_frame(Peer *peer, int kind, uint32_t channel, const void *payload, size_t length);
static void stop_all(int code);
static void serve(const unsigned char *payload, size_t length);

/**
 * A structured log record (as the agent's log.ts writes them): to the host
 * when one is connected, else a JSON line on stderr. `error`, when not NULL, is
 * a printf format for the record's error field. Texts are ours: ASCII, no
 * quotes or backslashes; channel names are [a-z0-9-].
 */
static void log_record(const char *level, const char *msg, const char *error, ...) {
  char detail[300] = "", json[700];
  if (error) {
    char text[256];
    va_list args;
    va_start(args, error);
    vsnprintf(text, sizeof text, error, args);
    va_end(args);
    snprintf(detail, sizeof detail, ",\"error\":\"%s\"", text);
  }
  int length = snprintf(json, sizeof json, "{\"level\":\"%s\",\"msg\":\"%s\",\"source\":\"terminal-keeper\"%s}", level, msg, detail);
  if (host.fd >= 0) send_frame(&host, K_LOG, 0, json, (size_t)length);
  else fprintf(stderr, "%s\n", json);
}

// ---- Writing to peers --------------------------------------------------------------
static void watch(int fd, uint32_t events, uint64_t tag) {
  struct epoll_event event = {.events = events, .data.u64 = tag};
  if (epoll_ctl(epoll_fd, EPOLL_CTL_MOD, fd, &event) < 0 && errno == ENOENT) epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &event);
}

static void update_masters(void);

static uint32_t peer_events(Peer *peer) {
  uint32_t events = EPOLLIN;
  if (queue_size(&peer->out) > 0) events |= EPOLLOUT;
  // Past its high water, nothing more is read from the agent for the host either.
  if (peer == &link_peer && host_blocked) events &= ~EPOLLIN;
  return events;
}

static void rewatch_peer(Peer *peer) {
  if (peer->fd < 0) return;
  if (peer == &host && host.write_fd != host.fd) {
    watch(host.fd, EPOLLIN, TAG(TAG_HOST, 0));
    watch(host.write_fd, queue_size(&host.out) ? EPOLLOUT : 0, TAG(TAG_HOST, 1));
    return;
  }
  watch(peer->fd, peer_events(peer), TAG(peer == &host ? TAG_HOST : TAG_LINK, 0));
}

static void host_gone(const char *why);
static void check_host_water(void);

/** The agent's end of the link closed or failed: nothing more goes to it until it is started again. */
static void link_down(void) {
  if (link_peer.fd < 0) return;
  epoll_ctl(epoll_fd, EPOLL_CTL_DEL, link_peer.fd, NULL);
  queue_free(&link_peer.out);
  link_peer.fd = link_peer.write_fd = -1;
  // An agent without its link serves nothing: if it is not on its way out already, it is sent.
  if (agent_pid > 0) kill(agent_pid, SIGKILL);
}

/** Writes what the peer's queue holds, as far as its socket takes it. */
static void flush_peer(Peer *peer) {
  while (queue_size(&peer->out) > 0) {
    ssize_t written = write(peer->write_fd, peer->out.data + peer->out.start, queue_size(&peer->out));
    if (written < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) break;
      if (peer == &host) {
        host_gone(strerror(errno));
        return;
      }
      // The agent is dying (its SIGCHLD restarts it, with a new link).
      link_down();
      return;
    }
    queue_drop(&peer->out, (size_t)written);
  }
  if (peer == &host) check_host_water();
  rewatch_peer(peer);
}

/** Past its high water, the host's queue holds every pty back (and the agent's output); below its low water, not. */
static void check_host_water(void) {
  int blocked = queue_size(&host.out) > HOST_HIGH_WATER || (host_blocked && queue_size(&host.out) > HOST_LOW_WATER);
  if (blocked == host_blocked) return;
  host_blocked = blocked;
  update_masters();
  rewatch_peer(&link_peer);
}

/** Queues one frame for `peer` and writes at once when nothing waits before it. */
static void send_frame(Peer *peer, int kind, uint32_t channel, const void *payload, size_t length) {
  if (peer->fd < 0) return;
  unsigned char header[HEADER_BYTES];
  put_u32(header, (uint32_t)(1 + 4 + length));
  header[4] = (unsigned char)kind;
  put_u32(header + 5, channel);
  if (queue_size(&peer->out) > 0) {
    // Behind others: in order, after them.
    queue_push(&peer->out, header, HEADER_BYTES);
    if (length) queue_push(&peer->out, payload, length);
    if (peer == &host) check_host_water();
    return;
  }
  // Nothing waits: straight to the socket, one system call, no copy; only what it refuses is queued.
  struct iovec parts[2] = {{header, HEADER_BYTES}, {(void *)payload, length}};
  ssize_t written;
  do written = writev(peer->write_fd, parts, length ? 2 : 1);
  while (written < 0 && errno == EINTR);
  if (written < 0 && errno != EAGAIN) {
    queue_push(&peer->out, header, HEADER_BYTES); // flush_peer meets the same error and says it
    flush_peer(peer);
    return;
  }
  size_t done = written < 0 ? 0 : (size_t)written;
  if (done < HEADER_BYTES) queue_push(&peer->out, header + done, HEADER_BYTES - done);
  size_t payload_done = done > HEADER_BYTES ? done - HEADER_BYTES : 0;
  if (payload_done < length) queue_push(&peer->out, (const char *)payload + payload_done, length - payload_done);
  if (queue_size(&peer->out) > 0) flush_peer(peer);
}

static void send_error(uint32_t channel, const char *message) {
  char json[600];
  int length = snprintf(json, sizeof json, "{\"message\":\"%s\"}", message);
  send_frame(&host, K_ERROR, channel, json, (size_t)length);
}

// ---- Terminals ---------------------------------------------------------------------
static int find_terminal(uint32_t channel) {
  for (int i = 0; i < MAX_OPEN_TERMINALS; i++)
    if (terminals[i] && terminals[i]->channel == channel) return i;
  return -1;
}

static void ring_append(Terminal *t, const unsigned char *bytes, size_t length) {
  if (length > TERMINAL_REPLAY_BYTES) {
    bytes += length - TERMINAL_REPLAY_BYTES;
    length = TERMINAL_REPLAY_BYTES;
  }
  size_t first = TERMINAL_REPLAY_BYTES - t->ring_head;
  if (first > length) first = length;
  memcpy(t->ring + t->ring_head, bytes, first);
  memcpy(t->ring, bytes + first, length - first);
  t->ring_head = (t->ring_head + length) % TERMINAL_REPLAY_BYTES;
  t->ring_length = t->ring_length + length > TERMINAL_REPLAY_BYTES ? TERMINAL_REPLAY_BYTES : t->ring_length + length;
}

/** Which events a terminal's master is watched for. */
static void rewatch_master(int index) {
  Terminal *t = terminals[index];
  if (!t || t->master < 0) return;
  uint32_t events = 0;
  // With no host, output is read on (into the replay ring): nobody holds a shell back.
  if ((host.fd < 0 || (!host_blocked && !t->paused_by_host)) && t->resting_until_ms == 0) events |= EPOLLIN;
  if (t->watching_out) events |= EPOLLOUT;
  watch(t->master, events, TAG(TAG_MASTER, index));
}

static void update_masters(void) {
  for (int i = 0; i < MAX_OPEN_TERMINALS; i++) rewatch_master(i);
}

static void close_master(Terminal *t) {
  if (t->master < 0) return;
  epoll_ctl(epoll_fd, EPOLL_CTL_DEL, t->master, NULL);
  close(t->master);
  t->master = -1;
  queue_free(&t->input);
  t->watching_out = 0;
}

/** Reads what the pty has; returns 0 once it will give nothing more (EIO: every slave closed). */
static int read_master(int index, int once) {
  Terminal *t = terminals[index];
  static unsigned char frame[HEADER_BYTES + MAX_DATA_PAYLOAD];
  for (;;) {
    ssize_t count = read(t->master, frame + HEADER_BYTES, MAX_DATA_PAYLOAD);
    if (count < 0 && errno == EINTR) continue;
    if (count < 0 && errno == EAGAIN) return 1;
    if (count <= 0) return 0;
    ring_append(t, frame + HEADER_BYTES, (size_t)count);
    send_frame(&host, K_DATA, t->channel, frame + HEADER_BYTES, (size_t)count);
    int64_t now = now_ms();
    int trickling = count <= SMALL_READ_BYTES && !t->typed_since_read && now - t->last_read_ms <= REST_MS;
    t->typed_since_read = 0;
    t->last_read_ms = now;
    if (trickling && once) {
      // Let the writer go on for a moment: the next read takes what it wrote meanwhile, in one frame.
      t->resting_until_ms = now + REST_MS + 1;
      rewatch_master(index);
      return 1;
    }
    if (once || host_blocked || t->paused_by_host) return 1;
  }
}

static void write_input(Terminal *t) {
  while (queue_size(&t->input) > 0) {
    ssize_t written = write(t->master, t->input.data + t->input.start, queue_size(&t->input));
    if (written < 0 && errno == EINTR) continue;
    if (written < 0 && errno == EAGAIN) break;
    if (written < 0) {
      // EIO: the line was hung up or the shell is gone; its exit comes by SIGCHLD.
      queue_free(&t->input);
      break;
    }
    queue_drop(&t->input, (size_t)written);
  }
  int want_out = queue_size(&t->input) > 0;
  if (want_out != t->watching_out) {
    t->watching_out = want_out;
    rewatch_master(find_terminal(t->channel));
  }
}

static void type_into(Terminal *t, const unsigned char *bytes, size_t length) {
  if (t->master < 0 || length == 0) return;
  if (queue_size(&t->input) + length > MAX_PENDING_INPUT) {
    log_record("warn", "input dropped: the terminal's shell does not read what it is sent", "terminal %s", t->name);
    return;
  }
  int was_empty = queue_size(&t->input) == 0;
  t->typed_since_read = 1;
  if (t->resting_until_ms) {
    // Its echo is awaited: read at once.
    t->resting_until_ms = 0;
    rewatch_master(find_terminal(t->channel));
  }
  queue_push(&t->input, bytes, length);
  if (was_empty) write_input(t);
}

/** Hangs the line up, as closing a terminal window does: the master side closed, then SIGHUP (see agent.ts). */
static void hang_up(Terminal *t) {
  if (t->hung_up) return;
  t->hung_up = 1;
  close_master(t);
  if (!t->exited) kill(t->pid, SIGHUP);
}

/** The shell was reaped and its output is all out: tell the host and the agent, forget it. */
static void finish_terminal(int index) {
  Terminal *t = terminals[index];
  if (t->master >= 0) read_master(index, 0);
  char json[96];
  int length = WIFSIGNALED(t->status) ? snprintf(json, sizeof json, "{\"code\":null,\"signal\":%d}", WTERMSIG(t->status))
                                      : snprintf(json, sizeof json, "{\"code\":%d,\"signal\":null}", WEXITSTATUS(t->status));
  send_frame(&host, K_EXIT, t->channel, json, (size_t)length);
  send_frame(&link_peer, LINK_EXITED, t->channel, json, (size_t)length);
  close_master(t);
  free(t->ring);
  free(t);
  terminals[index] = NULL;
}

static int add_terminal(Terminal *t) {
  for (int i = 0; i < MAX_OPEN_TERMINALS; i++)
    if (!terminals[i]) {
      terminals[i] = t;
      return i;
    }
  return -1;
}

/** LINK_SPAWN: forkpty, then the agent's command line in the child. */
static void spawn_shell(uint32_t channel, const unsigned char *payload, size_t length) {
  // Split the NUL-terminated fields.
  char *fields[1024];
  size_t count = 0;
  if (length < 4 || payload[length - 1] != '\0') {
    send_error(channel, "the agent sent a malformed spawn request");
    send_frame(&link_peer, LINK_SPAWN_FAILED, channel, NULL, 0);
    return;
  }
  unsigned cols = get_u16(payload), rows = get_u16(payload + 2);
  char *text = malloc(length - 4);
  memcpy(text, payload + 4, length - 4);
  for (size_t at = 0; at < length - 4 && count < 1023; at += strlen(text + at) + 1) fields[count++] = text + at;
  // name, cwd, argv…, "", env…
  size_t argv_end = 2;
  while (argv_end < count && fields[argv_end][0] != '\0') argv_end++;
  if (count < 3 || argv_end == 2 || argv_end >= count || find_terminal(channel) >= 0) {
    free(text);
    send_error(channel, find_terminal(channel) >= 0 ? "channel is not free" : "the agent sent a malformed spawn request");
    send_frame(&link_peer, LINK_SPAWN_FAILED, channel, NULL, 0);
    return;
  }
  char *argv[1024], *envp[1024];
  size_t argc = 0, envc = 0;
  for (size_t i = 2; i < argv_end; i++) argv[argc++] = fields[i];
  argv[argc] = NULL;
  for (size_t i = argv_end + 1; i < count; i++) envp[envc++] = fields[i];
  envp[envc] = NULL;

  Terminal *t = calloc(1, sizeof *t);
  t->ring = malloc(TERMINAL_REPLAY_BYTES);
  struct winsize size = {.ws_col = (unsigned short)cols, .ws_row = (unsigned short)rows};
  int master;
  pid_t pid = forkpty(&master, t->tty, NULL, &size);
  if (pid == 0) {
    // The shell: default signals, its own directory and environment.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    if (chdir(fields[1]) < 0) (void)!chdir("/");
    execve(argv[0], argv, envp);
    fprintf(stderr, "terminal-keeper: cannot start %s: %s\r\n", argv[0], strerror(errno));
    _exit(127);
  }
  if (pid < 0) {
    char message[200];
    snprintf(message, sizeof message, "cannot start a shell: %s", strerror(errno));
    free(t->ring);
    free(t);
    free(text);
    send_error(channel, message);
    send_frame(&link_peer, LINK_SPAWN_FAILED, channel, NULL, 0);
    return;
  }
  fcntl(master, F_SETFD, FD_CLOEXEC);
  fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
  t->channel = channel;
  snprintf(t->name, sizeof t->name, "%s", fields[0]);
  free(text);
  t->pid = pid;
  t->master = master;
  t->cols = cols;
  t->rows = rows;
  int index = add_terminal(t);
  if (index < 0) {
    close(master);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    free(t->ring);
    free(t);
    send_error(channel, "too many terminals");
    send_frame(&link_peer, LINK_SPAWN_FAILED, channel, NULL, 0);
    return;
  }
  // Opened before any of its output: the master is watched only from here.
  char json[128];
  int json_length = snprintf(json, sizeof json, "{\"pid\":%d,\"tty\":\"%s\"}", pid, t->tty);
  send_frame(&host, K_OPENED, channel, json, (size_t)json_length);
  unsigned char reply[4 + sizeof t->tty];
  put_u32(reply, (uint32_t)pid);
  size_t tty_length = strlen(t->tty);
  memcpy(reply + 4, t->tty, tty_length);
  send_frame(&link_peer, LINK_SPAWNED, channel, reply, 4 + tty_length);
  rewatch_master(index);
}

// ---- The host ----------------------------------------------------------------------
/** A new host: Hello with the terminals still open, then what each printed lately. */
static void greet_host(void) {
  Queue json = {0};
  char part[256];
  int length = snprintf(part, sizeof part, "{\"protocol\":%d,\"pid\":%d,\"hostname\":\"%s\",\"terminals\":[", PROTOCOL_VERSION, getpid(), hostname);
  queue_push(&json, part, (size_t)length);
  int first = 1;
  for (int i = 0; i < MAX_OPEN_TERMINALS; i++) {
    Terminal *t = terminals[i];
    if (!t || t->hung_up || t->exited) continue;
    length = snprintf(part, sizeof part, "%s{\"channel\":%u,\"name\":\"%s\",\"pid\":%d,\"tty\":\"%s\",\"cols\":%u,\"rows\":%u}", first ? "" : ",", t->channel,
                      t->name, t->pid, t->tty, t->cols, t->rows);
    queue_push(&json, part, (size_t)length);
    first = 0;
  }
  queue_push(&json, "]}", 2);
  send_frame(&host, K_HELLO, 0, json.data, queue_size(&json));
  queue_free(&json);
  for (int i = 0; i < MAX_OPEN_TERMINALS; i++) {
    Terminal *t = terminals[i];
    if (!t || t->hung_up || t->exited || t->ring_length == 0) continue;
    size_t start = (t->ring_head + TERMINAL_REPLAY_BYTES - t->ring_length) % TERMINAL_REPLAY_BYTES;
    size_t first_part = TERMINAL_REPLAY_BYTES - start < t->ring_length ? TERMINAL_REPLAY_BYTES - start : t->ring_length;
    send_frame(&host, K_DATA, t->channel, t->ring + start, first_part);
    if (first_part < t->ring_length) send_frame(&host, K_DATA, t->channel, t->ring, t->ring_length - first_part);
  }
}

static void host_gone(const char *why) {
  if (host.fd < 0) return;
  epoll_ctl(epoll_fd, EPOLL_CTL_DEL, host.fd, NULL);
  if (host.write_fd != host.fd) epoll_ctl(epoll_fd, EPOLL_CTL_DEL, host.write_fd, NULL);
  close(host.fd);
  if (host.write_fd != host.fd) close(host.write_fd);
  host.fd = host.write_fd = -1;
  queue_free(&host.out);
  queue_free(&host.in);
  host_blocked = 0;
  // What it asked is nobody's business now (a later answer goes to the next host, who will not wait for it).
  unanswered_count = 0;
  // Nothing holds the shells back any more: their output goes to the rings.
  for (int i = 0; i < MAX_OPEN_TERMINALS; i++)
    if (terminals[i]) terminals[i]->paused_by_host = 0;
  update_masters();
  rewatch_peer(&link_peer);
  unsigned char gone = 0;
  send_frame(&link_peer, LINK_HOST, 0, &gone, 1);
  if (!reconnectable) {
    fprintf(stderr, "{\"level\":\"info\",\"msg\":\"host gone (%s), agent exiting\",\"source\":\"terminal-keeper\"}\n", why);
    stop_all(0);
  }
}

static void host_came(int read_fd, int write_fd) {
  int took_over = host.fd >= 0;
  if (took_over) {
    // The newest connection wins: the old one is a server that died or is being replaced.
    int was_reconnectable = reconnectable;
    reconnectable = 1;
    host_gone("replaced");
    reconnectable = was_reconnectable;
  }
  fcntl(read_fd, F_SETFL, fcntl(read_fd, F_GETFL) | O_NONBLOCK);
  if (write_fd != read_fd) fcntl(write_fd, F_SETFL, fcntl(write_fd, F_GETFL) | O_NONBLOCK);
  host.fd = read_fd;
  host.write_fd = write_fd;
  struct epoll_event event = {.events = EPOLLIN, .data.u64 = TAG(TAG_HOST, 0)};
  epoll_ctl(epoll_fd, EPOLL_CTL_ADD, read_fd, &event);
  if (write_fd != read_fd) {
    struct epoll_event out = {.events = 0, .data.u64 = TAG(TAG_HOST, 1)};
    epoll_ctl(epoll_fd, EPOLL_CTL_ADD, write_fd, &out);
  }
  greet_host();
  if (took_over) log_record("warn", "a new host connection takes over from the current one", NULL);
  unsigned char came = 1;
  send_frame(&link_peer, LINK_HOST, 0, &came, 1);
  update_masters();
}

/**
 * A Resize's JSON as the server writes it, {"cols":N,"rows":M} (either order,
 * blanks allowed, nothing else): 1 with the sizes when it is one and in
 * bounds. Anything else goes to the Node agent, which answers it with the
 * precise error (or applies an odd but valid one).
 */
static int parse_size(const unsigned char *json, size_t length, unsigned *cols, unsigned *rows) {
  size_t at = 0;
  int have_cols = 0, have_rows = 0;
#define SKIP_BLANKS() while (at < length && (json[at] == ' ' || json[at] == '\t' || json[at] == '\n' || json[at] == '\r')) at++
  SKIP_BLANKS();
  if (at >= length || json[at++] != '{') return 0;
  for (int field = 0; field < 2; field++) {
    SKIP_BLANKS();
    unsigned *target;
    if (length - at >= 6 && memcmp(json + at, "\"cols\"", 6) == 0 && !have_cols) {
      target = cols;
      have_cols = 1;
    } else if (length - at >= 6 && memcmp(json + at, "\"rows\"", 6) == 0 && !have_rows) {
      target = rows;
      have_rows = 1;
    } else {
      return 0;
    }
    at += 6;
    SKIP_BLANKS();
    if (at >= length || json[at++] != ':') return 0;
    SKIP_BLANKS();
    unsigned value = 0;
    size_t digits = 0;
    while (at < length && json[at] >= '0' && json[at] <= '9' && digits < 6) value = value * 10 + (json[at++] - '0'), digits++;
    if (digits == 0 || (at < length && json[at] >= '0' && json[at] <= '9')) return 0;
    *target = value;
    SKIP_BLANKS();
    if (at >= length) return 0;
    if (field == 0 && json[at++] != ',') return 0;
  }
  if (at >= length || json[at++] != '}') return 0;
  SKIP_BLANKS();
#undef SKIP_BLANKS
  return at == length && *cols >= MIN_COLS && *cols <= MAX_COLS && *rows >= MIN_ROWS && *rows <= MAX_ROWS;
}

static void set_size(Terminal *t, unsigned cols, unsigned rows) {
  t->cols = cols;
  t->rows = rows;
  struct winsize size = {.ws_col = (unsigned short)cols, .ws_row = (unsigned short)rows};
  ioctl(t->master, TIOCSWINSZ, &size);
}

static void host_frame(int kind, uint32_t channel, const unsigned char *payload, size_t length) {
  if (kind == K_RESIZE) {
    // Here, not through the agent: keys typed after a resize must reach the shell after it.
    int index = find_terminal(channel);
    Terminal *t = index >= 0 ? terminals[index] : NULL;
    unsigned cols, rows;
    if (t && t->hung_up) return;
    if (t && !t->exited && t->master >= 0 && parse_size(payload, length, &cols, &rows)) {
      set_size(t, cols, rows);
      return;
    }
  }
  if (kind == K_DATA || kind == K_PAUSE || kind == K_RESUME || kind == K_CLOSE) {
    int index = find_terminal(channel);
    Terminal *t = index >= 0 ? terminals[index] : NULL;
    if (!t || t->exited) {
      // Frames may cross an Exit on the wire: input or a close for a shell that just ended is dropped.
      if (kind == K_DATA || kind == K_CLOSE) return;
      char message[128];
      snprintf(message, sizeof message, "%s for channel %u, which has no terminal", kind == K_PAUSE ? "Pause" : "Resume", channel);
      send_error(channel, message);
      return;
    }
    if (t->hung_up) return;
    if (kind == K_DATA) type_into(t, payload, length);
    else if (kind == K_CLOSE) hang_up(t);
    else {
      t->paused_by_host = kind == K_PAUSE;
      rewatch_master(index);
    }
    return;
  }
  // Everything else is the agent's to answer, as sent.
  if ((kind == K_OPEN || kind == K_EXEC || kind == K_SNAPSHOT) && unanswered_count < MAX_UNANSWERED) {
    unanswered[unanswered_count++] = (Unanswered){.channel = channel, .kind = kind};
  }
  send_frame(&link_peer, kind, channel, payload, length);
}

/** The agent answered (or the keeper will) what the host asked on `channel`. */
static void answered(uint32_t channel) {
  for (int i = 0; i < unanswered_count;) {
    if (unanswered[i].channel == channel) unanswered[i] = unanswered[--unanswered_count];
    else i++;
  }
}

/**
 * Cuts a peer's input into frames; returns 0 when the stream is unreadable.
 * `host_side`: kinds the host may send; else the link's.
 */
static int take_frames(Peer *peer, int host_side) {
  while (queue_size(&peer->in) >= 4) {
    const unsigned char *at = (const unsigned char *)peer->in.data + peer->in.start;
    uint32_t length = get_u32(at);
    if (length < 5 || (uint64_t)length + 4 > MAX_FRAME_BYTES) {
      if (host_side) log_record("error", "unreadable stream from the host, closing", "frame length %u", length);
      return 0;
    }
    if (queue_size(&peer->in) < 4 + (size_t)length) return 1;
    int kind = at[4];
    uint32_t channel = get_u32(at + 5);
    const unsigned char *payload = at + HEADER_BYTES;
    size_t payload_length = length - 5;
    if (host_side) {
      if (kind < 1 || kind > K_LAST_HOST_KIND) {
        log_record("error", "unreadable stream from the host, closing", "unknown frame kind %d", kind);
        return 0;
      }
      host_frame(kind, channel, payload, payload_length);
      if (peer->fd < 0) return 1; // the host went while its frame was handled
    } else if (kind == LINK_READY) {
      // A restarted agent says Ready too: the host is served already.
      agent_served = 1;
      if (listen_fd < 0 && host.fd < 0) serve(payload, payload_length);
    } else if (kind == LINK_SPAWN) {
      answered(channel);
      spawn_shell(channel, payload, payload_length);
    } else if (kind == LINK_SET_SIZE && payload_length == 4) {
      int index = find_terminal(channel);
      if (index >= 0 && terminals[index]->master >= 0) set_size(terminals[index], get_u16(payload), get_u16(payload + 2));
    } else if (kind >= 1 && kind <= K_LAST_HOST_KIND) {
      if (kind == K_ERROR || kind == K_EXEC_DONE || kind == K_SNAPSHOT_DONE) answered(channel);
      if (kind == K_DATA) {
        // A notice of the agent's for a terminal (a fork bomb stopped): kept for replay too.
        int index = find_terminal(channel);
        if (index >= 0) ring_append(terminals[index], payload, payload_length);
      }
      // With no host, the agent's log records go where the keeper's own go: stderr, a JSON line each.
      if (kind == K_LOG && host.fd < 0) fprintf(stderr, "%.*s\n", (int)payload_length, (const char *)payload);
      else send_frame(&host, kind, channel, payload, payload_length);
    } else {
      fprintf(stderr, "terminal-keeper: unexpected frame %d from the agent\n", kind);
    }
    queue_drop(&peer->in, 4 + (size_t)length);
  }
  return 1;
}

/** Reads a peer; returns 0 at its end or on an unreadable stream. */
static int read_peer(Peer *peer, int host_side) {
  for (;;) {
    queue_reserve(&peer->in, 64 * 1024);
    ssize_t count = read(peer->fd, peer->in.data + peer->in.end, peer->in.capacity - peer->in.end);
    if (count < 0 && errno == EINTR) continue;
    if (count < 0 && errno == EAGAIN) return 1;
    if (count <= 0) return 0;
    peer->in.end += (size_t)count;
    if (!take_frames(peer, host_side)) return 0;
    if (peer->fd < 0) return 1;
    if ((size_t)count < 64 * 1024) return 1;
  }
}

// ---- Start, transports, stop ------------------------------------------------------------
static int unix_address(const char *path, struct sockaddr_un *address) {
  memset(address, 0, sizeof *address);
  address->sun_family = AF_UNIX;
  if (strlen(path) >= sizeof address->sun_path) return -1;
  strcpy(address->sun_path, path);
  return 0;
}

/** LINK_READY: open the transport the agent was configured with. */
static void serve(const unsigned char *payload, size_t length) {
  if (length == 0 || payload[length - 1] != '\0') {
    fputs("terminal-keeper: malformed ready message from the agent\n", stderr);
    exit(72);
  }
  const char *transport = (const char *)payload;
  size_t transport_length = strlen(transport);
  if (transport_length + 1 < length) snprintf(hostname, sizeof hostname, "%s", transport + transport_length + 1);
  struct sockaddr_un address;
  if (strcmp(transport, "stdio") == 0) {
    reconnectable = 0;
    host_came(fcntl(0, F_DUPFD_CLOEXEC, 4), fcntl(1, F_DUPFD_CLOEXEC, 4));
    return;
  }
  if (strncmp(transport, "unix:", 5) == 0) {
    reconnectable = 0;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (unix_address(transport + 5, &address) < 0 || connect(fd, (struct sockaddr *)&address, sizeof address) < 0) {
      fprintf(stderr, "terminal-keeper: cannot reach the host at %s: %s\n", transport + 5, strerror(errno));
      exit(73);
    }
    host_came(fd, fd);
    return;
  }
  if (strncmp(transport, "listen:", 7) == 0) {
    reconnectable = 1;
    const char *path = transport + 7;
    // A socket file left by an agent of an earlier boot of this machine cannot be bound over.
    unlink(path);
    listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (unix_address(path, &address) < 0 || bind(listen_fd, (struct sockaddr *)&address, sizeof address) < 0 || listen(listen_fd, 8) < 0) {
      fprintf(stderr, "terminal-keeper: cannot listen for the host at %s: %s\n", path, strerror(errno));
      exit(73);
    }
    // The host is root outside; inside, only the machine's root may speak to the agent.
    chmod(path, 0600);
    struct epoll_event event = {.events = EPOLLIN, .data.u64 = TAG(TAG_LISTEN, 0)};
    epoll_ctl(epoll_fd, EPOLL_CTL_ADD, listen_fd, &event);
    return;
  }
  fprintf(stderr, "terminal-keeper: unknown transport \"%s\"\n", transport);
  exit(72);
}

/** Hangs every terminal up and leaves (the machine ends with this process). */
static void stop_all(int code) {
  for (int i = 0; i < MAX_OPEN_TERMINALS; i++)
    if (terminals[i]) hang_up(terminals[i]);
  if (agent_pid > 0) kill(agent_pid, SIGTERM);
  exit(code);
}

static void start_agent(int restart);

/**
 * The Node agent died. Started again, unless it never served (it cannot
 * start: the machine cannot be made) or keeps dying: then the machine ends.
 */
static void agent_died(int status) {
  int64_t now = now_ms();
  int too_often = agent_restart_count == AGENT_RESTARTS && now - agent_restarts_ms[0] < AGENT_RESTART_WINDOW_MS;
  if (!agent_served || too_often) {
    log_record("error", agent_served ? "the agent keeps dying: the machine stops" : "the agent exited before it served: the machine stops", "wait status %d",
               status);
    flush_peer(&host);
    stop_all(WIFEXITED(status) && WEXITSTATUS(status) ? WEXITSTATUS(status) : 70);
  }
  if (agent_restart_count == AGENT_RESTARTS) {
    memmove(agent_restarts_ms, agent_restarts_ms + 1, (AGENT_RESTARTS - 1) * sizeof *agent_restarts_ms);
    agent_restart_count--;
  }
  agent_restarts_ms[agent_restart_count++] = now;
  log_record("warn", "the agent exited: started again, the terminals stay", "wait status %d", status);
  // What the dead agent was asked and did not answer: the host asks again rather than waits.
  for (int i = 0; i < unanswered_count; i++) {
    const char *what = unanswered[i].kind == K_OPEN ? "opened this terminal" : unanswered[i].kind == K_EXEC ? "ran this command" : "described the processes";
    char message[160];
    snprintf(message, sizeof message, "the machine's agent restarted while it %s: ask again", what);
    send_error(unanswered[i].channel, message);
  }
  unanswered_count = 0;
  // Its link goes with it (nothing it had not read matters now); the new one takes fd 3.
  link_down();
  queue_free(&link_peer.in);
  start_agent(1);
  rewatch_peer(&link_peer);
  for (int i = 0; i < MAX_OPEN_TERMINALS; i++) {
    Terminal *t = terminals[i];
    if (!t) continue;
    size_t name_length = strlen(t->name), tty_length = strlen(t->tty);
    unsigned char adopt[4 + sizeof t->name + sizeof t->tty];
    put_u32(adopt, (uint32_t)t->pid);
    memcpy(adopt + 4, t->name, name_length + 1);
    memcpy(adopt + 4 + name_length + 1, t->tty, tty_length + 1);
    send_frame(&link_peer, LINK_ADOPT, t->channel, adopt, 4 + name_length + 1 + tty_length + 1);
  }
}

static void reap(void) {
  int status;
  pid_t pid;
  while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
    if (pid == agent_pid) {
      agent_pid = 0;
      agent_died(status);
      continue;
    }
    for (int i = 0; i < MAX_OPEN_TERMINALS; i++) {
      Terminal *t = terminals[i];
      if (!t || t->pid != pid) continue;
      t->exited = 1;
      t->status = status;
      // Its last output may still be on its way through the pty.
      if (t->master >= 0) t->drain_deadline = now_ms() + EXIT_DRAIN_MS;
      else finish_terminal(i);
    }
  }
}

/** Starts the Node agent (`restart`: again, in a machine it made already) with the link on its fd 3. */
static void start_agent(int restart) {
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0) {
    perror("terminal-keeper: socketpair");
    exit(70);
  }
  agent_pid = fork();
  if (agent_pid < 0) {
    perror("terminal-keeper: fork");
    exit(70);
  }
  if (agent_pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    // The agent's end of the link is its fd 3 (dup2 clears close-on-exec).
    if (dup2(pair[1], LINK_FD) < 0) _exit(70);
    if (restart) setenv(AGENT_RESTART_ENV, "1", 1);
    execvp(agent_command[0], agent_command);
    fprintf(stderr, "terminal-keeper: cannot start the agent %s: %s\n", agent_command[0], strerror(errno));
    _exit(127);
  }
  close(pair[1]);
  if (pair[0] != LINK_FD) {
    dup2(pair[0], LINK_FD);
    close(pair[0]);
  }
  link_peer.fd = link_peer.write_fd = LINK_FD;
  fcntl(LINK_FD, F_SETFD, FD_CLOEXEC);
  fcntl(LINK_FD, F_SETFL, fcntl(LINK_FD, F_GETFL) | O_NONBLOCK);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fputs("usage: terminal-keeper AGENT_COMMAND [ARG]...\n", stderr);
    return 64;
  }
  signal(SIGPIPE, SIG_IGN);
  sigset_t handled;
  sigemptyset(&handled);
  sigaddset(&handled, SIGCHLD);
  sigaddset(&handled, SIGTERM);
  sigaddset(&handled, SIGINT);
  sigaddset(&handled, SIGHUP);
  // Blocked from here (a SIGCHLD waits for the signalfd); the children unblock them.
  sigprocmask(SIG_BLOCK, &handled, NULL);
  // The link first, while fd 3 is still free: nothing else may take it.
  agent_command = argv + 1;
  start_agent(0);
  epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  signal_fd = signalfd(-1, &handled, SFD_CLOEXEC | SFD_NONBLOCK);
  if (epoll_fd < 0 || signal_fd < 0) {
    perror("terminal-keeper: epoll/signalfd");
    return 70;
  }
  struct epoll_event event = {.events = EPOLLIN, .data.u64 = TAG(TAG_SIGNAL, 0)};
  epoll_ctl(epoll_fd, EPOLL_CTL_ADD, signal_fd, &event);
  rewatch_peer(&link_peer);

  for (;;) {
    int timeout = -1;
    int64_t now = now_ms();
    for (int i = 0; i < MAX_OPEN_TERMINALS; i++) {
      Terminal *t = terminals[i];
      if (t && t->resting_until_ms) {
        if (t->resting_until_ms <= now) {
          t->resting_until_ms = 0;
          rewatch_master(i);
        } else {
          int wait = (int)(t->resting_until_ms - now);
          if (timeout < 0 || wait < timeout) timeout = wait;
        }
      }
      if (!t || !t->exited) continue;
      if (t->drain_deadline <= now) {
        finish_terminal(i);
        continue;
      }
      int wait = (int)(t->drain_deadline - now);
      if (timeout < 0 || wait < timeout) timeout = wait;
    }
    struct epoll_event events[64];
    int ready = epoll_wait(epoll_fd, events, 64, timeout);
    if (ready < 0 && errno != EINTR) {
      perror("terminal-keeper: epoll_wait");
      return 70;
    }
    for (int e = 0; e < ready; e++) {
      uint32_t kind = (uint32_t)(events[e].data.u64 >> 32), index = (uint32_t)events[e].data.u64;
      uint32_t what = events[e].events;
      if (kind == TAG_SIGNAL) {
        struct signalfd_siginfo info;
        while (read(signal_fd, &info, sizeof info) == sizeof info) {
          if (info.ssi_signo == SIGCHLD) reap();
          else {
            log_record("info", "agent stopping on a signal", "signal %u", info.ssi_signo);
            flush_peer(&host);
            stop_all(0);
          }
        }
      } else if (kind == TAG_LISTEN) {
        int fd;
        while ((fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC)) >= 0) host_came(fd, fd);
      } else if (kind == TAG_HOST) {
        if (host.fd < 0) continue;
        if (what & EPOLLOUT) flush_peer(&host);
        if (host.fd >= 0 && (what & (EPOLLIN | EPOLLHUP | EPOLLERR)) && index == 0 && !read_peer(&host, 1)) host_gone("its connection ended");
        else if (host.fd >= 0 && (what & (EPOLLHUP | EPOLLERR)) && index == 1) host_gone("its connection ended");
      } else if (kind == TAG_LINK) {
        if (what & EPOLLOUT) flush_peer(&link_peer);
        if (link_peer.fd >= 0 && (what & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !read_peer(&link_peer, 0)) link_down();
      } else if (kind == TAG_MASTER && index < MAX_OPEN_TERMINALS && terminals[index]) {
        Terminal *t = terminals[index];
        if ((what & EPOLLOUT) && t->master >= 0) write_input(t);
        if ((what & (EPOLLIN | EPOLLHUP | EPOLLERR)) && t->master >= 0 && !read_master((int)index, 1)) {
          // EIO: every holder of the pty's slave side is gone (its SIGCHLD, if still to come, finishes it).
          if (t->exited) finish_terminal((int)index);
          else close_master(t);
        }
      }
    }
  }
}
