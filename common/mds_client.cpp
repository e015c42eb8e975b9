#include "common/mds_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <thread>

#include "common/error.hpp"
#include "common/fd_passing.hpp"

namespace ferry::mds {

namespace fs = std::filesystem;

std::string newToken() {
  // The kernel's CSPRNG (getrandom blocks only until it is seeded, at boot).
  unsigned char bytes[32];
  size_t got = 0;
  while (got < sizeof bytes) {
    ssize_t n = ::getrandom(bytes + got, sizeof bytes - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      throwErrno("make a metadata service token (getrandom)");
    }
    got += static_cast<size_t>(n);
  }
  static const char kHex[] = "0123456789abcdef";
  std::string token;
  for (unsigned char b : bytes) {
    token += kHex[b >> 4];
    token += kHex[b & 15];
  }
  return token;
}

std::string metadataUrl(uint16_t port, std::string_view token) {
  return "http://127.0.0.1:" + std::to_string(port) + "/" + std::string(token);
}

UniqueFd listenInPod(uint16_t port) {
  std::string what = "127.0.0.1:" + std::to_string(port);
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) throwErrno("create a socket for the metadata service");
  int one = 1;
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) {
    throwErrno("set SO_REUSEADDR on " + what);
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    throwErrno("bind the metadata service socket to " + what);
  }
  if (::listen(fd.get(), 128) != 0) throwErrno("listen on " + what);
  return fd;
}

UniqueFd listenInNetns(int netnsFd, uint16_t port) {
  UniqueFd result;
  std::exception_ptr error;
  // A thread of its own: setns(CLONE_NEWNET) changes only the calling thread, and this one ends
  // right after creating the socket (which stays bound to the namespace it was made in).
  std::thread t([&] {
    try {
      if (::setns(netnsFd, CLONE_NEWNET) != 0) throwErrno("join the pod's network namespace");
      result = listenInPod(port);
    } catch (...) {
      error = std::current_exception();
    }
  });
  t.join();
  if (error) std::rethrow_exception(error);
  return result;
}

json::Json registrationFromPodDir(const fs::path& podDir, std::string_view uuid,
                                  std::string_view token) {
  fs::path podFile = podDir / "pod";
  json::Json pod = json::parse(readFile(podFile), podFile.string());
  json::Json reg = json::Json::object();
  reg["mdsRegistrationVersion"] = kRegistrationVersion;
  reg["type"] = "register";
  reg["uuid"] = std::string(uuid);
  reg["token"] = std::string(token);
  json::Json apps = json::Json::object();
  if (!pod.is_object() || !pod.contains("apps")) {
    throw Error(Errc::kInvalid, podFile.string() + ": apps: missing");
  }
  const json::Json& list = json::asArray(pod["apps"], podFile.string() + ": apps");
  for (size_t i = 0; i < list.size(); ++i) {
    std::string where = podFile.string() + ": " + json::child(json::index("apps", i), "name");
    if (!list[i].is_object() || !list[i].contains("name")) {
      throw Error(Errc::kInvalid, where + ": missing");
    }
    const std::string& name = json::asString(list[i]["name"], where);
    if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..") {
      throw Error(Errc::kInvalid, where + ": " + quote(name) + " is not an app name");
    }
    fs::path manifest = podDir / "apps" / name / "manifest";
    json::Json app = json::Json::object();
    app["imageManifest"] = json::parse(readFile(manifest), manifest.string());
    apps[name] = std::move(app);
  }
  reg["podManifest"] = std::move(pod);
  reg["apps"] = std::move(apps);
  return reg;
}

void writeFrame(int fd, std::string_view payload, int passFd) {
  if (payload.size() > kMaxFrame) {
    throw Error(Errc::kLimit, "cannot send a metadata service message of " +
                                  std::to_string(payload.size()) + " bytes: the limit is " +
                                  std::to_string(kMaxFrame));
  }
  uint32_t n = htonl(static_cast<uint32_t>(payload.size()));
  std::string frame(reinterpret_cast<const char*>(&n), sizeof n);
  frame.append(payload);
  size_t sent = 0;
  if (passFd >= 0) {
    // The descriptor travels with the first bytes of the frame.
    ssize_t r = sendWithFds(fd, frame, {&passFd, 1});
    if (r < 0) throwErrno("send to the metadata service");
    sent = static_cast<size_t>(r);
  }
  while (sent < frame.size()) {
    ssize_t r = ::send(fd, frame.data() + sent, frame.size() - sent, MSG_NOSIGNAL);
    if (r < 0) {
      if (errno == EINTR) continue;
      throwErrno("send to the metadata service");
    }
    sent += static_cast<size_t>(r);
  }
}

namespace {

// Reads exactly size bytes; false on end of stream before the first byte when allowEof.
bool recvAll(int fd, char* data, size_t size, bool allowEof) {
  size_t got = 0;
  while (got < size) {
    ssize_t r = ::recv(fd, data + got, size - got, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      throwErrno("read from the metadata service");
    }
    if (r == 0) {
      if (got == 0 && allowEof) return false;
      throw Error(Errc::kIo, "cannot read from the metadata service: connection closed");
    }
    got += static_cast<size_t>(r);
  }
  return true;
}

void expectOk(int fd) {
  std::string answer;
  if (!readFrame(fd, answer)) {
    throw Error(Errc::kIo, "metadata service closed the connection without answering");
  }
  json::Json j = json::parse(answer, "metadata service answer");
  if (j.is_object() && j.contains("ok") && j["ok"] == true) return;
  if (j.is_object() && j.contains("error") && j["error"].is_string()) {
    throw Error(Errc::kInvalid,
                "metadata service refused the pod: " + j["error"].get<std::string>());
  }
  throw Error(Errc::kInvalid, "metadata service answered nonsense: " + answer);
}

}  // namespace

bool readFrame(int fd, std::string& payload) {
  uint32_t n;
  if (!recvAll(fd, reinterpret_cast<char*>(&n), sizeof n, true)) return false;
  n = ntohl(n);
  if (n > kMaxFrame) {
    throw Error(Errc::kLimit, "metadata service message of " + std::to_string(n) +
                                  " bytes: the limit is " + std::to_string(kMaxFrame));
  }
  payload.assign(n, '\0');
  recvAll(fd, payload.data(), n, false);
  return true;
}

UniqueFd registerPod(const fs::path& socketPath, const json::Json& registration, int listenFd) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) throwErrno("create a unix socket");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string& p = socketPath.native();
  if (p.size() >= sizeof addr.sun_path) {
    throw Error(Errc::kInvalid, "metadata service socket path " + quote(p) + " is too long");
  }
  std::memcpy(addr.sun_path, p.c_str(), p.size() + 1);
  int r;
  do {
    r = ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  } while (r < 0 && errno == EINTR);
  if (r != 0) {
    int err = errno;
    throw Error(Errc::kIo, "cannot reach the metadata service at " + quote(p) + ": " +
                               std::strerror(err) + " (is `ferry metadata-service` running?)");
  }
  writeFrame(fd.get(), json::dump(registration), listenFd);
  expectOk(fd.get());
  return fd;
}

void unregisterPod(UniqueFd connection) {
  writeFrame(connection.get(), R"({"type":"unregister"})");
  expectOk(connection.get());
}

}  // namespace ferry::mds
