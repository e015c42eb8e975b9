/* `ids`: prints the caller's real and effective user IDs, its no_new_privs flag and effective
 * capability set in one line ("ruid=1000 euid=0 nnp=0 capeff=00000000a80425fb"). Copied setuid
 * root into a hostile image, it shows whether a non-root app can become root through it. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

int main(void) {
  char line[256], capeff[64] = "?";
  FILE *f = fopen("/proc/self/status", "re");
  while (f != NULL && fgets(line, sizeof line, f) != NULL) {
    if (strncmp(line, "CapEff:\t", 8) == 0) {
      snprintf(capeff, sizeof capeff, "%s", line + 8);
      capeff[strcspn(capeff, "\n")] = '\0';
    }
  }
  if (f != NULL) fclose(f);
  printf("ruid=%d euid=%d nnp=%d capeff=%s\n", (int)getuid(), (int)geteuid(),
         prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), capeff);
  return 0;
}
