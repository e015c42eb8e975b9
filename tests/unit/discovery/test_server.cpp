#include "tests/unit/discovery/test_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

namespace ferry::test {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

int listenOn(uint16_t& port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 || listen(fd, 64) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    throw std::runtime_error("bind/listen failed");
  }
  port = ntohs(addr.sin_port);
  return fd;
}

void sendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return;
    data.remove_prefix(static_cast<size_t>(n));
  }
}

std::string reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 307:
      return "Temporary Redirect";
    case 404:
      return "Not Found";
    default:
      return "Whatever";
  }
}

}  // namespace

std::optional<std::string> ReceivedRequest::header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (iequals(n, name)) return v;
  }
  return std::nullopt;
}

TestServer::TestServer() {
  listenFd_ = listenOn(port_);
  acceptor_ = std::thread([this] { acceptLoop(); });
}

TestServer::~TestServer() {
  stopping_ = true;
  acceptor_.join();
  for (auto& t : workers_) t.join();
  close(listenFd_);
}

std::string TestServer::url(std::string_view target) const {
  return "http://127.0.0.1:" + std::to_string(port_) + std::string(target);
}

void TestServer::route(const std::string& target, CannedResponse response) {
  std::lock_guard lock(mutex_);
  routes_[target] = std::move(response);
}

void TestServer::redirect(const std::string& target, int status, const std::string& location) {
  route(target, CannedResponse{status, {{"Location", location}}, "moved\n"});
}

std::vector<ReceivedRequest> TestServer::requests() const {
  std::lock_guard lock(mutex_);
  return received_;
}

void TestServer::acceptLoop() {
  while (!stopping_) {
    pollfd p{listenFd_, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    int fd = accept4(listenFd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    ++connections_;
    std::lock_guard lock(mutex_);
    workers_.emplace_back([this, fd] {
      serve(fd);
      close(fd);
    });
  }
}

void TestServer::serve(int fd) {
  std::string in;
  char buf[4096];
  size_t headerEnd;
  auto readMore = [&] {
    while (!stopping_) {
      pollfd p{fd, POLLIN, 0};
      int r = poll(&p, 1, 50);
      if (r < 0) return false;
      if (r == 0) continue;
      ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return false;
      in.append(buf, static_cast<size_t>(n));
      return true;
    }
    return false;
  };
  while ((headerEnd = in.find("\r\n\r\n")) == std::string::npos) {
    if (!readMore()) return;
  }
  ReceivedRequest req;
  std::string_view head(in.data(), headerEnd);
  size_t eol = head.find("\r\n");
  std::string_view requestLine = head.substr(0, eol);
  size_t sp1 = requestLine.find(' ');
  size_t sp2 = requestLine.rfind(' ');
  req.method = std::string(requestLine.substr(0, sp1));
  req.target = std::string(requestLine.substr(sp1 + 1, sp2 - sp1 - 1));
  std::string_view rest = eol == std::string_view::npos ? "" : head.substr(eol + 2);
  while (!rest.empty()) {
    size_t e = rest.find("\r\n");
    std::string_view line = rest.substr(0, e);
    size_t colon = line.find(':');
    if (colon != std::string_view::npos) {
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      req.headers.emplace_back(std::string(line.substr(0, colon)), std::string(value));
    }
    rest = e == std::string_view::npos ? "" : rest.substr(e + 2);
  }
  size_t length = 0;
  if (auto cl = req.header("Content-Length")) length = std::stoul(*cl);
  while (in.size() < headerEnd + 4 + length) {
    if (!readMore()) return;
  }
  req.body = in.substr(headerEnd + 4, length);

  CannedResponse response{404, {}, "not found\n"};
  {
    std::lock_guard lock(mutex_);
    received_.push_back(req);
    if (auto it = routes_.find(req.target); it != routes_.end()) response = it->second;
  }
  std::string out =
      "HTTP/1.1 " + std::to_string(response.status) + " " + reason(response.status) + "\r\n";
  out += "Content-Length: " + std::to_string(response.body.size()) + "\r\n";
  out += "Connection: close\r\n";
  for (const auto& [n, v] : response.headers) out += n + ": " + v + "\r\n";
  out += "\r\n";
  if (req.method == "HEAD") {
    sendAll(fd, out);
    return;
  }
  if (!response.stall) {
    sendAll(fd, out + response.body);
    return;
  }
  sendAll(fd, out);     // the promised body never comes
  while (!stopping_) {  // hold the connection until the client hangs up
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 50) > 0 && recv(fd, buf, sizeof buf, 0) <= 0) return;
  }
}

uint16_t closedPort() {
  uint16_t port = 0;
  close(listenOn(port));
  return port;
}

}  // namespace ferry::test
