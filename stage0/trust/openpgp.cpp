#include "stage0/trust/openpgp.hpp"

#include <fcntl.h>
#include <gpgme.h>

#include <clocale>
#include <memory>
#include <mutex>

#include "common/error.hpp"
#include "common/fs.hpp"

namespace ferry::trust {

namespace fs = std::filesystem;

namespace {

void initGpgme() {
  static std::once_flag once;
  std::call_once(once, [] {
    gpgme_check_version(nullptr);
    gpgme_set_locale(nullptr, LC_CTYPE, std::setlocale(LC_CTYPE, nullptr));
  });
}

std::string gpgError(gpgme_error_t e) {
  char buf[256];
  gpgme_strerror_r(e, buf, sizeof buf);
  return buf;
}

struct DataDeleter {
  void operator()(gpgme_data_t d) const { gpgme_data_release(d); }
};
using Data = std::unique_ptr<gpgme_data, DataDeleter>;

Data memoryData(std::string_view bytes, std::string_view what) {
  gpgme_data_t d = nullptr;
  gpgme_error_t e = gpgme_data_new_from_mem(&d, bytes.data(), bytes.size(), /*copy=*/1);
  if (e != 0) throw Error(Errc::kIo, "cannot read " + std::string(what) + ": " + gpgError(e));
  return Data(d);
}

}  // namespace

struct Keyring::Impl {
  TempDir home;
  gpgme_ctx_t ctx = nullptr;
  std::vector<std::string> fingerprints;  // keys imported so far

  explicit Impl(const fs::path& parent) : home(parent, ".ferry-gnupg-") {
    initGpgme();
    fs::permissions(home.path(), fs::perms::owner_all, fs::perm_options::replace);
    // Importing public keys and checking signatures need no gpg-agent, dirmngr or keyboxd; left
    // to autostart, an agent outlives the keyring and creates its sockets in the home while the
    // home is being removed, so a temp directory could survive a fetch.
    writeFileAtomic(home.path() / "gpg.conf", "no-autostart\n", 0600, Sync::kAtomic);
    gpgme_error_t e = gpgme_new(&ctx);
    if (e != 0) throw Error(Errc::kIo, "cannot start GPGME: " + gpgError(e));
    e = gpgme_ctx_set_engine_info(ctx, GPGME_PROTOCOL_OpenPGP, nullptr, home.path().c_str());
    if (e != 0) {
      gpgme_release(ctx);
      throw Error(Errc::kIo, "cannot set up a GnuPG home in " + quote(home.path().string()) + ": " +
                                 gpgError(e));
    }
    gpgme_set_armor(ctx, 1);
  }
  ~Impl() {
    if (ctx != nullptr) gpgme_release(ctx);
  }

  KeyInfo describe(const char* fpr) {
    KeyInfo info;
    info.fingerprint = fpr;
    gpgme_key_t key = nullptr;
    if (gpgme_get_key(ctx, fpr, &key, 0) == 0 && key != nullptr) {
      for (gpgme_user_id_t uid = key->uids; uid != nullptr; uid = uid->next) {
        if (uid->uid != nullptr) info.userIds.emplace_back(uid->uid);
      }
      info.expired = key->expired != 0;
      info.revoked = key->revoked != 0;
      gpgme_key_unref(key);
    }
    return info;
  }
};

Keyring::Keyring(const fs::path& parent) : impl_(std::make_unique<Impl>(parent)) {}
Keyring::~Keyring() = default;

std::vector<KeyInfo> Keyring::import(std::string_view armored, std::string_view what) {
  Data data = memoryData(armored, what);
  gpgme_error_t e = gpgme_op_import(impl_->ctx, data.get());
  if (e != 0)
    throw Error(Errc::kInvalid, "cannot import " + std::string(what) + ": " + gpgError(e));
  gpgme_import_result_t r = gpgme_op_import_result(impl_->ctx);
  std::vector<KeyInfo> keys;
  if (r != nullptr) {
    if (r->secret_read > 0) {
      throw Error(Errc::kSecurity, "cannot import " + std::string(what) +
                                       ": it holds a secret key; give the public key only");
    }
    for (gpgme_import_status_t s = r->imports; s != nullptr; s = s->next) {
      if (s->result != 0 || s->fpr == nullptr) continue;
      bool seen = false;
      for (const auto& k : keys) seen = seen || k.fingerprint == s->fpr;
      if (seen) continue;
      keys.push_back(impl_->describe(s->fpr));
      impl_->fingerprints.emplace_back(s->fpr);
    }
  }
  if (keys.empty()) {
    throw Error(Errc::kInvalid, "cannot import " + std::string(what) + ": no OpenPGP public key");
  }
  return keys;
}

std::string Keyring::verifyDetached(const fs::path& signedFile, std::string_view signature,
                                    std::string_view what) {
  Data sig = memoryData(signature, "signature of " + std::string(what));
  UniqueFd fd = openFile(signedFile, O_RDONLY);
  gpgme_data_t raw = nullptr;
  gpgme_error_t e = gpgme_data_new_from_fd(&raw, fd.get());
  if (e != 0) throw Error(Errc::kIo, "cannot read " + std::string(what) + ": " + gpgError(e));
  Data text(raw);
  e = gpgme_op_verify(impl_->ctx, sig.get(), text.get(), nullptr);
  if (e != 0) {
    throw Error(Errc::kSecurity,
                "cannot verify the signature of " + std::string(what) + ": " + gpgError(e));
  }
  gpgme_verify_result_t r = gpgme_op_verify_result(impl_->ctx);
  if (r == nullptr || r->signatures == nullptr) {
    throw Error(Errc::kSecurity, "cannot verify " + std::string(what) + ": no signature found");
  }
  std::string problem = "no signature";
  for (gpgme_signature_t s = r->signatures; s != nullptr; s = s->next) {
    std::string fpr = s->fpr != nullptr ? s->fpr : "";
    if (gpgme_err_code(s->status) == GPG_ERR_NO_PUBKEY) {
      problem = "signed by key " + fpr + ", which is not trusted for this image";
      continue;
    }
    if (gpgme_err_code(s->status) == GPG_ERR_BAD_SIGNATURE) {
      problem = "bad signature (the image or the signature was altered)";
      continue;
    }
    if (s->status != 0) {
      problem = "signature by " + fpr + ": " + gpgError(s->status);
      continue;
    }
    if ((s->summary & GPGME_SIGSUM_KEY_REVOKED) != 0) {
      problem = "signing key " + fpr + " is revoked";
      continue;
    }
    if ((s->summary & (GPGME_SIGSUM_KEY_EXPIRED | GPGME_SIGSUM_SIG_EXPIRED)) != 0) {
      problem = "signing key or signature " + fpr + " has expired";
      continue;
    }
    // The key must be one we imported (the keyring holds nothing else, but a subkey reports
    // its own fingerprint: accept a primary key whose subkey signed).
    for (const auto& trusted : impl_->fingerprints) {
      gpgme_key_t key = nullptr;
      if (gpgme_get_key(impl_->ctx, trusted.c_str(), &key, 0) != 0 || key == nullptr) continue;
      bool match = false;
      for (gpgme_subkey_t sk = key->subkeys; sk != nullptr; sk = sk->next) {
        match = match || (sk->fpr != nullptr && fpr == sk->fpr);
      }
      gpgme_key_unref(key);
      if (match) return trusted;
    }
    problem = "signed by key " + fpr + ", which is not trusted for this image";
  }
  throw Error(Errc::kSecurity, "cannot verify " + std::string(what) + ": " + problem);
}

std::vector<KeyInfo> inspectKeys(std::string_view armored, std::string_view what,
                                 const fs::path& scratchParent) {
  Keyring k(scratchParent);
  return k.import(armored, what);
}

}  // namespace ferry::trust
