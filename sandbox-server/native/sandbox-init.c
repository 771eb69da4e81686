// sandbox-init: PID 1 of a sandbox.
//
// - Reaps every orphan, as an init must (else zombies pile up under `sudo` and
//   `unshare --fork`).
// - Holds the low pids with idle threads before starting anything: bookworm's
//   procps, run as pid N of a nested pid namespace whose /proc is still the
//   sandbox's, looks up /proc/N there and dies ("fatal library error, lookup
//   self") when no task of the sandbox has that pid. Threads have pids but are
//   not listed by `ps aux`.
// - Starts one command (the agent's terminal keeper, which restarts the Node
//   agent behind it when it dies) and lives exactly as long as it: when it
//   exits, the sandbox ends with it (the kernel kills the rest of the pid
//   namespace when PID 1 exits).
// - Passes termination signals on to the agent.

#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static void *idle_thread(void *unused) {
  (void)unused;
  for (;;) pause();
  return NULL;
}

static void hold_pids(long count) {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  // Threads that only sleep need no more than the smallest stack.
  pthread_attr_setstacksize(&attr, 16384);
  for (long i = 0; i < count; i++) {
    pthread_t thread;
    int error = pthread_create(&thread, &attr, idle_thread, NULL);
    if (error) {
      fprintf(stderr, "sandbox-init: could hold only %ld of %ld low pids: %s\n", i, count, strerror(error));
      break;
    }
  }
  pthread_attr_destroy(&attr);
}

int main(int argc, char **argv) {
  long hold = 100;
  int first = 1;
  if (argc > 2 && strcmp(argv[1], "--hold-pids") == 0) {
    hold = strtol(argv[2], NULL, 10);
    first = 3;
  }
  if (first < argc && strcmp(argv[first], "--") == 0) first++;
  if (first >= argc) {
    fputs("usage: sandbox-init [--hold-pids N] [--] COMMAND [ARG]...\n", stderr);
    return 125;
  }

  // Every signal is taken synchronously by the main thread; the idle threads
  // inherit the blocked mask and never see one.
  sigset_t all;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, NULL);
  hold_pids(hold);

  pid_t child = fork();
  if (child < 0) {
    perror("sandbox-init: fork");
    return 125;
  }
  if (child == 0) {
    sigprocmask(SIG_UNBLOCK, &all, NULL);
    setsid();
    execvp(argv[first], argv + first);
    fprintf(stderr, "sandbox-init: exec %s: %s\n", argv[first], strerror(errno));
    _exit(127);
  }
  prctl(PR_SET_NAME, "sandbox-init");

  for (;;) {
    siginfo_t info;
    int signal_number = sigwaitinfo(&all, &info);
    if (signal_number < 0) continue;
    if (signal_number != SIGCHLD) {
      // Only the agent decides how to shut down; PID 1 just passes the word on.
      if (signal_number == SIGTERM || signal_number == SIGINT || signal_number == SIGHUP ||
          signal_number == SIGQUIT || signal_number == SIGUSR1 || signal_number == SIGUSR2)
        kill(child, signal_number);
      continue;
    }
    for (;;) {
      int status;
      pid_t reaped = waitpid(-1, &status, WNOHANG);
      if (reaped <= 0) break;
      if (reaped == child) {
        if (WIFEXITED(status)) return WEXITSTATUS(status);
        return 128 + WTERMSIG(status);
      }
    }
  }
}
