#include <unistd.h>

#include <iostream>

#include "common/fs.hpp"
#include "common/json.hpp"
#include "stage0/cli/command.hpp"
#include "stage0/fetch/fetch.hpp"
#include "stage0/fetch/pubkeys.hpp"
#include "stage0/trust/trust_store.hpp"

namespace ferry::cli {

int trustCommand(Context& ctx, const std::vector<std::string>& args) {
  OptionParser p("ferry trust [--prefix=PREFIX | --root] [flags] [KEYFILE|URL...]",
                 "Trust OpenPGP public keys to sign appc images, in ferry's own trust store.",
                 "A key trusted for a prefix (an image name like example.com/app) covers that\n"
                 "name and the names below it; --root trusts a key for every image. Keys come\n"
                 "from files or https URLs (http only with --insecure-options=http); with\n"
                 "--prefix and no key, from the ac-discovery-pubkeys tags that appc discovery\n"
                 "of PREFIX finds. Each key's fingerprint is shown and must be confirmed unless\n"
                 "--skip-fingerprint-review. --list shows the trusted keys;\n"
                 "--remove=FINGERPRINT forgets one.");
  addGlobalOptions(p, ctx.global);
  std::string prefix, remove;
  bool root = false, skipReview = false, list = false;
  p.value("prefix", "PREFIX", "trust the keys for images named PREFIX or below it", &prefix);
  p.flag("root", "trust the keys for every image", &root);
  p.flag("skip-fingerprint-review", "trust without asking for confirmation", &skipReview);
  p.flag("list", "list the trusted keys", &list);
  p.value("remove", "FINGERPRINT", "stop trusting a key", &remove);
  std::vector<std::string> files;
  if (!p.parseOrHelp(args, ctx.out, &files)) return kExitOk;
  trust::TrustStore store(ctx.global.dir);
  if (list) {
    json::Json j = json::Json::array();
    for (const auto& k : store.list()) {
      if (ctx.global.json()) {
        j.push_back({{"scope", k.scope.prefix ? *k.scope.prefix : "*root*"},
                     {"fingerprint", k.fingerprint}});
      } else {
        ctx.out << (k.scope.prefix ? *k.scope.prefix : std::string("(root)")) << "\t"
                << k.fingerprint << "\n";
      }
    }
    if (ctx.global.json()) ctx.out << json::print(j, true) << "\n";
    return kExitOk;
  }
  if (!remove.empty()) {
    if (!store.remove(remove)) throw Error(Errc::kNotFound, "no trusted key " + quote(remove));
    ctx.out << "removed " << remove << "\n";
    return kExitOk;
  }
  if (root == !prefix.empty()) throw UsageError("give exactly one of --prefix=PREFIX and --root");
  if (files.empty() && root) {
    throw UsageError("give the key files or URLs to trust for --root");
  }
  trust::Scope scope;
  if (!root) scope.prefix = prefix;
  std::filesystem::create_directories(std::filesystem::path(ctx.global.dir) / "tmp");
  // Every key is read (files) or fetched (URLs, discovery) before any is trusted.
  std::vector<std::pair<std::string, std::string>> blocks;  // source, armored
  fetch::FetchOptions fo = fetchOptions(ctx.global, "new");
  if (files.empty()) {
    for (auto& k : fetch::discoverKeys(prefix, fo))
      blocks.emplace_back(k.url, std::move(k.armored));
  }
  std::vector<std::string> urls;
  for (const auto& file : files) {
    if (file.starts_with("https://") || file.starts_with("http://")) {
      urls.push_back(file);
    } else {
      blocks.emplace_back(file, readFile(file, 1 << 20));
    }
  }
  for (auto& k : fetch::fetchKeys(urls, fo)) blocks.emplace_back(k.url, std::move(k.armored));
  for (const auto& [source, armored] : blocks) {
    const std::string& file = source;
    auto keys =
        trust::inspectKeys(armored, quote(file), std::filesystem::path(ctx.global.dir) / "tmp");
    if (keys.size() != 1) {
      throw Error(Errc::kInvalid, "cannot trust " + quote(file) + ": it holds " +
                                      std::to_string(keys.size()) + " keys; give one key per file");
    }
    const auto& key = keys[0];
    if (key.revoked || key.expired) {
      throw Error(Errc::kSecurity, "cannot trust " + quote(file) + ": key " + key.fingerprint +
                                       " is " + (key.revoked ? "revoked" : "expired"));
    }
    ctx.err << "Trust scope: " << scope.str() << "\nKey: " << quote(file)
            << "\n  Fingerprint: " << key.fingerprint << "\n";
    for (const auto& uid : key.userIds) ctx.err << "  User ID: " << uid << "\n";
    if (!skipReview) {
      if (::isatty(STDIN_FILENO) == 0) {
        throw Error(Errc::kInvalid,
                    "cannot review the fingerprint: stdin is not a terminal; "
                    "check it yourself and pass --skip-fingerprint-review");
      }
      ctx.err << "Are you sure you want to trust this key (yes/no)? " << std::flush;
      std::string answer;
      std::getline(std::cin, answer);
      if (answer != "yes" && answer != "y") {
        ctx.err << "not trusted\n";
        return kExitError;
      }
    }
    auto stored = store.add(scope, armored, key);
    ctx.out << "trusted " << stored.fingerprint << " for " << scope.str() << "\n";
  }
  return kExitOk;
}

}  // namespace ferry::cli
