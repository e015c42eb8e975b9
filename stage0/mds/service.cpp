#include "stage0/mds/service.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

// Boost 1.74's asio/awaitable.hpp uses std::exchange without including <utility>.
#include <utility>
// clang-format off
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
// clang-format on
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <functional>
#include <ostream>

#include "common/error.hpp"
#include "common/fd_passing.hpp"
#include "common/fs.hpp"
#include "common/mds_client.hpp"
#include "stage0/mds/hmac.hpp"
#include "stage0/mds/pod_registry.hpp"
#include "stage0/mds/router.hpp"

namespace ferry::mds {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace fs = std::filesystem;
using tcp = asio::ip::tcp;
using unix_stream = asio::local::stream_protocol;

namespace {

constexpr auto kIdleTimeout = std::chrono::seconds(30);
constexpr size_t kMaxRequestBody = 1 << 20;
constexpr size_t kMaxRegistrationBuffer = kMaxFrame + 4;

using Router = std::function<Response(const Request&)>;

// One HTTP/1.1 connection: read a request, answer it, again while the client keeps it alive.
class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(tcp::socket socket, Router router, std::ostream* log)
      : stream_(std::move(socket)), router_(std::move(router)), log_(log) {}

  void start() { read(); }

 private:
  void read() {
    parser_.emplace();
    parser_->body_limit(kMaxRequestBody);
    stream_.expires_after(kIdleTimeout);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->onRead(ec); });
  }

  void onRead(beast::error_code ec) {
    if (ec) {
      // End of stream, timeout, or a request we cannot parse: nothing useful to answer.
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
      return;
    }
    auto& req = parser_->get();
    Request r{std::string(req.method_string()), std::string(req.target()),
              std::string(req[http::field::content_type]), req.body()};
    Response out = router_(r);
    if (log_) *log_ << r.method << " " << r.target << " " << out.status << std::endl;
    res_ = {};
    res_.version(req.version());
    res_.result(static_cast<unsigned>(out.status));
    res_.set(http::field::server, "ferry-metadata-service");
    res_.set(http::field::content_type, out.contentType);
    if (!out.allow.empty()) res_.set(http::field::allow, out.allow);
    res_.keep_alive(req.keep_alive());
    if (req.method() == http::verb::head) {
      res_.content_length(out.body.size());
    } else {
      res_.body() = std::move(out.body);
      res_.prepare_payload();
    }
    http::async_write(stream_, res_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (!ec && self->res_.keep_alive()) {
        self->read();
      } else {
        beast::error_code ignored;
        self->stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
      }
    });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> res_;
  Router router_;
  std::ostream* log_;
};

void acceptLoop(std::shared_ptr<tcp::acceptor> acceptor, std::function<Router()> routerFor,
                std::ostream* log) {
  acceptor->async_accept([acceptor, routerFor, log](beast::error_code ec, tcp::socket s) {
    if (ec == asio::error::operation_aborted || !acceptor->is_open()) return;
    if (!ec) {
      std::make_shared<HttpSession>(std::move(s), routerFor(), log)->start();
      return acceptLoop(acceptor, routerFor, log);
    }
    // Out of descriptors or memory, say: try again a little later rather than spin.
    auto timer = std::make_shared<asio::steady_timer>(acceptor->get_executor());
    timer->expires_after(std::chrono::milliseconds(100));
    timer->async_wait([timer, acceptor, routerFor, log](beast::error_code) {
      acceptLoop(acceptor, routerFor, log);
    });
  });
}

// Checks that fd is a listening TCP socket and returns its protocol.
tcp protocolOfListener(int fd) {
  int v = 0;
  socklen_t len = sizeof v;
  if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) != 0 || v != 1) {
    throw Error(Errc::kInvalid, "the descriptor passed is not a listening socket");
  }
  len = sizeof v;
  if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len) != 0 || v != SOCK_STREAM) {
    throw Error(Errc::kInvalid, "the descriptor passed is not a stream socket");
  }
  len = sizeof v;
  if (::getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &len) != 0 || (v != AF_INET && v != AF_INET6)) {
    throw Error(Errc::kInvalid, "the descriptor passed is not a TCP/IP socket");
  }
  return v == AF_INET ? tcp::v4() : tcp::v6();
}

tcp::endpoint parseListenAddress(const std::string& text) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
    throw Error(Errc::kUsage, "--listen-tcp " + quote(text) + ": want ADDR:PORT");
  }
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  unsigned long port = 0;
  try {
    size_t used = 0;
    port = std::stoul(text.substr(colon + 1), &used);
    if (used != text.size() - colon - 1 || port > 65535) throw std::out_of_range("port");
  } catch (const std::exception&) {
    throw Error(Errc::kUsage, "--listen-tcp " + quote(text) + ": invalid port");
  }
  beast::error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (ec) throw Error(Errc::kUsage, "--listen-tcp " + quote(text) + ": invalid address");
  return tcp::endpoint(addr, static_cast<unsigned short>(port));
}

}  // namespace

struct Service::Impl {
  class Registration;

  Impl(ServiceOptions o, std::ostream& l)
      : options(std::move(o)), log(l), key(HmacKey::random()), unixAcceptor(io), signals(io) {}

  ServiceOptions options;
  std::ostream& log;
  HmacKey key;
  PodRegistry registry;
  asio::io_context io;
  unix_stream::acceptor unixAcceptor;
  std::shared_ptr<tcp::acceptor> hostAcceptor;
  asio::signal_set signals;
  fs::path boundPath;  // the socket path to remove at exit (ours)

  void bindUnix();
  void acceptRegistrations();
  void shutdown();
};

// One pod's registration connection: receives the registration frame (and the listening socket
// with it), answers, keeps the pod registered until the connection ends or says "unregister".
class Service::Impl::Registration : public std::enable_shared_from_this<Registration> {
 public:
  Registration(Impl& svc, unix_stream::socket s) : svc_(svc), socket_(std::move(s)) {}
  ~Registration() { unregister(); }

  void start() {
    socket_.native_non_blocking(true);
    wait();
  }

 private:
  void wait() {
    socket_.async_wait(unix_stream::socket::wait_read,
                       [self = shared_from_this()](beast::error_code ec) {
                         if (!ec) self->onReadable();
                       });
  }

  void onReadable() {
    char data[65536];
    int fds[4];
    FdMessage m = receiveWithFds(socket_.native_handle(), data, sizeof data, fds);
    if (m.bytes < 0 && errno == EAGAIN) return wait();
    for (size_t i = 0; i < m.fds; ++i) fds_.emplace_back(fds[i]);
    ssize_t n = m.bytes;
    if (n <= 0) return close();  // end of stream or error: the pod is gone
    buffer_.append(data, static_cast<size_t>(n));
    if (buffer_.size() > kMaxRegistrationBuffer) {
      answerError("message too large");
      return close();
    }
    while (buffer_.size() >= 4) {
      uint32_t len;
      std::memcpy(&len, buffer_.data(), 4);
      len = ntohl(len);
      if (len > kMaxFrame) {
        answerError("message too large");
        return close();
      }
      if (buffer_.size() < 4 + static_cast<size_t>(len)) break;
      std::string frame = buffer_.substr(4, len);
      buffer_.erase(0, 4 + static_cast<size_t>(len));
      if (!handle(frame)) return close();
    }
    wait();
  }

  // Returns false when the connection should end.
  bool handle(const std::string& frame) {
    try {
      json::Json j = json::parse(frame, "registration message");
      std::string type = j.is_object() && j.contains("type") && j["type"].is_string()
                             ? j["type"].get<std::string>()
                             : "";
      if (type == "unregister") {
        unregister();
        answer(R"({"ok":true})");
        return false;
      }
      if (pod_) throw Error(Errc::kInvalid, "this connection registered a pod already");
      if (fds_.size() != 1) {
        throw Error(Errc::kInvalid, "a registration carries exactly one listening socket, got " +
                                        std::to_string(fds_.size()));
      }
      Pod parsed = parseRegistration(j);
      UniqueFd fd = std::move(fds_.front());
      fds_.clear();
      tcp protocol = protocolOfListener(fd.get());
      auto acceptor = std::make_shared<tcp::acceptor>(svc_.io);
      acceptor->assign(protocol, fd.release());
      pod_ = svc_.registry.add(std::move(parsed));
      acceptor_ = acceptor;
      std::weak_ptr<const Pod> weak = pod_;
      Impl* svc = &svc_;
      acceptLoop(
          acceptor,
          [weak, svc] {
            return Router([weak, svc](const Request& r) {
              std::shared_ptr<const Pod> p = weak.lock();
              return routePod(p.get(), svc->key, r);
            });
          },
          svc_.options.debug ? &svc_.log : nullptr);
      svc_.log << "ferry metadata-service: registered pod " << pod_->uuid.str() << " ("
               << pod_->apps.size() << (pod_->apps.size() == 1 ? " app)" : " apps)") << std::endl;
      answer(R"({"ok":true})");
      return true;
    } catch (const std::exception& e) {
      fds_.clear();
      svc_.log << "ferry metadata-service: refused a registration: " << e.what() << std::endl;
      answerError(e.what());
      return !!pod_;
    }
  }

  void answer(const std::string& payload) {
    try {
      writeFrame(socket_.native_handle(), payload);
    } catch (const std::exception&) {
      // The pod went away; the read side notices.
    }
  }
  void answerError(const std::string& message) {
    json::Json j = json::Json::object();
    j["error"] = message;
    answer(json::dump(j));
  }

  void unregister() {
    if (acceptor_) {
      beast::error_code ignored;
      acceptor_->close(ignored);
      acceptor_.reset();
    }
    if (pod_) {
      svc_.log << "ferry metadata-service: unregistered pod " << pod_->uuid.str() << std::endl;
      svc_.registry.remove(pod_->uuid);
      pod_.reset();
    }
  }

  void close() {
    unregister();
    beast::error_code ignored;
    socket_.close(ignored);
  }

  Impl& svc_;
  unix_stream::socket socket_;
  std::string buffer_;
  std::vector<UniqueFd> fds_;
  std::shared_ptr<const Pod> pod_;
  std::shared_ptr<tcp::acceptor> acceptor_;
};

void Service::Impl::bindUnix() {
  const fs::path& path = options.unixSocket;
  if (path.native().size() >= sizeof(sockaddr_un{}.sun_path) - 16) {
    throw Error(Errc::kInvalid, "socket path " + quote(path.string()) + " is too long");
  }
  std::error_code ec;
  if (path.has_parent_path()) fs::create_directories(path.parent_path(), ec);
  if (ec) {
    throw Error(Errc::kIo,
                "cannot create " + quote(path.parent_path().string()) + ": " + ec.message());
  }
  // A live service at this path is an error; a stale socket file is replaced.
  if (fs::is_socket(fs::symlink_status(path, ec))) {
    unix_stream::socket probe(io);
    beast::error_code cec;
    probe.connect(unix_stream::endpoint(path.native()), cec);
    if (!cec) {
      throw Error(Errc::kInvalid,
                  "a metadata service is listening on " + quote(path.string()) + " already");
    }
  }
  // Bind and listen on a temporary name, then rename into place: whoever sees the path can
  // connect.
  fs::path tmp = path;
  tmp += ".tmp-" + std::to_string(::getpid());
  ::unlink(tmp.c_str());
  unixAcceptor.open(unix_stream());
  unixAcceptor.bind(unix_stream::endpoint(tmp.native()));
  if (::chmod(tmp.c_str(), 0600) != 0) throwErrno("chmod " + quote(tmp.string()));
  unixAcceptor.listen();
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    throwErrno(err, "rename " + quote(tmp.string()) + " to " + quote(path.string()));
  }
  boundPath = path;
}

void Service::Impl::acceptRegistrations() {
  unixAcceptor.async_accept([this](beast::error_code ec, unix_stream::socket s) {
    if (ec == asio::error::operation_aborted || !unixAcceptor.is_open()) return;
    if (!ec) {
      ucred cred{};
      socklen_t len = sizeof cred;
      if (::getsockopt(s.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 &&
          cred.uid == ::geteuid()) {
        std::make_shared<Registration>(*this, std::move(s))->start();
      } else {
        log << "ferry metadata-service: refused a registration from uid " << cred.uid << std::endl;
      }
    }
    acceptRegistrations();
  });
}

void Service::Impl::shutdown() {
  beast::error_code ignored;
  unixAcceptor.close(ignored);
  if (hostAcceptor) hostAcceptor->close(ignored);
  signals.cancel(ignored);
  io.stop();
}

Service::Service(ServiceOptions options, std::ostream& log)
    : impl_(std::make_unique<Impl>(std::move(options), log)) {
  try {
    if (impl_->options.tcpListen) {
      tcp::endpoint ep = parseListenAddress(*impl_->options.tcpListen);
      auto acceptor = std::make_shared<tcp::acceptor>(impl_->io);
      acceptor->open(ep.protocol());
      acceptor->set_option(asio::socket_base::reuse_address(true));
      acceptor->bind(ep);
      acceptor->listen();
      impl_->hostAcceptor = acceptor;
    }
    impl_->bindUnix();
  } catch (const boost::system::system_error& e) {
    throw Error(Errc::kIo, std::string("cannot start the metadata service: ") + e.what());
  }
}

Service::~Service() {
  if (!impl_->boundPath.empty()) ::unlink(impl_->boundPath.c_str());
}

unsigned short Service::tcpPort() const {
  return impl_->hostAcceptor ? impl_->hostAcceptor->local_endpoint().port() : 0;
}

void Service::run(bool handleSignals) {
  Impl& s = *impl_;
  if (handleSignals) {
    s.signals.add(SIGINT);
    s.signals.add(SIGTERM);
    s.signals.async_wait([&s](beast::error_code ec, int sig) {
      if (ec) return;
      s.log << "ferry metadata-service: " << ::strsignal(sig) << ", exiting" << std::endl;
      s.shutdown();
    });
  }
  ::signal(SIGPIPE, SIG_IGN);
  if (s.hostAcceptor) {
    HmacKey* key = &s.key;
    acceptLoop(
        s.hostAcceptor,
        [key] { return Router([key](const Request& r) { return routeHost(*key, r); }); },
        s.options.debug ? &s.log : nullptr);
  }
  s.acceptRegistrations();
  s.log << "ferry metadata-service: listening on " << s.boundPath.string();
  if (s.hostAcceptor) s.log << " and " << s.hostAcceptor->local_endpoint();
  s.log << std::endl;
  s.io.run();
}

void Service::stop() {
  asio::post(impl_->io, [this] { impl_->shutdown(); });
}

}  // namespace ferry::mds
