// RegistryClient's blob side: one verified stream, and a pool of them.
#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <string>
#include <thread>

#include "common/error.hpp"
#include "discovery/registry_client.hpp"

namespace ferry::registry {

namespace {

// Thrown into a transfer that another worker's failure made pointless.
class Cancelled : public std::exception {
 public:
  const char* what() const noexcept override { return "cancelled"; }
};

}  // namespace

void RegistryClient::fetchBlob(const DockerReference& ref, const oci::Descriptor& blob,
                               const http::Sink& sink, const http::Progress& progress) const {
  fetchBlobAs(ref, blob, sink, progress, "blob " + blob.digest.str());
}

void RegistryClient::fetchBlobAs(const DockerReference& ref, const oci::Descriptor& blob,
                                 const http::Sink& sink, const http::Progress& progress,
                                 std::string_view what) const {
  if (blob.size < 0) throw fetchError(Errc::kInvalid, ref, what, "negative size");
  const uint64_t size = static_cast<uint64_t>(blob.size);
  Hasher hasher(blob.digest.algorithm());
  uint64_t received = 0;
  // The registry must not make us store more than the manifest promised: refuse the byte that
  // goes past the declared size, before the sink sees it.
  http::Sink verifying = [&](const char* data, size_t n) {
    if (n > size - received) {
      throw fetchError(
          Errc::kDigestMismatch, ref, what,
          "the registry sent more than the " + std::to_string(size) + " bytes of the descriptor");
    }
    hasher.update(data, n);
    received += n;
    sink(data, n);
  };
  http::Progress reporting;
  if (progress) {
    reporting = [&](uint64_t done, std::optional<uint64_t>) { progress(done, size); };
  }
  http::Response response =
      exchange(ref, ref.repository() + "/blobs/" + blob.digest.str(), {}, what,
               [&](const http::Request& r) { return http_.stream(r, verifying, reporting); });
  if (response.status < 200 || response.status > 299) throw statusError(ref, what, response);
  if (received != size) {
    throw fetchError(
        Errc::kDigestMismatch, ref, what,
        "truncated: " + std::to_string(received) + " of " + std::to_string(size) + " bytes");
  }
  Digest actual(blob.digest.algorithm(), hasher.finishHex());
  if (actual != blob.digest) {
    throw fetchError(Errc::kDigestMismatch, ref, what, "the content hashes to " + actual.str());
  }
}

std::string RegistryClient::fetchBlobBytes(const DockerReference& ref, const oci::Descriptor& blob,
                                           uint64_t maxSize) const {
  std::string what = "blob " + blob.digest.str();
  if (blob.size > 0 && static_cast<uint64_t>(blob.size) > maxSize) {
    throw fetchError(Errc::kLimit, ref, what,
                     std::to_string(blob.size) + " bytes is more than " + std::to_string(maxSize));
  }
  std::string out;
  fetchBlobAs(
      ref, blob, [&](const char* data, size_t size) { out.append(data, size); }, {}, what);
  return out;
}

void RegistryClient::fetchBlobs(const DockerReference& ref,
                                const std::vector<oci::Descriptor>& blobs,
                                const BlobTargetFactory& makeTarget, size_t maxParallel,
                                const BlobProgress& progress) const {
  std::atomic<size_t> next{0};
  std::atomic<bool> cancelled{false};
  std::mutex mutex;  // guards `failure` and serializes `progress`
  std::exception_ptr failure;

  auto worker = [&] {
    for (;;) {
      if (cancelled.load()) return;
      size_t i = next.fetch_add(1);
      if (i >= blobs.size()) return;
      try {
        BlobTarget target = makeTarget(i, blobs[i]);
        http::Sink sink = [&](const char* data, size_t size) {
          if (cancelled.load()) throw Cancelled();
          target.sink(data, size);
        };
        http::Progress reporting = [&](uint64_t done, std::optional<uint64_t> total) {
          if (cancelled.load()) throw Cancelled();
          if (!progress) return;
          std::lock_guard lock(mutex);
          progress(i, done, total.value_or(0));
        };
        fetchBlob(ref, blobs[i], sink, reporting);
        if (cancelled.load()) return;
        if (target.finish) target.finish();
      } catch (...) {
        std::lock_guard lock(mutex);
        // The first failure is the story; the rest are its consequences (or Cancelled).
        if (!failure) failure = std::current_exception();
        cancelled.store(true);
        return;
      }
    }
  };

  size_t count = std::min(std::max<size_t>(maxParallel, 1), blobs.size());
  std::vector<std::thread> threads;
  threads.reserve(count);
  try {
    for (size_t t = 0; t < count; ++t) threads.emplace_back(worker);
  } catch (...) {
    cancelled.store(true);
    for (std::thread& t : threads) t.join();
    throw;
  }
  for (std::thread& t : threads) t.join();
  if (failure) std::rethrow_exception(failure);
}

}  // namespace ferry::registry
