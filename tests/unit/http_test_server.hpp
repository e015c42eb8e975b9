// A tiny HTTP/1.1 server on 127.0.0.1 for the unit tests of discovery/ (http::Client, appc
// discovery) and of the registry client.
//
// One thread accepts; each connection gets a thread that reads one request (headers, then a
// body of Content-Length bytes), logs it, and answers with "Connection: close". The answer is
// the route registered for the exact request target ("/path?query"), else the handler's reply,
// else a 404; a handler that throws makes a 500. After the reply the server shuts its side
// down and drains until the client closes, so that the close never turns into a reset.
//
// A reply can misbehave on purpose: `contentLength` lies about the body's size (a connection
// cut in the middle of a body), `stall` sends the headers and nothing more, holding the
// connection until the client gives up or the server stops. A connection whose first byte is
// not an upper-case letter (a TLS ClientHello) is hung up on at once.
//
// Every wait polls the connection together with an eventfd that the destructor signals, so a
// server stops at once whatever its clients do.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "common/fs.hpp"

namespace ferry::test {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method;
  std::string target;  // path and query, as sent
  std::string path;    // without the query
  std::string query;   // after the '?', as sent
  HeaderList headers;  // names as sent
  std::string body;
  // The value of the first header of that name (case-insensitive).
  std::optional<std::string> header(std::string_view name) const;
  // The value of a query parameter (percent-decoded, '+' is a space).
  std::optional<std::string> queryParam(std::string_view name) const;
};

struct HttpReply {
  // Every member has a default, so that designated initializers can leave any of them out.
  int status = 200;
  HeaderList headers = {};  // besides Content-Length and Connection, which the server writes
  std::string body = {};
  std::optional<uint64_t> contentLength = std::nullopt;  // overrides body.size() in the header
  bool stall = false;  // send the headers only and hold the connection
};

class HttpTestServer {
 public:
  using Handler = std::function<HttpReply(const HttpRequest&)>;

  // Answers from the routes only.
  HttpTestServer();
  // Answers requests without a route from the handler (called on the connection's thread).
  explicit HttpTestServer(Handler handler);
  ~HttpTestServer();
  HttpTestServer(const HttpTestServer&) = delete;
  HttpTestServer& operator=(const HttpTestServer&) = delete;

  uint16_t port() const { return port_; }
  // "127.0.0.1:PORT"
  std::string hostPort() const;
  // "http://127.0.0.1:PORT" + target
  std::string url(std::string_view target) const;

  // Answers requests for exactly this target ("/path?query") with the reply.
  void route(const std::string& target, HttpReply reply);
  // A redirect with the given status and Location (body "moved\n").
  void redirect(const std::string& target, int status, const std::string& location);

  // The requests received so far, in the order they were read.
  std::vector<HttpRequest> requests() const;
  // The connections accepted so far.
  size_t connections() const { return connections_.load(); }

 private:
  void acceptLoop();
  void serve(int fd);
  // Waits until fd has one of events; false once the server stops (or poll fails).
  bool wait(int fd, short events) const;
  // Reads what is there into `in`; false at end of stream, on error, or once the server stops.
  bool readSome(int fd, std::string& in) const;
  // Sends everything unless the client goes away or the server stops.
  void sendAll(int fd, std::string_view data) const;
  HttpReply replyTo(const HttpRequest& request);

  Handler handler_;
  UniqueFd listenFd_;
  UniqueFd stopFd_;  // an eventfd, readable once the server stops
  uint16_t port_ = 0;
  std::atomic<size_t> connections_{0};
  mutable std::mutex mutex_;
  std::map<std::string, HttpReply> routes_;
  std::vector<HttpRequest> received_;
  std::vector<std::thread> workers_;
  std::thread acceptor_;
};

// A 127.0.0.1 port that refuses connections (bound once, then closed).
uint16_t closedPort();

}  // namespace ferry::test
