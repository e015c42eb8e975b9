/* An app that speaks systemd's protocols, copied into the systemd_* tests' images (static):
 *   sd-probe notify MESSAGE   sends MESSAGE to $NOTIFY_SOCKET (sd_notify's datagram)
 *   sd-probe serve            checks LISTEN_PID is its pid, then on each LISTEN_FDS descriptor
 *                             accepts one connection and writes "hello NAME fds=LIST\n" (NAME from
 *                             LISTEN_FDNAMES, LIST the descriptors it has open), then exits 0
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int notify(const char *msg) {
  const char *path = getenv("NOTIFY_SOCKET");
  if (path == NULL) {
    fprintf(stderr, "sd-probe: no NOTIFY_SOCKET\n");
    return 1;
  }
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  strncpy(addr.sun_path, path, sizeof addr.sun_path - 1);
  if (addr.sun_path[0] == '@') addr.sun_path[0] = 0;
  int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
  if (fd < 0 || sendto(fd, msg, strlen(msg), 0, (struct sockaddr *)&addr, sizeof addr) < 0) {
    perror("sd-probe: sendto");
    return 1;
  }
  return 0;
}

static void openFds(char *out, size_t size) {
  DIR *d = opendir("/proc/self/fd");
  out[0] = 0;
  if (d == NULL) return;
  int self = dirfd(d);
  struct dirent *e;
  int first = 1;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.' || atoi(e->d_name) == self) continue;
    size_t len = strlen(out);
    snprintf(out + len, size - len, "%s%s", first ? "" : ",", e->d_name);
    first = 0;
  }
  closedir(d);
}

static int serve(void) {
  const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
  const char *names = getenv("LISTEN_FDNAMES");
  if (pid == NULL || fds == NULL || atol(pid) != (long)getpid()) {
    fprintf(stderr, "sd-probe: LISTEN_PID=%s is not my pid %d\n", pid ? pid : "(unset)",
            (int)getpid());
    return 1;
  }
  char list[512];
  openFds(list, sizeof list);
  int n = atoi(fds);
  char namebuf[512];
  snprintf(namebuf, sizeof namebuf, "%s", names ? names : "");
  char *save = NULL, *name = strtok_r(namebuf, ":", &save);
  for (int i = 0; i < n; ++i) {
    int c = accept(3 + i, NULL, NULL);
    if (c < 0) {
      perror("sd-probe: accept");
      return 1;
    }
    dprintf(c, "hello %s fds=%s\n", name ? name : "?", list);
    close(c);
    name = strtok_r(NULL, ":", &save);
  }
  printf("served %d fds=%s\n", n, list);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "notify") == 0) return notify(argv[2]);
  if (argc == 2 && strcmp(argv[1], "serve") == 0) return serve();
  fprintf(stderr, "usage: sd-probe notify MESSAGE | sd-probe serve\n");
  return 2;
}
