// A static TCP/UDP probe for the network tests (tests/functional/net_*.sh), runnable on the host,
// in a test network namespace, and inside a pod (copied into its image):
//   net_probe serve tcp|udp PORT [COUNT]   answer "hello <peer address>" to each connection or
//                                          datagram (COUNT of them, default unlimited); prints
//                                          "listening" once bound
//   net_probe call tcp|udp HOST PORT [MS]  print the answer, or "failed: <reason>" (exit 1)
// Sockets are IPv6 with IPv4 mapped, so one listener serves both families.
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int usage(void) {
  fprintf(stderr, "usage: net_probe serve tcp|udp PORT [COUNT] | call tcp|udp HOST PORT [MS]\n");
  return 2;
}

static void peerText(const struct sockaddr_in6* a, char* out, size_t n) {
  if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
    inet_ntop(AF_INET, &a->sin6_addr.s6_addr[12], out, (socklen_t)n);
  } else {
    inet_ntop(AF_INET6, &a->sin6_addr, out, (socklen_t)n);
  }
}

static int serve(int udp, int port, long count) {
  int s = socket(AF_INET6, udp ? SOCK_DGRAM : SOCK_STREAM, 0);
  if (s < 0) return perror("socket"), 1;
  int zero = 0, one = 1;
  setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in6 a;
  memset(&a, 0, sizeof a);
  a.sin6_family = AF_INET6;
  a.sin6_port = htons((unsigned short)port);
  a.sin6_addr = in6addr_any;
  if (bind(s, (struct sockaddr*)&a, sizeof a) != 0) return perror("bind"), 1;
  if (!udp && listen(s, 64) != 0) return perror("listen"), 1;
  printf("listening\n");
  fflush(stdout);
  for (long i = 0; count <= 0 || i < count; ++i) {
    struct sockaddr_in6 peer;
    socklen_t len = sizeof peer;
    char text[INET6_ADDRSTRLEN], msg[128], buf[512];
    if (udp) {
      if (recvfrom(s, buf, sizeof buf, 0, (struct sockaddr*)&peer, &len) < 0) continue;
      peerText(&peer, text, sizeof text);
      int n = snprintf(msg, sizeof msg, "hello %s\n", text);
      sendto(s, msg, (size_t)n, 0, (struct sockaddr*)&peer, len);
    } else {
      int c = accept(s, (struct sockaddr*)&peer, &len);
      if (c < 0) continue;
      peerText(&peer, text, sizeof text);
      int n = snprintf(msg, sizeof msg, "hello %s\n", text);
      if (write(c, msg, (size_t)n) < 0) perror("write");
      close(c);
    }
    printf("answered %s\n", text);
    fflush(stdout);
  }
  return 0;
}

static int call(int udp, const char* host, const char* port, int ms) {
  struct addrinfo hints, *ai;
  memset(&hints, 0, sizeof hints);
  hints.ai_socktype = udp ? SOCK_DGRAM : SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  if (getaddrinfo(host, port, &hints, &ai) != 0) return printf("failed: bad address\n"), 1;
  int s = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK, 0);
  if (s < 0) return printf("failed: socket: %s\n", strerror(errno)), 1;
  if (connect(s, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
    return printf("failed: connect: %s\n", strerror(errno)), 1;
  }
  struct pollfd p = {s, POLLOUT, 0};
  if (!udp) {
    if (poll(&p, 1, ms) != 1) return printf("failed: connect: timed out\n"), 1;
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return printf("failed: connect: %s\n", strerror(err)), 1;
  } else if (send(s, "x", 1, 0) != 1) {
    return printf("failed: send: %s\n", strerror(errno)), 1;
  }
  char buf[512];
  size_t got = 0;
  p.events = POLLIN;
  for (;;) {
    if (poll(&p, 1, ms) != 1) break;
    ssize_t n = recv(s, buf + got, sizeof buf - 1 - got, 0);
    if (n <= 0) {
      if (n < 0 && got == 0) return printf("failed: recv: %s\n", strerror(errno)), 1;
      break;
    }
    got += (size_t)n;
    if (udp || got == sizeof buf - 1) break;
  }
  if (got == 0) return printf("failed: no answer\n"), 1;
  buf[got] = 0;
  fputs(buf, stdout);
  return 0;
}

int main(int argc, char** argv) {
  if (argc < 4) return usage();
  int udp = strcmp(argv[2], "udp") == 0;
  if (!udp && strcmp(argv[2], "tcp") != 0) return usage();
  if (strcmp(argv[1], "serve") == 0) return serve(udp, atoi(argv[3]), argc > 4 ? atol(argv[4]) : 0);
  if (strcmp(argv[1], "call") == 0 && argc >= 5) {
    return call(udp, argv[3], argv[4], argc > 5 ? atoi(argv[5]) : 2000);
  }
  return usage();
}
