// ferry's configuration directories (rkt's configuration system).
//
// Three directories, each optional, read in this order, a later one overriding an earlier one:
//   system  --system-config, default /usr/lib/ferry   (the distribution's; read-only)
//   local   --local-config,  default /etc/ferry       (the machine's administrator)
//   user    --user-config,   default $XDG_CONFIG_HOME/ferry, else $HOME/.config/ferry
// Each holds subdirectories of JSON files (*.json only, not recursive; other files are ignored):
//   paths.d   kind "paths":      {"data": DIR, "stage1-images": DIR}  (absolute paths)
//   stage1.d  kind "stage1":     {"name": …, "version": …, "location": …}  the default stage1
//   auth.d    kind "auth":       {"domains": [HOST[:PORT]…], "type": "basic"|"oauth",
//                                 "credentials": {"user","password"} | {"token"}}
//             kind "dockerAuth": {"registries": [HOST[:PORT]…], "credentials": {"user","password"}}
//   docker.d  kind "dockerAuth" (ferry's place for it; rkt keeps it in auth.d)
// Every file has "ferryKind" and "ferryVersion" ("v1"); rkt's "rktKind"/"rktVersion" are taken
// too. Unknown fields are errors (a misspelt field would silently do nothing).
//
// Merging, as rkt does: auth per domain, dockerAuth per registry, paths per path, stage1 per
// part (name with version; location). Within one directory a domain, registry, path or stage1
// part set by two files is an error.
//
// Safety: these files choose what runs as root (stage1), where pods and images live (paths) and
// which hosts get credentials, so every configuration directory, subdirectory and file must be
// owned by root or by the user ferry runs as and be writable by nobody else; a symlinked file is
// refused. A directory that does not exist, or that this user may not search, holds nothing.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/json.hpp"

namespace ferry::config {

struct Dirs {
  std::filesystem::path system = "/usr/lib/ferry";
  std::filesystem::path local = "/etc/ferry";
  std::filesystem::path user;  // empty: none
};
// The defaults above, with the user directory from the environment (none without $HOME).
Dirs defaultDirs();

// A default stage1: name[:version] is looked up as --stage1-name does (never fetched);
// location (an absolute path of an ACI or a stage1 directory, or an http(s)://, file:// or
// docker:// URL) is used when the name is absent or not found.
struct Stage1Config {
  std::optional<std::string> name;
  std::optional<std::string> version;
  std::optional<std::string> location;
  bool empty() const { return !name && !location; }
};

struct Paths {
  std::optional<std::filesystem::path> data;          // the data directory (--dir wins)
  std::optional<std::filesystem::path> stage1Images;  // --stage1-from-dir's directory
};

// Credentials for an appc server (discovery pages, ACIs, signatures, keys).
struct HostAuth {
  std::string type;  // "basic" | "oauth"
  std::string user, password;
  std::string token;
  // The Authorization header's value: "Basic base64(user:password)" or "Bearer TOKEN".
  std::string authorization() const;
};

struct BasicCredentials {
  std::string user, password;
};

struct Config {
  std::map<std::string, HostAuth> auth;                // host[:port], lowercased
  std::map<std::string, BasicCredentials> dockerAuth;  // registry host[:port], lowercased
  Paths paths;
  Stage1Config stage1;
  // The configuration directories' net.d (CNI network configurations, as rkt's): local, then
  // system (an earlier one wins a name; $dir/net.d comes before both, stage0/net).
  std::vector<std::filesystem::path> netDirs;
};

// Reads system, local, then user. Throws Error (one line naming the file) for an invalid or
// unsafe file.
Config load(const Dirs& dirs);
// One configuration directory (its subdirectories).
Config loadDir(const std::filesystem::path& dir);

// rkt config's output: {"stage0": [entries]}, one auth entry per domain, one dockerAuth entry per
// registry, then paths and stage1, in ferry's field names. Passwords and tokens are replaced by
// "***" unless showSecrets.
json::Json toJson(const Config& c, bool showSecrets);

// The auth entry for a URL's host[:port] (as written in the URL; the port only when the URL
// has one), if any.
const HostAuth* authFor(const Config& c, std::string_view hostPort);

}  // namespace ferry::config
