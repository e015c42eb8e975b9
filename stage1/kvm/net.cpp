#include "stage1/kvm/net.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <linux/tc_act/tc_mirred.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "common/error.hpp"

namespace ferry::stage1::kvm {

namespace fs = std::filesystem;

namespace {

// One rtnetlink message under construction: the header, the family header, attributes.
class Msg {
 public:
  Msg(uint16_t type, uint16_t flags, const void* head, size_t len) {
    nlmsghdr h{};
    h.nlmsg_type = type;
    h.nlmsg_flags = static_cast<uint16_t>(NLM_F_REQUEST | flags);
    buf_.append(reinterpret_cast<const char*>(&h), sizeof h);
    put(head, len);
  }
  void attr(uint16_t type, const void* data, size_t len) {
    nlattr a{};
    a.nla_type = type;
    a.nla_len = static_cast<uint16_t>(NLA_HDRLEN + len);
    buf_.append(reinterpret_cast<const char*>(&a), sizeof a);
    put(data, len);
  }
  void attr(uint16_t type, const std::string& s) { attr(type, s.c_str(), s.size() + 1); }
  void attr32(uint16_t type, uint32_t v) { attr(type, &v, sizeof v); }
  size_t nest(uint16_t type) {
    size_t at = buf_.size();
    attr(type, nullptr, 0);
    return at;
  }
  void end(size_t at) {
    uint16_t len = static_cast<uint16_t>(buf_.size() - at);
    std::memcpy(buf_.data() + at, &len, sizeof len);
  }
  std::string& done() {
    uint32_t len = static_cast<uint32_t>(buf_.size());
    std::memcpy(buf_.data(), &len, sizeof len);
    return buf_;
  }

 private:
  void put(const void* data, size_t len) {
    if (len > 0) buf_.append(static_cast<const char*>(data), len);
    buf_.resize(NLMSG_ALIGN(buf_.size()), '\0');
  }
  std::string buf_;
};

class Netlink {
 public:
  Netlink() : fd_(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE)) {
    if (!fd_) throwErrno("open a netlink socket");
  }

  // A request acknowledged; the kernel's error as an exception naming `what`.
  void request(Msg& m, const std::string& what) {
    std::string& b = m.done();
    reinterpret_cast<nlmsghdr*>(b.data())->nlmsg_flags |= NLM_F_ACK;
    send(b, what);
    for (;;) {
      for (const nlmsghdr* h : receive(what)) {
        if (h->nlmsg_type != NLMSG_ERROR) continue;
        int err = -reinterpret_cast<const nlmsgerr*>(NLMSG_DATA(h))->error;
        if (err != 0) throwErrno(err, what);
        return;
      }
    }
  }

  // Every message a dump answers (their bytes, each a whole nlmsghdr).
  std::vector<std::string> dump(uint16_t type, const void* head, size_t len,
                                const std::string& what) {
    Msg m(type, NLM_F_DUMP, head, len);
    send(m.done(), what);
    std::vector<std::string> out;
    for (;;) {
      for (const nlmsghdr* h : receive(what)) {
        if (h->nlmsg_type == NLMSG_DONE) return out;
        if (h->nlmsg_type == NLMSG_ERROR) {
          int err = -reinterpret_cast<const nlmsgerr*>(NLMSG_DATA(h))->error;
          throwErrno(err, what);
        }
        out.emplace_back(reinterpret_cast<const char*>(h), h->nlmsg_len);
      }
    }
  }

 private:
  void send(const std::string& b, const std::string& what) {
    sockaddr_nl to{};
    to.nl_family = AF_NETLINK;
    if (::sendto(fd_.get(), b.data(), b.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to) <
        0) {
      throwErrno(what);
    }
  }
  std::vector<const nlmsghdr*> receive(const std::string& what) {
    buf_.resize(1 << 16);
    ssize_t n;
    do {
      n = ::recv(fd_.get(), buf_.data(), buf_.size(), 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0) throwErrno(what);
    std::vector<const nlmsghdr*> out;
    size_t at = 0, got = static_cast<size_t>(n);
    while (at + sizeof(nlmsghdr) <= got) {
      auto* h = reinterpret_cast<const nlmsghdr*>(buf_.data() + at);
      if (h->nlmsg_len < sizeof(nlmsghdr) || at + h->nlmsg_len > got) break;
      out.push_back(h);
      at += NLMSG_ALIGN(h->nlmsg_len);
    }
    return out;
  }
  UniqueFd fd_;
  std::string buf_;
};

// The attributes after a message's family header of `headLen` bytes.
std::map<uint16_t, std::string> attrsOf(const std::string& msg, size_t headLen) {
  std::map<uint16_t, std::string> out;
  size_t at = NLMSG_HDRLEN + NLMSG_ALIGN(headLen);
  while (at + NLA_HDRLEN <= msg.size()) {
    nlattr a;
    std::memcpy(&a, msg.data() + at, sizeof a);
    if (a.nla_len < NLA_HDRLEN || at + a.nla_len > msg.size()) break;
    out[static_cast<uint16_t>(a.nla_type & NLA_TYPE_MASK)] =
        msg.substr(at + NLA_HDRLEN, a.nla_len - NLA_HDRLEN);
    at += NLA_ALIGN(a.nla_len);
  }
  return out;
}

template <typename T>
T headOf(const std::string& msg) {
  T t{};
  std::memcpy(&t, msg.data() + NLMSG_HDRLEN, std::min(sizeof t, msg.size() - NLMSG_HDRLEN));
  return t;
}

uint32_t u32Of(const std::string& s) {
  uint32_t v = 0;
  std::memcpy(&v, s.data(), std::min(sizeof v, s.size()));
  return v;
}

std::string numeric(int family, const std::string& bytes) {
  char out[INET6_ADDRSTRLEN] = "";
  if (::inet_ntop(family, bytes.data(), out, sizeof out) == nullptr) return "";
  return out;
}

std::string macText(const std::string& bytes) {
  std::string out;
  char b[4];
  for (unsigned char c : bytes) {
    std::snprintf(b, sizeof b, "%02x", c);
    if (!out.empty()) out += ':';
    out += b;
  }
  return out;
}

void ifFlags(const std::string& name, short set, short clear) {
  UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!s) throwErrno("create a socket");
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  if (::ioctl(s.get(), SIOCGIFFLAGS, &ifr) != 0) throwErrno("read the flags of " + quote(name));
  ifr.ifr_flags = static_cast<short>((ifr.ifr_flags | set) & ~clear);
  if (::ioctl(s.get(), SIOCSIFFLAGS, &ifr) != 0) throwErrno("set the flags of " + quote(name));
}

void setMtu(const std::string& name, uint32_t mtu) {
  UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!s) throwErrno("create a socket");
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  ifr.ifr_mtu = static_cast<int>(mtu);
  if (::ioctl(s.get(), SIOCSIFMTU, &ifr) != 0) throwErrno("set the MTU of " + quote(name));
}

unsigned indexOf(const std::string& name) {
  unsigned i = ::if_nametoindex(name.c_str());
  if (i == 0) throwErrno("find the interface " + quote(name));
  return i;
}

// An ingress qdisc on `from` and a u32 filter matching every packet whose action redirects it
// to the egress of `to` (what `tc filter add dev FROM parent ffff: protocol all u32 match u32 0
// 0 action mirred egress redirect dev TO` makes).
void redirect(Netlink& nl, const std::string& from, const std::string& to) {
  unsigned fromIndex = indexOf(from), toIndex = indexOf(to);
  std::string what = "redirect " + quote(from) + " to " + quote(to);
  tcmsg t{};
  t.tcm_family = AF_UNSPEC;
  t.tcm_ifindex = static_cast<int>(fromIndex);
  t.tcm_handle = TC_H_MAKE(TC_H_INGRESS, 0);
  t.tcm_parent = TC_H_INGRESS;
  Msg q(RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL, &t, sizeof t);
  q.attr(TCA_KIND, std::string("ingress"));
  nl.request(q, what + ": add an ingress qdisc");

  t.tcm_handle = 0;
  t.tcm_parent = TC_H_MAKE(TC_H_INGRESS, 0);
  t.tcm_info = TC_H_MAKE(1u << 16, htons(ETH_P_ALL));
  Msg f(RTM_NEWTFILTER, NLM_F_CREATE | NLM_F_EXCL, &t, sizeof t);
  f.attr(TCA_KIND, std::string("u32"));
  size_t options = f.nest(TCA_OPTIONS);
  // The selector and its one key (mask 0, value 0: every packet) after it.
  std::string sel(sizeof(tc_u32_sel) + sizeof(tc_u32_key), '\0');
  tc_u32_sel head{};
  head.flags = TC_U32_TERMINAL;
  head.nkeys = 1;
  std::memcpy(sel.data(), &head, sizeof head);
  f.attr(TCA_U32_SEL, sel.data(), sel.size());
  size_t acts = f.nest(TCA_U32_ACT);
  size_t act = f.nest(1);
  f.attr(TCA_ACT_KIND, std::string("mirred"));
  size_t actOptions = f.nest(TCA_ACT_OPTIONS);
  tc_mirred m{};
  m.action = TC_ACT_STOLEN;
  m.eaction = TCA_EGRESS_REDIR;
  m.ifindex = toIndex;
  f.attr(TCA_MIRRED_PARMS, &m, sizeof m);
  f.end(actOptions);
  f.end(act);
  f.end(acts);
  f.end(options);
  nl.request(f, what + ": add a u32 filter");
}

}  // namespace

std::string NetConfig::text() const {
  std::ostringstream o;
  for (const auto& l : links) o << "link " << l.name << ' ' << l.mac << ' ' << l.mtu << '\n';
  for (const auto& a : addrs) o << "addr " << a.link << ' ' << a.addr << '/' << a.prefix << '\n';
  for (const auto& r : routes) {
    o << "route " << r.link << ' ' << r.dst << '/' << r.prefix << ' '
      << (r.gateway.empty() ? "-" : r.gateway) << ' ' << r.scope << ' ' << r.protocol << ' '
      << r.metric << '\n';
  }
  return o.str();
}

NetConfig NetConfig::parse(const std::string& text) {
  NetConfig c;
  std::istringstream in(text);
  std::string line;
  auto bad = [&]() {
    return Error(Errc::kInvalid, "cannot read the network configuration: " + quote(line));
  };
  auto prefixed = [&](const std::string& s, std::string& addr, int& prefix) {
    size_t slash = s.find('/');
    if (slash == std::string::npos) throw bad();
    addr = s.substr(0, slash);
    prefix = std::atoi(s.c_str() + slash + 1);
    return addr.find(':') != std::string::npos ? AF_INET6 : AF_INET;
  };
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::istringstream w(line);
    std::string kind, a, b, g;
    w >> kind;
    if (kind == "link") {
      NetLink l;
      if (!(w >> l.name >> l.mac >> l.mtu) || l.name.size() >= IFNAMSIZ) throw bad();
      c.links.push_back(l);
    } else if (kind == "addr") {
      NetAddr x;
      if (!(w >> x.link >> a)) throw bad();
      x.family = prefixed(a, x.addr, x.prefix);
      c.addrs.push_back(x);
    } else if (kind == "route") {
      NetRoute r;
      if (!(w >> r.link >> a >> g >> r.scope >> r.protocol >> r.metric)) throw bad();
      r.family = prefixed(a, r.dst, r.prefix);
      if (g != "-") r.gateway = g;
      c.routes.push_back(r);
    } else {
      throw bad();
    }
  }
  return c;
}

NetConfig readNetns() {
  Netlink nl;
  NetConfig c;
  std::map<int, std::string> names;
  ifinfomsg li{};
  li.ifi_family = AF_UNSPEC;
  for (const std::string& m : nl.dump(RTM_GETLINK, &li, sizeof li, "list the interfaces")) {
    if (reinterpret_cast<const nlmsghdr*>(m.data())->nlmsg_type != RTM_NEWLINK) continue;
    auto head = headOf<ifinfomsg>(m);
    auto attrs = attrsOf(m, sizeof(ifinfomsg));
    if (head.ifi_flags & IFF_LOOPBACK) continue;
    NetLink l;
    l.name = attrs[IFLA_IFNAME].c_str();
    l.mac = macText(attrs[IFLA_ADDRESS]);
    if (attrs.count(IFLA_MTU)) l.mtu = u32Of(attrs[IFLA_MTU]);
    if (l.name.starts_with("kvmtap")) continue;
    if (attrs[IFLA_ADDRESS].size() != 6) {
      throw Error(Errc::kUnsupported,
                  "not supported: the pod's interface " + quote(l.name) + " is not Ethernet");
    }
    names[head.ifi_index] = l.name;
    c.links.push_back(l);
  }
  std::sort(c.links.begin(), c.links.end(),
            [](const NetLink& a, const NetLink& b) { return a.name < b.name; });
  ifaddrmsg ai{};
  ai.ifa_family = AF_UNSPEC;
  for (const std::string& m : nl.dump(RTM_GETADDR, &ai, sizeof ai, "list the addresses")) {
    if (reinterpret_cast<const nlmsghdr*>(m.data())->nlmsg_type != RTM_NEWADDR) continue;
    auto head = headOf<ifaddrmsg>(m);
    auto attrs = attrsOf(m, sizeof(ifaddrmsg));
    auto name = names.find(static_cast<int>(head.ifa_index));
    if (name == names.end() || head.ifa_scope != RT_SCOPE_UNIVERSE) continue;
    if (head.ifa_family != AF_INET && head.ifa_family != AF_INET6) continue;
    const std::string& bytes = attrs.count(IFA_LOCAL) ? attrs[IFA_LOCAL] : attrs[IFA_ADDRESS];
    c.addrs.push_back(
        {name->second, head.ifa_family, numeric(head.ifa_family, bytes), head.ifa_prefixlen});
  }
  for (int family : {AF_INET, AF_INET6}) {
    rtmsg ri{};
    ri.rtm_family = static_cast<unsigned char>(family);
    for (const std::string& m : nl.dump(RTM_GETROUTE, &ri, sizeof ri, "list the routes")) {
      if (reinterpret_cast<const nlmsghdr*>(m.data())->nlmsg_type != RTM_NEWROUTE) continue;
      auto head = headOf<rtmsg>(m);
      auto attrs = attrsOf(m, sizeof(rtmsg));
      uint32_t table = attrs.count(RTA_TABLE) ? u32Of(attrs[RTA_TABLE]) : head.rtm_table;
      if (table != RT_TABLE_MAIN || head.rtm_type != RTN_UNICAST || !attrs.count(RTA_OIF)) {
        continue;
      }
      auto name = names.find(static_cast<int>(u32Of(attrs[RTA_OIF])));
      if (name == names.end()) continue;
      NetRoute r;
      r.link = name->second;
      r.family = family;
      r.prefix = head.rtm_dst_len;
      r.dst = attrs.count(RTA_DST) ? numeric(family, attrs[RTA_DST])
                                   : (family == AF_INET ? "0.0.0.0" : "::");
      if (family == AF_INET6 && r.dst.starts_with("fe80:")) continue;  // the guest's own
      if (attrs.count(RTA_GATEWAY)) r.gateway = numeric(family, attrs[RTA_GATEWAY]);
      r.scope = head.rtm_scope;
      r.protocol = head.rtm_protocol;
      if (attrs.count(RTA_PRIORITY)) r.metric = u32Of(attrs[RTA_PRIORITY]);
      c.routes.push_back(r);
    }
  }
  std::stable_sort(c.routes.begin(), c.routes.end(), [](const NetRoute& a, const NetRoute& b) {
    return a.gateway.empty() && !b.gateway.empty();
  });
  return c;
}

std::vector<UniqueFd> plugTaps(const NetConfig& config) {
  std::vector<UniqueFd> taps;
  Netlink nl;
  for (size_t i = 0; i < config.links.size(); ++i) {
    const NetLink& l = config.links[i];
    std::string tap = "kvmtap" + std::to_string(i);
    // Not close-on-exec: QEMU gets it.
    UniqueFd fd(::open("/dev/net/tun", O_RDWR));
    if (!fd) throwErrno("open \"/dev/net/tun\"");
    ifreq ifr{};
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
    std::strncpy(ifr.ifr_name, tap.c_str(), IFNAMSIZ - 1);
    if (::ioctl(fd.get(), TUNSETIFF, &ifr) != 0) throwErrno("create the tap " + quote(tap));
    setMtu(tap, l.mtu);
    ifFlags(tap, IFF_UP, 0);
    redirect(nl, l.name, tap);
    redirect(nl, tap, l.name);
    taps.push_back(std::move(fd));
  }
  return taps;
}

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The interface with MAC address `mac` (sysfs), waited for.
std::string interfaceWithMac(const std::string& mac) {
  for (int i = 0; i < 2000; ++i) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator("/sys/class/net", ec)) {
      std::ifstream in(e.path() / "address");
      std::string a;
      std::getline(in, a);
      if (lower(a) == lower(mac)) return e.path().filename().string();
    }
    ::usleep(10000);
  }
  throw Error(Errc::kNotFound, "cannot find the network interface with address " + mac);
}

void addAddress(Netlink& nl, const NetAddr& a) {
  ifaddrmsg m{};
  m.ifa_family = static_cast<unsigned char>(a.family);
  m.ifa_prefixlen = static_cast<unsigned char>(a.prefix);
  m.ifa_index = indexOf(a.link);
  unsigned char bytes[16];
  if (::inet_pton(a.family, a.addr.c_str(), bytes) != 1) {
    throw Error(Errc::kInvalid, "cannot read the address " + quote(a.addr));
  }
  size_t len = a.family == AF_INET ? 4 : 16;
  Msg msg(RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, &m, sizeof m);
  msg.attr(IFA_LOCAL, bytes, len);
  msg.attr(IFA_ADDRESS, bytes, len);
  // The host's routes come as they are (the kernel's prefix route among them).
  msg.attr32(IFA_FLAGS, IFA_F_NOPREFIXROUTE | IFA_F_NODAD);
  nl.request(msg,
             "add the address " + a.addr + "/" + std::to_string(a.prefix) + " to " + quote(a.link));
}

void addRoute(Netlink& nl, const NetRoute& r) {
  rtmsg m{};
  m.rtm_family = static_cast<unsigned char>(r.family);
  m.rtm_dst_len = static_cast<unsigned char>(r.prefix);
  m.rtm_table = RT_TABLE_MAIN;
  m.rtm_protocol = static_cast<unsigned char>(r.protocol);
  m.rtm_scope = static_cast<unsigned char>(r.scope);
  m.rtm_type = RTN_UNICAST;
  Msg msg(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, &m, sizeof m);
  unsigned char bytes[16];
  size_t len = r.family == AF_INET ? 4 : 16;
  std::string what = "add the route " + r.dst + "/" + std::to_string(r.prefix);
  if (r.prefix > 0) {
    if (::inet_pton(r.family, r.dst.c_str(), bytes) != 1) throw Error(Errc::kInvalid, what);
    msg.attr(RTA_DST, bytes, len);
  }
  if (!r.gateway.empty()) {
    if (::inet_pton(r.family, r.gateway.c_str(), bytes) != 1) throw Error(Errc::kInvalid, what);
    msg.attr(RTA_GATEWAY, bytes, len);
  }
  msg.attr32(RTA_OIF, indexOf(r.link));
  if (r.metric != 0) msg.attr32(RTA_PRIORITY, r.metric);
  nl.request(msg, what);
}

}  // namespace

void applyNetConfig(const NetConfig& config) {
  std::vector<std::string> found;
  for (const NetLink& l : config.links) found.push_back(interfaceWithMac(l.mac));
  // Renamed out of the way first: a guest's eth1 may be the pod's eth0.
  for (size_t i = 0; i < found.size(); ++i) {
    std::string tmp = "ferrynet" + std::to_string(i);
    UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, found[i].c_str(), IFNAMSIZ - 1);
    std::strncpy(ifr.ifr_newname, tmp.c_str(), IFNAMSIZ - 1);
    if (!s || ::ioctl(s.get(), SIOCSIFNAME, &ifr) != 0) throwErrno("rename " + quote(found[i]));
    found[i] = tmp;
  }
  for (size_t i = 0; i < found.size(); ++i) {
    const NetLink& l = config.links[i];
    UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, found[i].c_str(), IFNAMSIZ - 1);
    std::strncpy(ifr.ifr_newname, l.name.c_str(), IFNAMSIZ - 1);
    if (!s || ::ioctl(s.get(), SIOCSIFNAME, &ifr) != 0) throwErrno("rename to " + quote(l.name));
    setMtu(l.name, l.mtu);
    ifFlags(l.name, IFF_UP, 0);
  }
  Netlink nl;
  for (const NetAddr& a : config.addrs) addAddress(nl, a);
  for (const NetRoute& r : config.routes) addRoute(nl, r);
}

}  // namespace ferry::stage1::kvm
