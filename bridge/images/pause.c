/* The pod sandbox's first process, as kubeplay builds it (no registry to pull
 * registry.k8s.io/pause from): it holds the pod's namespaces, reaps the
 * orphans that end up as its children (it is PID 1 of a shared PID namespace),
 * and exits on SIGINT or SIGTERM. Built static, so the image needs nothing else. */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void quit(int sig) { _exit(sig == SIGTERM ? 0 : 2); }

static void reap(int sig) {
  (void)sig;
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
}

int main(void) {
  struct sigaction a = {0};
  a.sa_handler = quit;
  sigaction(SIGINT, &a, NULL);
  sigaction(SIGTERM, &a, NULL);
  a.sa_handler = reap;
  a.sa_flags = SA_NOCLDSTOP;
  sigaction(SIGCHLD, &a, NULL);
  for (;;)
    pause();
}
