// Helpers shared by the store tests: building ACI and OCI images into a store.
#pragma once

#include <fcntl.h>

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "formats/archive/aci.hpp"
#include "formats/archive/layer.hpp"
#include "formats/archive/writer.hpp"
#include "stage0/store/store.hpp"

namespace ferry::store::test {

namespace fs = std::filesystem;

// Entries with their data (empty for all but regular files).
using Content = std::vector<std::pair<archive::Entry, std::string>>;

inline std::pair<archive::Entry, std::string> file(std::string path, std::string data) {
  archive::Entry e = archive::fileEntry(std::move(path), data.size());
  return {e, std::move(data)};
}
inline std::pair<archive::Entry, std::string> directory(std::string path) {
  return {archive::dirEntry(std::move(path)), ""};
}

inline std::string errorOf(auto&& fn) {
  try {
    fn();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no error)";
}

inline Errc codeOf(auto&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.code();
  }
  ADD_FAILURE() << "no ferry::Error thrown";
  return Errc::kUsage;
}

// A tar layer (gzip by default) as bytes.
inline std::string layerBytes(const fs::path& scratch, const Content& content,
                              archive::Compression c = archive::Compression::kGzip) {
  fs::path p = scratch / "layer.tar";
  {
    UniqueFd fd = openFile(p, O_WRONLY | O_CREAT | O_TRUNC);
    archive::WriterOptions o;
    o.compression = c;
    archive::Writer w(fd.get(), o);
    for (const auto& [e, data] : content) {
      w.add(e);
      if (!data.empty()) w.write(data.data(), data.size());
    }
    w.finish();
  }
  return readFile(p);
}

// An OCI image with the given layers (base first); `salt` makes the config unique.
inline ImageRecord addOci(Store& store, const fs::path& scratch, const std::string& name,
                          const std::vector<Content>& layers, const std::string& tag = "latest",
                          const std::string& salt = "") {
  LockHold session = store.lockShared();
  ImageRecord r;
  r.kind = ImageKind::kOci;
  r.name = name;
  r.tags = {tag};
  std::string config = R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers"},)"
                       R"("salt":")" +
                       salt + R"("})";
  oci::BlobInfo c = store.putBlob(config, "config of " + name);
  std::string manifest =
      R"({"schemaVersion":2,"config":{"digest":")" + c.digest.str() + R"("},"layers":[)";
  std::vector<BlobRef> layerRefs;
  for (const Content& l : layers) {
    oci::BlobInfo b = store.putBlob(layerBytes(scratch, l), "layer of " + name);
    layerRefs.push_back(
        {BlobRole::kLayer, b.digest, b.size, "application/vnd.oci.image.layer.v1.tar+gzip"});
    manifest += (layerRefs.size() > 1 ? ",\"" : "\"") + b.digest.str() + "\"";
  }
  manifest += "]}";
  oci::BlobInfo m = store.putBlob(manifest, "manifest of " + name);
  r.id = m.digest.str();
  r.blobs.push_back(
      {BlobRole::kManifest, m.digest, m.size, "application/vnd.oci.image.manifest.v1+json"});
  r.blobs.push_back(
      {BlobRole::kConfig, c.digest, c.size, "application/vnd.oci.image.config.v1+json"});
  for (const BlobRef& l : layerRefs) r.blobs.push_back(l);
  return store.addImage(r);
}

// An OCI image record that is nothing but its manifest blob.
inline ImageRecord manifestOnly(const oci::BlobInfo& m, const std::string& name) {
  ImageRecord r;
  r.id = m.digest.str();
  r.kind = ImageKind::kOci;
  r.name = name;
  r.blobs = {{BlobRole::kManifest, m.digest, m.size, ""}};
  return r;
}

// An appc manifest; `deps` are (name, version label) pairs.
inline std::string appcManifest(const std::string& name, const std::string& version,
                                const std::vector<std::pair<std::string, std::string>>& deps = {}) {
  std::string m = R"({"acKind":"ImageManifest","acVersion":"0.8.11","name":")" + name +
                  R"(","labels":[{"name":"version","value":")" + version +
                  R"("},{"name":"os","value":"linux"},{"name":"arch","value":"amd64"}])";
  if (!deps.empty()) {
    m += R"(,"dependencies":[)";
    for (size_t i = 0; i < deps.size(); ++i) {
      m += (i > 0 ? "," : "") + std::string(R"({"imageName":")") + deps[i].first +
           R"(","labels":[{"name":"version","value":")" + deps[i].second + R"("}]})";
    }
    m += "]";
  }
  return m + "}";
}

// An ACI (uncompressed, so the blob's sha512 is the image ID) added to the store.
inline ImageRecord addAci(Store& store, const fs::path& scratch, const std::string& name,
                          const std::string& version, const Content& rootfs,
                          const std::vector<std::pair<std::string, std::string>>& deps = {},
                          int64_t importedAt = 0) {
  std::string manifest = appcManifest(name, version, deps);
  fs::path p = scratch / "image.aci";
  {
    UniqueFd fd = openFile(p, O_WRONLY | O_CREAT | O_TRUNC);
    archive::WriterOptions o;
    o.compression = archive::Compression::kNone;
    archive::AciWriter w(fd.get(), manifest, o);
    for (const auto& [e, data] : rootfs) {
      w.add(e);
      if (!data.empty()) w.write(data.data(), data.size());
    }
    w.finish();
  }
  LockHold session = store.lockShared();
  oci::BlobInfo b = store.putBlob(readFile(p), "ACI " + name, DigestAlgorithm::kSha512);
  ImageRecord r;
  r.id = "sha512-" + b.digest.hex();
  r.kind = ImageKind::kAci;
  r.name = name;
  r.labels = {{"version", version}, {"os", "linux"}, {"arch", "amd64"}};
  r.blobs = {{BlobRole::kAci, b.digest, b.size, ""}};
  r.appcManifest = manifest;
  r.importedAt = importedAt;
  return store.addImage(r);
}

}  // namespace ferry::store::test
