/* ferry-bench-probe: what a pod's process sees of its isolation, as one JSON object on stdout.
 *
 * `ferry bench` injects this static binary into a pod (a read-only volume) and runs it as the
 * first app; it compares what it prints with the host's own view (namespace inodes, boot ID).
 * Everything here is measured by a system call from inside the pod; nothing is assumed from
 * the stage1's name. Fields:
 *   ns.{pid,net,ipc,uts,mnt,user,cgroup}  the inode of /proc/self/ns/X, or null
 *   boot_id        /proc/sys/kernel/random/boot_id (another kernel has another one)
 *   seccomp, seccomp_filters, no_new_privs, cap_eff, cap_bnd   from /proc/self/status
 *   sys_read_only  statvfs("/sys") has ST_RDONLY (null: no /sys)
 *   masked         each sensitive /proc path: true when it reads as nothing (absent, empty,
 *                  /dev/null bound over it, or refused)
 *   device_mem     what mknod + open of a /dev/mem node (char 1:1) gives: "mknod refused",
 *                  "open refused", "opened" (the last: the pod can read host memory)
 *   devices        the number of device nodes in /dev
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static void nsField(const char* name, int first) {
  char path[64], target[128];
  snprintf(path, sizeof path, "/proc/self/ns/%s", name);
  ssize_t n = readlink(path, target, sizeof target - 1);
  printf("%s\"%s\":", first ? "" : ",", name);
  if (n <= 0) {
    printf("null");
    return;
  }
  target[n] = '\0';
  const char* open = strchr(target, '[');
  printf("%lu", open ? strtoul(open + 1, NULL, 10) : 0UL);
}

/* The value of "Key:" in /proc/self/status, trimmed; "" when absent. */
static void statusField(const char* key, char* out, size_t size) {
  out[0] = '\0';
  FILE* f = fopen("/proc/self/status", "re");
  if (!f) return;
  char line[256];
  size_t klen = strlen(key);
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
      char* v = line + klen + 1;
      while (*v == ' ' || *v == '\t') v++;
      v[strcspn(v, "\n")] = '\0';
      snprintf(out, size, "%s", v);
      break;
    }
  }
  fclose(f);
}

static int masked(const char* path) {
  struct stat st;
  if (stat(path, &st) != 0) return 1;
  if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3)) return 1; /* /dev/null over it */
  if (S_ISDIR(st.st_mode)) {
    DIR* d = opendir(path);
    if (!d) return 1;
    int entries = 0;
    struct dirent* e;
    while ((e = readdir(d)) != NULL) {
      if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) entries++;
    }
    closedir(d);
    return entries == 0;
  }
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return 1;
  char buf[64];
  ssize_t n = read(fd, buf, sizeof buf);
  close(fd);
  return n <= 0;
}

static char memResult[96];

static const char* deviceMem(void) {
  char path[] = "/tmp/.ferry-probe-mem-XXXXXX";
  int tmp = mkstemp(path);
  if (tmp < 0) {
    snprintf(path, sizeof path, "/.ferry-probe-mem");
  } else {
    close(tmp);
    unlink(path);
  }
  if (mknod(path, S_IFCHR | 0600, makedev(1, 1)) != 0) {
    snprintf(memResult, sizeof memResult, "mknod refused (%s)", strerror(errno));
    return memResult;
  }
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  int err = errno;
  unlink(path);
  if (fd < 0) {
    snprintf(memResult, sizeof memResult, "open refused (%s)", strerror(err));
    return memResult;
  }
  close(fd);
  return "opened";
}

static int devices(void) {
  DIR* d = opendir("/dev");
  if (!d) return 0;
  int count = 0;
  struct dirent* e;
  while ((e = readdir(d)) != NULL) {
    struct stat st;
    char path[512];
    snprintf(path, sizeof path, "/dev/%s", e->d_name);
    if (lstat(path, &st) == 0 && (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))) count++;
  }
  closedir(d);
  return count;
}

int main(void) {
  static const char* const kNs[] = {"pid", "net", "ipc", "uts", "mnt", "user", "cgroup"};
  static const char* const kMasked[] = {
      "/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug",
      "/proc/acpi",  "/proc/scsi", "/sys/firmware",    "/proc/latency_stats"};
  printf("{\"ns\":{");
  for (size_t i = 0; i < sizeof kNs / sizeof kNs[0]; i++) nsField(kNs[i], i == 0);
  printf("}");

  char boot[64] = "";
  FILE* f = fopen("/proc/sys/kernel/random/boot_id", "re");
  if (f) {
    if (!fgets(boot, sizeof boot, f)) boot[0] = '\0';
    boot[strcspn(boot, "\n")] = '\0';
    fclose(f);
  }
  printf(",\"boot_id\":\"%s\"", boot);

  char v[128];
  statusField("Seccomp", v, sizeof v);
  printf(",\"seccomp\":%s", v[0] ? v : "null");
  statusField("Seccomp_filters", v, sizeof v);
  printf(",\"seccomp_filters\":%s", v[0] ? v : "null");
  statusField("NoNewPrivs", v, sizeof v);
  printf(",\"no_new_privs\":%s", v[0] ? v : "null");
  statusField("CapEff", v, sizeof v);
  printf(",\"cap_eff\":\"%s\"", v);
  statusField("CapBnd", v, sizeof v);
  printf(",\"cap_bnd\":\"%s\"", v);

  struct statvfs sv;
  if (statvfs("/sys", &sv) == 0 && access("/sys/kernel", F_OK) == 0) {
    printf(",\"sys_read_only\":%s", (sv.f_flag & ST_RDONLY) ? "true" : "false");
  } else {
    printf(",\"sys_read_only\":null");
  }

  printf(",\"masked\":{");
  for (size_t i = 0; i < sizeof kMasked / sizeof kMasked[0]; i++) {
    printf("%s\"%s\":%s", i ? "," : "", kMasked[i], masked(kMasked[i]) ? "true" : "false");
  }
  printf("}");
  printf(",\"device_mem\":\"%s\"", deviceMem());
  printf(",\"devices\":%d", devices());
  printf(",\"uid\":%u}\n", (unsigned)getuid());
  return 0;
}
