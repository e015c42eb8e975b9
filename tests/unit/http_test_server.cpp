#include "tests/unit/http_test_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <system_error>

#include "discovery/http.hpp"

namespace ferry::test {

namespace {

constexpr size_t kMaxHead = 64 << 10;

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

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// application/x-www-form-urlencoded decoding; a '%' not followed by two hex digits stays as is.
std::string percentDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hexValue(s[i + 1]) >= 0 && hexValue(s[i + 2]) >= 0) {
      out += static_cast<char>(hexValue(s[i + 1]) * 16 + hexValue(s[i + 2]));
      i += 2;
    } else if (s[i] == '+') {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

// A socket listening on 127.0.0.1 at a port the kernel picks.
UniqueFd listenOn(uint16_t& port, int flags) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | flags, 0));
  if (!fd) throw std::system_error(errno, std::generic_category(), "cannot create a socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
      ::listen(fd.get(), 64) != 0 ||
      ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw std::system_error(errno, std::generic_category(), "cannot listen on 127.0.0.1");
  }
  port = ntohs(addr.sin_port);
  return fd;
}

// The request line and headers (without the blank line); nullopt for a malformed request line.
std::optional<HttpRequest> parseHead(std::string_view head) {
  size_t eol = head.find("\r\n");
  std::string_view line = head.substr(0, eol);
  size_t sp1 = line.find(' ');
  size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return std::nullopt;
  HttpRequest request;
  request.method = std::string(line.substr(0, sp1));
  request.target = std::string(line.substr(sp1 + 1, sp2 - sp1 - 1));
  size_t qm = request.target.find('?');
  request.path = request.target.substr(0, qm);
  if (qm != std::string::npos) request.query = request.target.substr(qm + 1);
  std::string_view rest = eol == std::string_view::npos ? "" : head.substr(eol + 2);
  while (!rest.empty()) {
    size_t e = rest.find("\r\n");
    std::string_view h = rest.substr(0, e);
    rest = e == std::string_view::npos ? "" : rest.substr(e + 2);
    size_t colon = h.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view value = h.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
      value.remove_prefix(1);
    }
    request.headers.emplace_back(std::string(h.substr(0, colon)), std::string(value));
  }
  return request;
}

}  // namespace

std::optional<std::string> HttpRequest::header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (iequals(n, name)) return v;
  }
  return std::nullopt;
}

std::optional<std::string> HttpRequest::queryParam(std::string_view name) const {
  std::string_view q = query;
  while (!q.empty()) {
    size_t amp = q.find('&');
    std::string_view pair = q.substr(0, amp);
    size_t eq = pair.find('=');
    if (percentDecode(pair.substr(0, eq)) == name) {
      return eq == std::string_view::npos ? std::string() : percentDecode(pair.substr(eq + 1));
    }
    if (amp == std::string_view::npos) break;
    q.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

HttpTestServer::HttpTestServer() : HttpTestServer(Handler()) {}

HttpTestServer::HttpTestServer(Handler handler) : handler_(std::move(handler)) {
  listenFd_ = listenOn(port_, SOCK_NONBLOCK);  // accept4 after a poll must not block
  stopFd_ = UniqueFd(::eventfd(0, EFD_CLOEXEC));
  if (!stopFd_) throw std::system_error(errno, std::generic_category(), "cannot create an eventfd");
  acceptor_ = std::thread([this] { acceptLoop(); });
}

HttpTestServer::~HttpTestServer() {
  uint64_t one = 1;
  if (::write(stopFd_.get(), &one, sizeof one) != static_cast<ssize_t>(sizeof one)) {
    std::perror("http test server: cannot signal the stop");  // joining would hang
    std::abort();
  }
  acceptor_.join();
  for (std::thread& t : workers_) t.join();
}

std::string HttpTestServer::hostPort() const { return "127.0.0.1:" + std::to_string(port_); }

std::string HttpTestServer::url(std::string_view target) const {
  return "http://" + hostPort() + std::string(target);
}

void HttpTestServer::route(const std::string& target, HttpReply reply) {
  std::lock_guard lock(mutex_);
  routes_[target] = std::move(reply);
}

void HttpTestServer::redirect(const std::string& target, int status, const std::string& location) {
  route(target, HttpReply{status, {{"Location", location}}, "moved\n"});
}

std::vector<HttpRequest> HttpTestServer::requests() const {
  std::lock_guard lock(mutex_);
  return received_;
}

bool HttpTestServer::wait(int fd, short events) const {
  pollfd fds[2] = {{fd, events, 0}, {stopFd_.get(), POLLIN, 0}};
  for (;;) {
    int r = ::poll(fds, 2, -1);
    if (r >= 0) return fds[1].revents == 0;
    if (errno != EINTR) return false;
  }
}

bool HttpTestServer::readSome(int fd, std::string& in) const {
  char buf[4096];
  for (;;) {
    if (!wait(fd, POLLIN)) return false;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n > 0) {
      in.append(buf, static_cast<size_t>(n));
      return true;
    }
    if (n == 0) return false;
    if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) return false;
  }
}

void HttpTestServer::sendAll(int fd, std::string_view data) const {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!wait(fd, POLLOUT)) return;
    } else {
      return;  // the client went away
    }
  }
}

void HttpTestServer::acceptLoop() {
  while (wait(listenFd_.get(), POLLIN)) {
    UniqueFd fd(::accept4(listenFd_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (!fd) {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNABORTED) {
        continue;
      }
      std::perror("http test server: cannot accept a connection");
      return;
    }
    ++connections_;
    std::lock_guard lock(mutex_);
    workers_.emplace_back([this, fd = std::move(fd)] { serve(fd.get()); });
  }
}

HttpReply HttpTestServer::replyTo(const HttpRequest& request) {
  {
    std::lock_guard lock(mutex_);
    if (auto it = routes_.find(request.target); it != routes_.end()) return it->second;
  }
  if (!handler_) return HttpReply{404, {}, "not found\n"};
  try {
    return handler_(request);
  } catch (const std::exception& e) {
    return HttpReply{500, {}, e.what()};
  }
}

void HttpTestServer::serve(int fd) {
  std::string in;
  size_t headEnd;
  while ((headEnd = in.find("\r\n\r\n")) == std::string::npos) {
    if (in.size() > kMaxHead || !readSome(fd, in)) return;
    // Not HTTP (a TLS ClientHello): hang up at once.
    if (!(in[0] >= 'A' && in[0] <= 'Z')) return;
  }
  std::optional<HttpRequest> request = parseHead(std::string_view(in).substr(0, headEnd));
  if (!request) return;
  size_t length = 0;
  if (std::optional<std::string> cl = request->header("Content-Length")) {
    const char* end = cl->data() + cl->size();
    auto [p, ec] = std::from_chars(cl->data(), end, length);
    if (ec != std::errc() || p != end) return;
  }
  size_t bodyStart = headEnd + 4;
  while (in.size() - bodyStart < length) {
    if (!readSome(fd, in)) return;
  }
  request->body = in.substr(bodyStart, length);
  {
    std::lock_guard lock(mutex_);
    received_.push_back(*request);
  }

  HttpReply reply = replyTo(*request);
  std::string out = "HTTP/1.1 " + std::to_string(reply.status) + " " +
                    std::string(http::reasonPhrase(reply.status)) + "\r\n";
  out +=
      "Content-Length: " + std::to_string(reply.contentLength.value_or(reply.body.size())) + "\r\n";
  out += "Connection: close\r\n";
  for (const auto& [n, v] : reply.headers) out += n + ": " + v + "\r\n";
  out += "\r\n";
  if (request->method != "HEAD" && !reply.stall) out += reply.body;
  sendAll(fd, out);
  // A stalled reply keeps its side open: the promised body never comes.
  if (!reply.stall) ::shutdown(fd, SHUT_WR);
  // Drain until the client hangs up, so that the close never turns into a reset.
  std::string ignored;
  while (readSome(fd, ignored)) ignored.clear();
}

uint16_t closedPort() {
  uint16_t port = 0;
  listenOn(port, 0);  // closed again at once
  return port;
}

}  // namespace ferry::test
