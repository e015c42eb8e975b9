// mds_register: registers a pod directory with `ferry metadata-service` the way a stage1 does,
// then runs a command while the pod is registered. Used by the functional tests.
//
//   mds_register --socket PATH --pod-dir DIR --uuid UUID --token TOKEN --port PORT -- CMD...
//
// Run it inside the pod's network namespace (e.g. under `unshare -n`, loopback up): it listens
// on 127.0.0.1:PORT there, passes that socket with the registration, closes its own copy, runs
// CMD, then unregisters explicitly and checks that nobody listens on the port any more.
// Exit status: CMD's; 3 when the port still answers after unregistering; 254 on errors.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "common/mds_client.hpp"

namespace {

bool portAnswers(uint16_t port) {
  ferry::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return ::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string socket, podDir, uuid, token;
  int port = -1;
  int i = 1;
  for (; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--") {
      ++i;
      break;
    }
    if (i + 1 >= argc) {
      std::cerr << "mds_register: " << a << " needs a value\n";
      return 2;
    }
    std::string v = argv[++i];
    if (a == "--socket")
      socket = v;
    else if (a == "--pod-dir")
      podDir = v;
    else if (a == "--uuid")
      uuid = v;
    else if (a == "--token")
      token = v;
    else if (a == "--port")
      port = std::stoi(v);
    else {
      std::cerr << "mds_register: unknown flag " << a << "\n";
      return 2;
    }
  }
  if (socket.empty() || podDir.empty() || uuid.empty() || token.empty() || port < 0 || i >= argc) {
    std::cerr << "usage: mds_register --socket PATH --pod-dir DIR --uuid UUID --token TOKEN "
                 "--port PORT -- CMD...\n";
    return 2;
  }
  try {
    ferry::UniqueFd listener = ferry::mds::listenInPod(static_cast<uint16_t>(port));
    ferry::UniqueFd conn = ferry::mds::registerPod(
        socket, ferry::mds::registrationFromPodDir(podDir, uuid, token), listener.get());
    listener.reset();
    ::setenv("AC_METADATA_URL", ferry::mds::metadataUrl(static_cast<uint16_t>(port), token).c_str(),
             1);
    pid_t pid = ::fork();
    if (pid == 0) {
      ::execvp(argv[i], argv + i);
      std::cerr << "mds_register: cannot run " << argv[i] << ": " << std::strerror(errno) << "\n";
      _exit(127);
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    ferry::mds::unregisterPod(std::move(conn));
    if (portAnswers(static_cast<uint16_t>(port))) {
      std::cerr << "mds_register: 127.0.0.1:" << port << " still answers after unregistering\n";
      return 3;
    }
    return code;
  } catch (const std::exception& e) {
    std::cerr << "mds_register: " << e.what() << "\n";
    return 254;
  }
}
