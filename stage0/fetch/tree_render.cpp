#include "stage0/fetch/tree_render.hpp"

#include "common/error.hpp"

namespace ferry::fetch {

TreeRender::TreeRender(store::TreeDraft& draft, std::vector<Layer> layers, size_t downloads)
    : draft_(draft), layers_(std::move(layers)), ready_(downloads, false) {
  thread_ = std::thread([this] { run(); });
}

TreeRender::~TreeRender() { stop(); }

void TreeRender::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void TreeRender::run() {
  for (size_t j = 0; j < layers_.size(); ++j) {
    const Layer& l = layers_[j];
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !l.download || ready_[*l.download]; });
      if (stopping_) return;
    }
    try {
      draft_.applyLayer(l.blob, l.name, l.diffId);
    } catch (...) {
      std::lock_guard lock(mutex_);
      error_ = std::current_exception();
      failedLayer_ = j;
      return;
    }
  }
}

void TreeRender::ready(size_t i) {
  {
    std::lock_guard lock(mutex_);
    ready_.at(i) = true;
  }
  wake_.notify_all();
}

void TreeRender::rethrow() {
  const std::string& what = layers_[failedLayer_].what;
  try {
    std::rethrow_exception(error_);
  } catch (const Error& e) {
    throw Error(e.code(), "cannot fetch " + what + ": " + e.what());
  } catch (const std::exception& e) {
    std::throw_with_nested(Error(Errc::kIo, "cannot fetch " + what + ": " + e.what()));
  }
}

void TreeRender::throwIfFailed() {
  std::lock_guard lock(mutex_);
  if (error_) rethrow();
}

void TreeRender::finish() {
  // Every download is complete when the fetcher calls this: the thread ends by itself.
  if (thread_.joinable()) thread_.join();
  if (error_) rethrow();
}

}  // namespace ferry::fetch
