/* The general probe of the adversarial suite: `probe WHAT [ARGS]` tries one thing a hostile app
 * would and prints one line, "ok ..." when the kernel let it happen and "denied ... (errno)"
 * when it did not; the exit status is 0 for "ok", 1 for "denied", 2 for a usage error. Tests
 * decide which outcome is the safe one. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static int report(int rc, const char *what) {
  if (rc == 0) {
    printf("ok %s\n", what);
    return 0;
  }
  printf("denied %s (%s)\n", what, strerror(errno));
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: probe WHAT [ARGS]\n");
    return 2;
  }
  const char *what = argv[1];
  if (strcmp(what, "write") == 0 && argc == 4) { /* write PATH TEXT */
    int fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int rc = fd < 0 ? -1 : (write(fd, argv[3], strlen(argv[3])) < 0 ? -1 : 0);
    if (fd >= 0) close(fd);
    return report(rc, argv[2]);
  }
  if (strcmp(what, "read") == 0 && argc == 3) { /* read PATH: prints the first line */
    FILE *f = fopen(argv[2], "re");
    char line[4096] = "";
    if (f == NULL) return report(-1, argv[2]);
    if (fgets(line, sizeof line, f) == NULL) line[0] = '\0';
    fclose(f);
    line[strcspn(line, "\n")] = '\0';
    printf("ok %s: %s\n", argv[2], line);
    return 0;
  }
  if (strcmp(what, "mknod") == 0 && argc == 6) { /* mknod PATH b|c MAJOR MINOR */
    mode_t type = argv[3][0] == 'b' ? S_IFBLK : S_IFCHR;
    dev_t dev = makedev(strtoul(argv[4], NULL, 10), strtoul(argv[5], NULL, 10));
    return report(mknod(argv[2], type | 0600, dev), argv[2]);
  }
  if (strcmp(what, "open-rw") == 0 && argc == 3) { /* open-rw PATH */
    int fd = open(argv[2], O_RDWR | O_CLOEXEC);
    if (fd >= 0) close(fd);
    return report(fd < 0 ? -1 : 0, argv[2]);
  }
  if (strcmp(what, "mount-tmpfs") == 0 && argc == 3) { /* mount-tmpfs DIR */
    return report(mount("tmpfs", argv[2], "tmpfs", 0, NULL), argv[2]);
  }
  fprintf(stderr, "probe: unknown probe %s (or wrong arguments)\n", what);
  return 2;
}
