/* `pty`: opens a new pseudo-terminal pair the way a terminal program inside a pod would (the
 * pod's /dev/ptmx, then the slave under /dev/pts) and prints "ok pty /dev/pts/N", or
 * "denied pty: STEP (errno)" and exits 1. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int denied(const char *step) {
  printf("denied pty: %s (%s)\n", step, strerror(errno));
  return 1;
}

int main(void) {
  int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) return denied("open /dev/ptmx");
  if (grantpt(master) != 0) return denied("grantpt");
  if (unlockpt(master) != 0) return denied("unlockpt");
  char name[64];
  if (ptsname_r(master, name, sizeof name) != 0) return denied("ptsname");
  int slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) return denied(name);
  if (write(slave, "x\n", 2) != 2) return denied("write to the slave");
  printf("ok pty %s\n", name);
  return 0;
}
