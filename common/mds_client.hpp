// The pod side of ferry's metadata service (`ferry metadata-service`, stage0/mds).
//
// A pod registers with the service over its unix socket: one framed message (a 4-byte big-endian
// length, then a JSON document) carrying the registration, and, as SCM_RIGHTS, a TCP socket that
// listens on 127.0.0.1:<port> *inside the pod's network namespace*. The service accepts the
// pod's HTTP connections on that socket, so apps reach it on their own loopback at
// AC_METADATA_URL = http://127.0.0.1:<port>/<token> while the service lives in the host's
// namespaces. The registration connection stays open for the pod's life: closing it (or the
// process dying) unregisters the pod. The service answers each message with one framed JSON
// document, {"ok":true} or {"error":"<one line>"}.
//
// Registration (version 1):
//   {"mdsRegistrationVersion":1, "type":"register", "uuid":"<pod uuid>", "token":"<token>",
//    "podManifest":{…reified pod manifest…},
//    "apps":{"<app name>":{"imageManifest":{…the app's image manifest…}}, …}}
// Every app of the pod manifest needs an entry in "apps". Unregistration: {"type":"unregister"}.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "common/fs.hpp"
#include "common/json.hpp"

namespace ferry::mds {

inline constexpr int kRegistrationVersion = 1;
// A frame larger than this is refused by both sides.
inline constexpr uint32_t kMaxFrame = 16u << 20;

// A fresh per-pod token: 32 random bytes as 64 lowercase hex digits (256 bits of entropy).
std::string newToken();

// "http://127.0.0.1:<port>/<token>" — the AC_METADATA_URL apps of a registered pod get.
std::string metadataUrl(uint16_t port, std::string_view token);

// A TCP socket listening on 127.0.0.1:port in the calling thread's network namespace.
UniqueFd listenInPod(uint16_t port);

// The same, created inside the network namespace `netnsFd` refers to (an open
// /proc/<pid>/ns/net or a bind-mounted one): a short-lived thread joins that namespace with
// setns(2), so the caller's own namespaces never change.
UniqueFd listenInNetns(int netnsFd, uint16_t port);

// Builds the registration message for the pod directory `podDir` (stage1/ABI.md): its `pod`
// file and, for every app of that manifest, apps/<app>/manifest.
json::Json registrationFromPodDir(const std::filesystem::path& podDir, std::string_view uuid,
                                  std::string_view token);

// Connects to the service's unix socket, sends `registration` with `listenFd`, and waits for the
// answer. Returns the connection: keep it open for as long as the pod lives. Throws
// Error{kIo} when the service cannot be reached, Error{kInvalid} when it refuses the pod
// (the message is the service's own).
UniqueFd registerPod(const std::filesystem::path& socketPath, const json::Json& registration,
                     int listenFd);

// Unregisters explicitly and waits for the service's answer (closing the connection is enough
// too, but asynchronous). The connection is closed afterwards.
void unregisterPod(UniqueFd connection);

// Framing, shared with the service: writes/reads one message. readFrame returns false on a
// clean end of stream before a frame starts.
void writeFrame(int fd, std::string_view payload, int passFd = -1);
bool readFrame(int fd, std::string& payload);

}  // namespace ferry::mds
