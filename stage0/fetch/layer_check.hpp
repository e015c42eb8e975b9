// A layer checked while it downloads.
//
// The bytes a fetcher writes here go through a socket pair to archive::checkLayer() running on
// a thread of its own, so decompression and the tar checks overlap the download: a hostile
// layer (bad names, device nodes, an entry through a symlink) or one whose uncompressed digest
// is not the config's diff_id is refused before anything reaches the store.
#pragma once

#include <atomic>
#include <exception>
#include <optional>
#include <string>
#include <thread>

#include "common/digest.hpp"
#include "common/fs.hpp"

namespace ferry::fetch {

class LayerCheck {
 public:
  // `what` names the layer in errors ("layer sha256:… of REF"), `archiveName` in the archive
  // reader's part of them (the digest); `diffId`, when known, is the sha256 the uncompressed
  // tar must have.
  LayerCheck(std::string what, std::string archiveName, std::optional<Digest> diffId);
  ~LayerCheck();  // an unfinished check is abandoned (its thread stops)
  LayerCheck(const LayerCheck&) = delete;
  LayerCheck& operator=(const LayerCheck&) = delete;

  // Feeds compressed bytes; throws the checker's error as soon as it has failed.
  void write(const char* data, size_t size);
  // Ends the stream and waits for the verdict: throws the checker's error, or kDigestMismatch
  // when the uncompressed digest is not the diff_id.
  void finish();

 private:
  void join();
  [[noreturn]] void rethrow();

  std::string what_;
  std::string archiveName_;
  std::optional<Digest> diffId_;
  UniqueFd in_;  // our end of the socket pair
  std::thread thread_;
  std::exception_ptr error_;  // written by the thread before it ends
  std::optional<Digest> uncompressed_;
};

}  // namespace ferry::fetch
