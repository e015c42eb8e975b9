// A tiny HTTP/1.1 server on 127.0.0.1 for the http and discovery tests.
//
// Routes map a request target ("/path?query") to a canned response; anything else is a 404.
// Each connection carries one request and is served on its own thread; the server records
// what it received. A stalling response sends its headers (with the body's Content-Length) and
// nothing more, holding the connection until the client gives up or the server stops.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "discovery/http.hpp"

namespace ferry::test {

struct CannedResponse {
  int status = 200;
  http::Headers headers;
  std::string body;
  bool stall = false;
};

struct ReceivedRequest {
  std::string method;
  std::string target;
  http::Headers headers;
  std::string body;
  std::optional<std::string> header(std::string_view name) const;
};

class TestServer {
 public:
  TestServer();
  ~TestServer();
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  uint16_t port() const { return port_; }
  // "http://127.0.0.1:PORT" + target
  std::string url(std::string_view target) const;

  void route(const std::string& target, CannedResponse response);
  // A redirect with the given status and Location.
  void redirect(const std::string& target, int status, const std::string& location);

  std::vector<ReceivedRequest> requests() const;
  size_t connections() const { return connections_.load(); }

 private:
  void acceptLoop();
  void serve(int fd);

  int listenFd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<size_t> connections_{0};
  mutable std::mutex mutex_;
  std::map<std::string, CannedResponse> routes_;
  std::vector<ReceivedRequest> received_;
  std::vector<std::thread> workers_;
  std::thread acceptor_;
};

// A 127.0.0.1 port that refuses connections (bound once, then closed).
uint16_t closedPort();

}  // namespace ferry::test
