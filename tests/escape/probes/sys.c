/* The system-call probe of the adversarial suite: `sys WHAT [ARGS]` makes one call a hostile app
 * would use to leave its pod (file handles, mounts, namespaces, keyrings, bpf, perf, io_uring,
 * ptrace, ...) and prints "ok ..." when the kernel let it happen, "denied ... (errno)" when it
 * did not; exit 0 for ok, 1 for denied, 2 for a usage error. Every call is harmless when it is
 * allowed: maps, keys and rings are created and dropped, kexec gets no image, ptrace detaches.
 * Raw syscall(2) throughout: the probe must not depend on what libc wraps. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/io_uring.h>
#include <linux/kexec.h>
#include <linux/keyctl.h>
#include <linux/perf_event.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static int report(long rc, const char* what) {
  if (rc >= 0) {
    printf("ok %s\n", what);
    return 0;
  }
  printf("denied %s (%s)\n", what, strerror(errno));
  return 1;
}

/* An ext4/xfs handle of inode 2 (a file system's root directory) with generation 0: the handle
 * Shocker (2014) started its walk from. FILEID_INO32_GEN is type 1. */
static int openByHandle(const char* mountPath) {
  struct file_handle* h = malloc(sizeof *h + 8);
  uint32_t inoGen[2] = {2, 0};
  h->handle_bytes = 8;
  h->handle_type = 1;
  memcpy(h->f_handle, inoGen, sizeof inoGen);
  int mfd = open(mountPath, O_RDONLY | O_CLOEXEC);
  if (mfd < 0) return report(-1, "open the mount fd");
  int fd = (int)syscall(SYS_open_by_handle_at, mfd, h, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return report(-1, "open_by_handle_at");
  /* Name what it opened: the root of the file system that holds mountPath. */
  DIR* d = fdopendir(fd);
  printf("ok open_by_handle_at: inode 2 of %s holds:", mountPath);
  for (struct dirent* e; d != NULL && (e = readdir(d)) != NULL;) printf(" %s", e->d_name);
  printf("\n");
  return 0;
}

static int nameToHandle(const char* path) {
  struct file_handle* h = malloc(sizeof *h + MAX_HANDLE_SZ);
  h->handle_bytes = MAX_HANDLE_SZ;
  int mountId;
  return report(syscall(SYS_name_to_handle_at, AT_FDCWD, path, h, &mountId, 0),
                "name_to_handle_at");
}

static unsigned long nsFlag(const char* name) {
  static const struct {
    const char* name;
    unsigned long flag;
  } kFlags[] = {{"user", CLONE_NEWUSER},     {"mnt", CLONE_NEWNS},   {"pid", CLONE_NEWPID},
                {"net", CLONE_NEWNET},       {"ipc", CLONE_NEWIPC},  {"uts", CLONE_NEWUTS},
                {"cgroup", CLONE_NEWCGROUP}, {"time", CLONE_NEWTIME}};
  for (size_t i = 0; i < sizeof kFlags / sizeof kFlags[0]; ++i) {
    if (strcmp(kFlags[i].name, name) == 0) return kFlags[i].flag;
  }
  fprintf(stderr, "sys: unknown namespace %s\n", name);
  exit(2);
}

/* In a fresh user and mount namespace (made by `how`): map root, then mount a tmpfs on dir.
 * The way back to CAP_SYS_ADMIN for an unprivileged process; prints one line per step. */
static int writeFile(const char* path, const char* text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  int rc = write(fd, text, strlen(text)) < 0 ? -1 : 0;
  close(fd);
  return rc;
}
static int insideNewUserns(const char* dir, uid_t uid, gid_t gid) {
  char map[64];
  writeFile("/proc/self/setgroups", "deny");
  snprintf(map, sizeof map, "0 %u 1", (unsigned)uid);
  writeFile("/proc/self/uid_map", map);
  snprintf(map, sizeof map, "0 %u 1", (unsigned)gid);
  writeFile("/proc/self/gid_map", map);
  return report(mount("tmpfs", dir, "tmpfs", 0, NULL), "mount tmpfs in the new user namespace");
}
static int usernsMount(const char* how, const char* dir) {
  uid_t uid = getuid();
  gid_t gid = getgid();
  unsigned long flags = CLONE_NEWUSER | CLONE_NEWNS;
  if (strcmp(how, "unshare") == 0) {
    if (report(syscall(SYS_unshare, flags), "unshare(CLONE_NEWUSER|CLONE_NEWNS)") != 0) return 1;
    return insideNewUserns(dir, uid, gid);
  }
  long pid;
  if (strcmp(how, "clone") == 0) {
    pid = syscall(SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);
  } else if (strcmp(how, "clone3") == 0) {
    struct clone_args a;
    memset(&a, 0, sizeof a);
    a.flags = flags;
    a.exit_signal = SIGCHLD;
    pid = syscall(SYS_clone3, &a, sizeof a);
  } else {
    fprintf(stderr, "sys: userns-mount unshare|clone|clone3 DIR\n");
    return 2;
  }
  if (pid == 0) {
    fflush(stdout);
    int rc = insideNewUserns(dir, uid, gid);
    fflush(stdout);
    _exit(rc);
  }
  char what[64];
  snprintf(what, sizeof what, "%s(CLONE_NEWUSER|CLONE_NEWNS)", how);
  if (report(pid, what) != 0) return 1;
  fflush(stdout);
  int status = 0;
  waitpid((pid_t)pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

/* chroot into a subdirectory, climb, chroot to where the climb ended: with a chroot(2)-based
 * root this reaches the real root. Then open `probe` (a host path) to see where we are. */
static int chrootEscape(const char* probe) {
  mkdir("/tmp/chroot-escape", 0700);
  if (chroot("/tmp/chroot-escape") != 0) return report(-1, "chroot");
  for (int i = 0; i < 64; ++i) {
    if (chdir("..") != 0) return report(-1, "chdir ..");
  }
  if (chroot(".") != 0) return report(-1, "chroot .");
  int fd = open(probe, O_RDONLY | O_CLOEXEC);
  if (fd >= 0) close(fd);
  char what[4200];
  snprintf(what, sizeof what, "chroot escape reached %s", probe);
  return report(fd, what);
}

static int listFds(const char *tag) {
  DIR* d = opendir("/proc/self/fd");
  if (d == NULL) return report(-1, "open /proc/self/fd");
  int self = dirfd(d);
  for (struct dirent* e; (e = readdir(d)) != NULL;) {
    if (e->d_name[0] == '.' || atoi(e->d_name) == self) continue;
    char path[64], target[4096];
    snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
    ssize_t n = readlink(path, target, sizeof target - 1);
    target[n < 0 ? 0 : n] = '\0';
    printf("%sfd %s %s\n", tag, e->d_name, target);
  }
  closedir(d);
  return 0;
}

static int abstractConnect(const char* name) {
  struct sockaddr_un a;
  memset(&a, 0, sizeof a);
  a.sun_family = AF_UNIX;
  strncpy(a.sun_path + 1, name, sizeof a.sun_path - 2);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return report(-1, "socket");
  socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name));
  int rc = connect(fd, (struct sockaddr*)&a, len);
  char what[200];
  snprintf(what, sizeof what, "connect to @%s", name);
  if (rc == 0) {
    char buf[128] = "";
    ssize_t n = read(fd, buf, sizeof buf - 1);
    buf[n < 0 ? 0 : n] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
    printf("ok %s: %s\n", what, buf);
    return 0;
  }
  return report(rc, what);
}

static int ptraceAttach(pid_t pid) {
  long rc = ptrace(PTRACE_ATTACH, pid, 0, 0);
  if (rc == 0) {
    waitpid(pid, NULL, __WALL);
    ptrace(PTRACE_DETACH, pid, 0, 0);
  }
  return report(rc, "ptrace attach");
}

static int oneCall(const char* what) {
  if (strcmp(what, "keyctl") == 0) {
    return report(syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0),
                  "keyctl");
  }
  if (strcmp(what, "add_key") == 0) {
    return report(syscall(SYS_add_key, "user", "ferry-probe", "x", 1, KEY_SPEC_PROCESS_KEYRING),
                  "add_key");
  }
  if (strcmp(what, "request_key") == 0) {
    long rc = syscall(SYS_request_key, "user", "ferry-probe", NULL, 0);
    if (rc < 0 && errno == ENOKEY) rc = 0; /* reached the keyring search */
    return report(rc, "request_key");
  }
  if (strcmp(what, "bpf") == 0) {
    union bpf_attr a;
    memset(&a, 0, sizeof a);
    a.map_type = BPF_MAP_TYPE_ARRAY;
    a.key_size = 4;
    a.value_size = 4;
    a.max_entries = 1;
    return report(syscall(SYS_bpf, BPF_MAP_CREATE, &a, sizeof a), "bpf map create");
  }
  if (strcmp(what, "perf_event_open") == 0) {
    struct perf_event_attr a;
    memset(&a, 0, sizeof a);
    a.size = sizeof a;
    a.type = PERF_TYPE_SOFTWARE;
    a.config = PERF_COUNT_SW_TASK_CLOCK;
    a.disabled = 1;
    a.exclude_kernel = 1;
    a.exclude_hv = 1;
    return report(syscall(SYS_perf_event_open, &a, 0, -1, -1, 0), "perf_event_open");
  }
  if (strcmp(what, "userfaultfd") == 0) {
    return report(syscall(SYS_userfaultfd, O_CLOEXEC | 1 /* UFFD_USER_MODE_ONLY */), "userfaultfd");
  }
  if (strcmp(what, "io_uring") == 0) {
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    return report(syscall(SYS_io_uring_setup, 1, &p), "io_uring_setup");
  }
  if (strcmp(what, "kexec_load") == 0) {
    /* no segments: unloads a loaded image (there is none); a permitted call returns 0 */
    return report(syscall(SYS_kexec_load, 0, 0, NULL, KEXEC_ARCH_DEFAULT), "kexec_load");
  }
  if (strcmp(what, "kexec_file_load") == 0) {
    long rc = syscall(SYS_kexec_file_load, -1, -1, 0, NULL, KEXEC_FILE_UNLOAD);
    return report(rc, "kexec_file_load");
  }
  if (strcmp(what, "syslog") == 0) {
    char buf[256];
    return report(syscall(SYS_syslog, 3 /* SYSLOG_ACTION_READ_ALL */, buf, sizeof buf),
                  "syslog read");
  }
  if (strcmp(what, "fsopen") == 0) {
    return report(syscall(SYS_fsopen, "tmpfs", 1 /* FSOPEN_CLOEXEC */), "fsopen tmpfs");
  }
  if (strcmp(what, "open_tree") == 0) {
    return report(syscall(SYS_open_tree, AT_FDCWD, "/", 1 /* OPEN_TREE_CLONE */ | O_CLOEXEC),
                  "open_tree clone");
  }
  return -1;
}

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: sys WHAT [ARGS]\n");
    return 2;
  }
  const char* what = argv[1];
  int rc = oneCall(what);
  if (rc >= 0) return rc;
  if (strcmp(what, "open-by-handle") == 0 && argc == 3) return openByHandle(argv[2]);
  if (strcmp(what, "name-to-handle") == 0 && argc == 3) return nameToHandle(argv[2]);
  if (strcmp(what, "unshare") == 0 && argc == 3) { /* unshare NS */
    char w[64];
    snprintf(w, sizeof w, "unshare %s", argv[2]);
    return report(syscall(SYS_unshare, nsFlag(argv[2])), w);
  }
  if (strcmp(what, "clone") == 0 && argc == 3) { /* clone NS: a child in a new namespace */
    char w[64];
    snprintf(w, sizeof w, "clone %s", argv[2]);
    long pid = syscall(SYS_clone, nsFlag(argv[2]) | SIGCHLD, 0, 0, 0, 0);
    if (pid == 0) _exit(0);
    if (pid > 0) waitpid((pid_t)pid, NULL, 0);
    return report(pid, w);
  }
  if (strcmp(what, "setns") == 0 && argc == 3) { /* setns /proc/PID/ns/NAME */
    int fd = open(argv[2], O_RDONLY | O_CLOEXEC);
    if (fd < 0) return report(-1, "open the namespace");
    return report(syscall(SYS_setns, fd, 0), "setns");
  }
  if (strcmp(what, "userns-mount") == 0 && argc == 4) return usernsMount(argv[2], argv[3]);
  if (strcmp(what, "mount") == 0 && argc == 6) { /* mount SRC DIR FSTYPE DATA|- */
    const char* data = strcmp(argv[5], "-") == 0 ? NULL : argv[5];
    char w[200];
    snprintf(w, sizeof w, "mount %s on %s", argv[4], argv[3]);
    return report(mount(argv[2], argv[3], argv[4], 0, data), w);
  }
  if (strcmp(what, "bind") == 0 && argc == 4) { /* bind SRC DIR */
    char w[200];
    snprintf(w, sizeof w, "bind %s on %s", argv[2], argv[3]);
    return report(mount(argv[2], argv[3], NULL, MS_BIND | MS_REC, NULL), w);
  }
  if (strcmp(what, "remount-rw") == 0 && argc == 3) { /* remount-rw DIR */
    char w[200];
    snprintf(w, sizeof w, "remount %s read-write", argv[2]);
    return report(mount(NULL, argv[2], NULL, MS_REMOUNT | MS_BIND, NULL), w);
  }
  if (strcmp(what, "umount") == 0 && argc == 3) { /* umount PATH (detached) */
    char w[200];
    snprintf(w, sizeof w, "umount %s", argv[2]);
    return report(umount2(argv[2], MNT_DETACH), w);
  }
  if (strcmp(what, "pivot-root") == 0 && argc == 4) { /* pivot-root NEW PUT_OLD */
    return report(syscall(SYS_pivot_root, argv[2], argv[3]), "pivot_root");
  }
  if (strcmp(what, "chroot-escape") == 0 && argc == 3) return chrootEscape(argv[2]);
  if (strcmp(what, "ptrace") == 0 && argc == 3) return ptraceAttach((pid_t)atoi(argv[2]));
  if (strcmp(what, "fds") == 0 && argc <= 3) { /* fds [TAG]: "[TAG ]fd N TARGET" per open fd */
    char tag[64] = "";
    if (argc == 3) snprintf(tag, sizeof tag, "%s ", argv[2]);
    return listFds(tag);
  }
  if (strcmp(what, "abstract") == 0 && argc == 3) return abstractConnect(argv[2]);
  if (strcmp(what, "open-w") == 0 && argc == 3) { /* open-w PATH: for writing, nothing written */
    int fd = open(argv[2], O_WRONLY | O_CLOEXEC);
    if (fd >= 0) close(fd);
    return report(fd, argv[2]);
  }
  if (strcmp(what, "poison") == 0 && argc >= 3) { /* poison PATH...: rewrite in place, setuid */
    int bad = 0;
    for (int i = 2; i < argc; ++i) {
      int fd = open(argv[i], O_WRONLY | O_TRUNC | O_CLOEXEC);
      long rc = fd < 0 ? -1 : write(fd, "poisoned\n", 9);
      if (rc >= 0) rc = fchmod(fd, 04777);
      if (fd >= 0) close(fd);
      bad |= report(rc, argv[i]);
    }
    return bad;
  }
  fprintf(stderr, "sys: unknown probe %s (or wrong arguments)\n", what);
  return 2;
}
