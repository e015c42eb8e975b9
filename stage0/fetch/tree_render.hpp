// An image's tree rendered while its layers download.
//
// A fetch that renders inflates each layer once: the render is the check. TreeRender applies
// the image's layers to a store::TreeDraft in order, on a thread of its own, each as soon as it
// can: a layer the store already holds at once, a downloaded one once its blob is complete and
// its digest verified (ready()), so later layers download while earlier ones are extracted.
// Applying a layer refuses what LayerCheck refuses (archive::applyLayer runs
// archive::checkLayer's checks) and checks the layer's diff_id; the first failure stops the
// render, and failed() lets the downloads stop too. Nothing here touches the store's index: the
// fetcher commits blobs, image and tree only after finish() returned.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <exception>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/digest.hpp"
#include "stage0/store/store.hpp"

namespace ferry::fetch {

class TreeRender {
 public:
  struct Layer {
    std::string what;            // "layer sha256:… of REF", for errors
    std::string name;            // the digest, for the archive reader's part of them
    std::filesystem::path blob;  // the blob in the store, or the download's temp file
    Digest diffId;
    std::optional<size_t> download;  // the download that brings it (ready()'s index); none: stored
  };

  // `draft` must outlive the render; `downloads` is how many ready() indices there are.
  TreeRender(store::TreeDraft& draft, std::vector<Layer> layers, size_t downloads);
  ~TreeRender();  // an unfinished render stops after the layer it is applying
  TreeRender(const TreeRender&) = delete;
  TreeRender& operator=(const TreeRender&) = delete;

  // Download `i` is complete and verified (any thread).
  void ready(size_t i);
  // Throws the render's error if it has failed (any thread: a download stops with it).
  void throwIfFailed();
  // Waits until every layer is applied; throws the first failure ("cannot fetch LAYER: …").
  void finish();

 private:
  void run();
  void stop();
  [[noreturn]] void rethrow();

  store::TreeDraft& draft_;
  std::vector<Layer> layers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<bool> ready_;
  bool stopping_ = false;
  std::exception_ptr error_;  // with the layer's name: set once, under mutex_
  size_t failedLayer_ = 0;
  std::thread thread_;
};

}  // namespace ferry::fetch
