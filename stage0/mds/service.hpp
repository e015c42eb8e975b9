// `ferry metadata-service`: the appc metadata service over HTTP (Boost.Asio/Beast).
//
// One thread runs one io_context holding: the unix socket where pods register
// (common/mds_client.hpp), one acceptor per registered pod (on the listening socket the pod passed
// in, which lives in the pod's network namespace), and optionally a TCP listener in the host's
// namespace that serves only hmac/verify. What a request gets is decided by router.hpp.
// The registration socket is mode 0600 and only peers with the service's own uid may register:
// a registration claims a pod UUID, and signatures are made in that UUID's name.
#pragma once

#include <filesystem>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>

namespace ferry::mds {

inline constexpr const char* kDefaultSocket = "/run/ferry/mds.sock";

struct ServiceOptions {
  std::filesystem::path unixSocket = kDefaultSocket;
  std::optional<std::string> tcpListen;  // "ADDR:PORT" or "[V6ADDR]:PORT"
  bool debug = false;                    // log every request
};

class Service {
 public:
  // Binds every socket (the unix socket appears at its path only once it listens), or throws.
  Service(ServiceOptions options, std::ostream& log);
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // The port of the host TCP listener (useful with port 0); 0 when there is none.
  unsigned short tcpPort() const;
  // Serves until SIGINT/SIGTERM (when handleSignals) or stop().
  void run(bool handleSignals);
  // Thread-safe: makes run() return.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ferry::mds
