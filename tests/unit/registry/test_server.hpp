// A tiny HTTP/1.1 server on 127.0.0.1 for the registry client's tests.
//
// One thread accepts; each connection gets a thread that reads one request (headers only),
// asks the handler for a reply, writes it with "Connection: close" and closes. A reply may lie
// about its Content-Length to simulate a connection cut in the middle of a body. Requests are
// logged for assertions.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace ferry::registry::testing {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method;
  std::string target;  // path and query, as sent
  std::string path;    // without the query
  std::string query;
  HeaderList headers;
  std::optional<std::string> header(std::string_view name) const;
  // The value of a query parameter (percent-decoded).
  std::optional<std::string> queryParam(std::string_view name) const;
};

struct HttpReply {
  int status = 200;
  HeaderList headers;
  std::string body;
  std::optional<uint64_t> contentLength;  // overrides body.size() in the header
};

class TestServer {
 public:
  using Handler = std::function<HttpReply(const HttpRequest&)>;
  explicit TestServer(Handler handler);
  ~TestServer();
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  uint16_t port() const { return port_; }
  std::string hostPort() const { return "127.0.0.1:" + std::to_string(port_); }
  std::vector<HttpRequest> requests() const;

 private:
  void acceptLoop();
  void serve(int fd);

  Handler handler_;
  int listenFd_ = -1;
  uint16_t port_ = 0;
  std::thread acceptor_;
  mutable std::mutex mutex_;
  std::vector<std::thread> connections_;
  std::vector<HttpRequest> log_;
};

}  // namespace ferry::registry::testing
