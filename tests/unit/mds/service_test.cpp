// The service and the client library together, over real sockets: a unix socket for
// registrations and loopback TCP for HTTP (a network namespace of its own where allowed).
#include "stage0/mds/service.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <sstream>
#include <thread>

#include "common/fs.hpp"
#include "common/mds_client.hpp"
#include "stage0/mds/hmac.hpp"
#include "tests/unit/mds/test_util.hpp"

namespace ferry::mds {
namespace {

struct HttpAnswer {
  int status = 0;
  std::string contentType;
  std::string body;
};

uint16_t portOf(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) throwErrno("getsockname");
  return ntohs(a.sin_port);
}

// -1 when the connection is refused.
int connectLoopback(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

HttpAnswer http(uint16_t port, const std::string& method, const std::string& target,
                const std::string& form = "") {
  UniqueFd fd(connectLoopback(port));
  if (!fd) throw std::runtime_error("connection refused");
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  if (method == "POST") {
    req += "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: " +
           std::to_string(form.size()) + "\r\n";
  }
  req += "\r\n" + form;
  writeAll(fd.get(), req.data(), req.size(), "request");
  std::string raw;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n <= 0) break;
    raw.append(buf, static_cast<size_t>(n));
  }
  HttpAnswer a;
  size_t end = raw.find("\r\n\r\n");
  if (raw.size() < 12 || end == std::string::npos) throw std::runtime_error("bad answer: " + raw);
  a.status = std::stoi(raw.substr(9, 3));
  std::istringstream headers(raw.substr(0, end));
  for (std::string line; std::getline(headers, line);) {
    if (line.rfind("Content-Type: ", 0) == 0) a.contentType = line.substr(14, line.size() - 15);
  }
  a.body = raw.substr(end + 4);
  return a;
}

std::string formEscape(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (isalnum(c)) {
      out += static_cast<char>(c);
    } else {
      char b[4];
      snprintf(b, sizeof b, "%%%02X", c);
      out += b;
    }
  }
  return out;
}

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::make_unique<TempDir>("/tmp", "mds-test-");
    ServiceOptions o;
    o.unixSocket = dir_->path() / "run" / "mds.sock";
    o.tcpListen = "127.0.0.1:0";
    service_ = std::make_unique<Service>(o, log_);
    socket_ = o.unixSocket;
    thread_ = std::thread([this] { service_->run(false); });
  }
  void TearDown() override {
    service_->stop();
    thread_.join();
    service_.reset();
    EXPECT_FALSE(std::filesystem::exists(socket_)) << "the socket outlives the service";
  }

  std::string v1(const std::string& path, const std::string& token = test::kToken) {
    return "/" + token + "/acMetadata/v1" + path;
  }

  std::unique_ptr<TempDir> dir_;
  std::ostringstream log_;  // written by the service thread only
  std::unique_ptr<Service> service_;
  std::filesystem::path socket_;
  std::thread thread_;
};

TEST_F(ServiceTest, RegisteredPodReadsItsMetadataAndSigns) {
  UniqueFd listener = listenInPod(0);
  uint16_t port = portOf(listener.get());
  UniqueFd conn = registerPod(socket_, test::registration(), listener.get());
  listener.reset();  // the service holds its own copy now

  HttpAnswer a = http(port, "GET", v1("/pod/uuid"));
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.contentType, "text/plain; charset=us-ascii");
  EXPECT_EQ(a.body, test::kUuid);
  a = http(port, "GET", v1("/apps/main/image/manifest"));
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.contentType, "application/json");
  EXPECT_EQ(json::parse(a.body, "manifest")["name"], "example.com/main");
  EXPECT_EQ(http(port, "GET", v1("/pod/uuid", std::string(64, '0'))).status, 401);
  EXPECT_EQ(http(port, "GET", v1("/pod/nothing")).status, 404);

  a = http(port, "POST", v1("/pod/hmac/sign"), "content=hello+world");
  ASSERT_EQ(a.status, 200);
  std::string sig = a.body;
  std::string verify =
      "content=hello+world&uuid=" + std::string(test::kUuid) + "&signature=" + formEscape(sig);
  EXPECT_EQ(http(port, "POST", v1("/pod/hmac/verify"), verify).status, 200);
  EXPECT_EQ(http(service_->tcpPort(), "POST", "/acMetadata/v1/pod/hmac/verify", verify).status,
            200);
  EXPECT_EQ(
      http(service_->tcpPort(), "POST", "/acMetadata/v1/pod/hmac/verify",
           "content=hello+World&uuid=" + std::string(test::kUuid) + "&signature=" + formEscape(sig))
          .status,
      403);

  unregisterPod(std::move(conn));
  // The service closed the pod's listener before answering: nobody listens on the port now.
  EXPECT_EQ(connectLoopback(port), -1);
}

TEST_F(ServiceTest, RefusalsCarryTheServicesReason) {
  UniqueFd listener = listenInPod(0);
  json::Json bad = test::registration();
  bad["apps"].erase("side");
  std::string err = test::errorOf([&] { registerPod(socket_, bad, listener.get()); });
  EXPECT_NE(err.find("refused the pod: apps.side: missing"), std::string::npos) << err;

  // A descriptor that is not a listening TCP socket.
  UniqueFd notListening(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  err = test::errorOf([&] { registerPod(socket_, test::registration(), notListening.get()); });
  EXPECT_NE(err.find("not a listening socket"), std::string::npos) << err;
  UniqueFd file = openFile("/dev/null", O_RDONLY);
  err = test::errorOf([&] { registerPod(socket_, test::registration(), file.get()); });
  EXPECT_NE(err.find("not a listening socket"), std::string::npos) << err;

  // The same pod twice while the first registration lives.
  UniqueFd conn = registerPod(socket_, test::registration(), listener.get());
  UniqueFd second = listenInPod(0);
  err = test::errorOf([&] { registerPod(socket_, test::registration(), second.get()); });
  EXPECT_NE(err.find("registered already"), std::string::npos) << err;

  err = test::errorOf(
      [&] { registerPod(dir_->path() / "nobody.sock", test::registration(), second.get()); });
  EXPECT_NE(err.find("cannot reach the metadata service"), std::string::npos) << err;
}

TEST_F(ServiceTest, ClosingTheConnectionUnregisters) {
  UniqueFd listener = listenInPod(0);
  uint16_t port = portOf(listener.get());
  { UniqueFd conn = registerPod(socket_, test::registration(), listener.get()); }
  listener.reset();
  // The service notices the closed connection asynchronously: wait (bounded) until the pod's
  // listener is gone, then the same pod may register again.
  int fd = -1;
  for (int i = 0; i < 500; ++i) {
    fd = connectLoopback(port);
    if (fd < 0) break;
    ::close(fd);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(fd, -1) << "the pod's listener is still open after its registration closed";
  UniqueFd again = listenInPod(0);
  UniqueFd conn = registerPod(socket_, test::registration(), again.get());
  EXPECT_TRUE(conn);
}

TEST_F(ServiceTest, SecondServiceOnTheSameSocketIsRefused) {
  ServiceOptions o;
  o.unixSocket = socket_;
  std::ostringstream log;
  std::string err = test::errorOf([&] { Service s(o, log); });
  EXPECT_NE(err.find("listening on"), std::string::npos) << err;
}

// The point of the design: the pod's listener lives in the pod's network namespace, the
// service in the host's; apps reach it on their own loopback.
TEST_F(ServiceTest, ListenerInAnotherNetworkNamespace) {
  int nsFd = -1;
  int unshareErr = 0;
  std::thread([&] {
    if (::unshare(CLONE_NEWNET) != 0) {
      unshareErr = errno;
      return;
    }
    nsFd = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    // Loopback starts down in a new namespace.
    int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ifreq ifr{};
    std::strcpy(ifr.ifr_name, "lo");
    ::ioctl(s, SIOCGIFFLAGS, &ifr);
    ifr.ifr_flags |= IFF_UP;
    ::ioctl(s, SIOCSIFFLAGS, &ifr);
    ::close(s);
  }).join();
  if (unshareErr == EPERM) GTEST_SKIP() << "cannot create a network namespace (not root)";
  ASSERT_EQ(unshareErr, 0) << std::strerror(unshareErr);
  UniqueFd ns(nsFd);

  UniqueFd listener = listenInNetns(ns.get(), 2375);
  UniqueFd conn = registerPod(socket_, test::registration(), listener.get());
  listener.reset();

  HttpAnswer inPod;
  std::string error;
  std::thread([&] {
    try {
      if (::setns(ns.get(), CLONE_NEWNET) != 0) throwErrno("setns");
      inPod = http(2375, "GET", v1("/pod/uuid"));
    } catch (const std::exception& e) {
      error = e.what();
    }
  }).join();
  EXPECT_EQ(error, "");
  EXPECT_EQ(inPod.status, 200);
  EXPECT_EQ(inPod.body, test::kUuid);
}

}  // namespace
}  // namespace ferry::mds
