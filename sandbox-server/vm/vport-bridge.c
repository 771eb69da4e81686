/*
 * vport-bridge PORT SOCKET: in a VM guest, joins a virtio-serial port to a
 * unix socket that a guest process listens on, for as long as a host is
 * connected to the port, and again for each host that connects later.
 *
 * Why: QEMU offers the port on a unix socket of its own on the host
 * (server=on,wait=off), so a sandbox server can go away and the next one
 * connect to the same port. The guest kernel tells who is on the other side:
 * while nobody is, poll() says POLLHUP and read() returns 0. The agent (and
 * the image store's channel) already serve one host connection after another
 * on a unix socket (`listen:` transport); this turns each host session on the
 * port into one connection to that socket: connected when a host arrives,
 * closed when it leaves, so the agent sees a host come and go exactly as it
 * does in the namespace driver, and tells each new host its terminals.
 *
 * Nothing is sent to a host before it is there: the connection to SOCKET is
 * made only once the port has a host, and what was on its way to the old host
 * is dropped with the old connection.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define BUFFER_BYTES (64 * 1024)
/* How often to look again while no host is connected or nobody listens on SOCKET. */
#define RETRY_MS 100

struct pipe_buffer {
  char data[BUFFER_BYTES];
  size_t start, end;
};

static void pause_ms(int ms) {
  struct timespec delay = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&delay, NULL);
}

/* A host is on the other side of the port: poll() reports no hang-up. */
static int host_connected(int port) {
  struct pollfd probe = {port, POLLIN, 0};
  if (poll(&probe, 1, 0) < 0) return 0;
  return !(probe.revents & POLLHUP);
}

static int connect_socket(const char *path) {
  struct sockaddr_un address = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof address.sun_path) {
    fprintf(stderr, "vport-bridge: socket path too long: %s\n", path);
    exit(2);
  }
  strcpy(address.sun_path, path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  if (connect(fd, (struct sockaddr *)&address, sizeof address) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

/* Reads what `from` has into `buffer` when it has room; -1 when `from` ended or failed. */
static int fill(int from, struct pipe_buffer *buffer) {
  if (buffer->end == BUFFER_BYTES) return 0;
  ssize_t got = read(from, buffer->data + buffer->end, BUFFER_BYTES - buffer->end);
  if (got > 0) buffer->end += (size_t)got;
  if (got == 0) return -1;
  if (got < 0 && errno != EAGAIN && errno != EINTR) return -1;
  return 0;
}

/* Writes what `buffer` holds to `to`, as much as it takes now; -1 when `to` failed. */
static int drain(int to, struct pipe_buffer *buffer) {
  if (buffer->start == buffer->end) return 0;
  ssize_t put = write(to, buffer->data + buffer->start, buffer->end - buffer->start);
  if (put > 0) buffer->start += (size_t)put;
  if (put < 0 && errno != EAGAIN && errno != EINTR) return -1;
  /* All of it written: the whole buffer is room again (else a full one would never be read into). */
  if (buffer->start == buffer->end) buffer->start = buffer->end = 0;
  return 0;
}

/* Carries bytes both ways until the host leaves the port (returns) or the socket's side ends (returns too). */
static void relay(int port, int sock) {
  static struct pipe_buffer to_sock, to_port;
  to_sock.start = to_sock.end = to_port.start = to_port.end = 0;
  for (;;) {
    struct pollfd fds[2] = {
        {port, (short)((to_sock.end < BUFFER_BYTES ? POLLIN : 0) | (to_port.start < to_port.end ? POLLOUT : 0)), 0},
        {sock, (short)((to_port.end < BUFFER_BYTES ? POLLIN : 0) | (to_sock.start < to_sock.end ? POLLOUT : 0)), 0},
    };
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    /* The host left the port, or the listener closed the socket: this session is over. */
    if ((fds[0].revents | fds[1].revents) & (POLLHUP | POLLERR)) return;
    if (fds[0].revents & POLLIN && fill(port, &to_sock) < 0) return;
    if (fds[1].revents & POLLIN && fill(sock, &to_port) < 0) return;
    if (drain(sock, &to_sock) < 0 || drain(port, &to_port) < 0) return;
  }
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: vport-bridge PORT SOCKET\n");
    return 2;
  }
  /* A virtio port opens once: this descriptor serves every host in turn. */
  int port = open(argv[1], O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (port < 0) {
    fprintf(stderr, "vport-bridge: cannot open %s: %s\n", argv[1], strerror(errno));
    return 1;
  }
  for (;;) {
    if (!host_connected(port)) {
      /* Nothing of a host that left may reach the next one: empty what is left (read() says 0 once empty). */
      char scrap[4096];
      while (read(port, scrap, sizeof scrap) > 0) {
      }
      pause_ms(RETRY_MS);
      continue;
    }
    int sock = connect_socket(argv[2]);
    if (sock < 0) {
      pause_ms(RETRY_MS); /* the agent does not listen yet */
      continue;
    }
    relay(port, sock);
    close(sock);
    /* Left because the socket's side ended while the host stays: wait before offering the host a new session. */
    if (host_connected(port)) pause_ms(RETRY_MS);
  }
}
