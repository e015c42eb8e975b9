#include "formats/archive/reader.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <isa-l/igzip_lib.h>
#include <sys/stat.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "common/error.hpp"

namespace ferry::archive {

namespace {

constexpr size_t kBufferSize = size_t{1} << 20;
constexpr size_t kZeroSize = 64 * 1024;
const char kZeros[kZeroSize] = {};

struct ArchiveDeleter {
  void operator()(struct archive* a) const { archive_read_free(a); }
};
using ArchivePtr = std::unique_ptr<struct archive, ArchiveDeleter>;

std::string archiveMessage(struct archive* a) {
  const char* m = archive_error_string(a);
  return m ? m : "unknown libarchive error";
}

// A failure of the uncompressed stream found ahead of the tar reader (decompressAhead): the
// tar reader's thread names its current entry when it reaches it.
struct StreamFailure {
  Errc code;
  std::string cause;
};

constexpr size_t kAheadSlots = 4;

}  // namespace

struct Reader::Impl {
  std::string name;
  ReaderOptions options;
  UniqueFd fd;
  Compression compression = Compression::kNone;

  // Compressed side: the descriptor, read in large blocks.
  std::vector<char> inBuf = std::vector<char>(kBufferSize);
  size_t prefetched = 0;  // bytes of inBuf read before the outer reader was opened
  bool fdEof = false;
  uint64_t compressedSize = 0;
  std::optional<Hasher> compressedHash;

  // Uncompressed side: the tar stream handed from the outer to the inner reader. gzip is
  // inflated by ISA-L (about twice zlib's speed) instead of an outer libarchive reader.
  std::unique_ptr<inflate_state> gzip;
  std::vector<char> gzipOut;
  bool gzipInputEof = false;
  ArchivePtr outer;
  ArchivePtr inner;
  bool outerEof = false;
  uint64_t uncompressedSize = 0;
  std::optional<Hasher> uncompressedHash;
  std::optional<Error> pendingError;  // raised inside a callback, rethrown by the caller
  std::optional<Error> outerError;    // the same for the outer reader's callback

  // decompressAhead: a thread fills `slots` with the uncompressed stream (hashed and counted
  // there); the tar reader takes them in order. The slot at `head` is the tar reader's while
  // `held` (libarchive uses a block until it asks for the next one).
  struct Ahead {
    std::mutex mutex;
    std::condition_variable filled;
    std::condition_variable freed;
    std::vector<char> slots[kAheadSlots];
    size_t sizes[kAheadSlots] = {};
    size_t head = 0;
    size_t count = 0;
    bool held = false;
    bool end = false;
    bool stop = false;
    std::optional<StreamFailure> failure;
    std::exception_ptr exception;
    std::thread thread;
  };
  std::unique_ptr<Ahead> ahead;

  // Entries.
  bool started = false;
  bool innerEof = false;
  bool finished = false;
  std::string current;  // path of the current entry (for messages)
  uint64_t entries = 0;
  uint64_t declaredTotal = 0;

  // Data of the current entry.
  bool inEntry = false;
  bool dataEof = false;
  uint64_t entrySize = 0;
  uint64_t pos = 0;
  const char* pendingBuf = nullptr;
  size_t pendingSize = 0;
  uint64_t pendingOffset = 0;

  Error error(Errc code, std::string_view entry, std::string_view cause) const {
    std::string m = "cannot read archive " + quote(name);
    if (!entry.empty()) m += ": entry " + quote(entry);
    m += ": ";
    m += cause;
    return Error(code, m);
  }

  ~Impl();
  void open();
  void openOuter();
  static la_ssize_t outerRead(struct archive*, void* self, const void** buf);
  static la_ssize_t innerRead(struct archive*, void* self, const void** buf);
  la_ssize_t fillCompressed(const void** buf);
  void openGzip();
  // Inflates into `out`; 0 at the end of the stream.
  size_t gzipInflate(char* out, size_t capacity);
  // The next block of the outer libarchive reader; 0 at its end.
  size_t outerBlock(const void** buf);
  void account(const void* block, size_t size);
  // Next block of the uncompressed stream (hashed and counted); size 0 at its end.
  la_ssize_t uncompressedBlock(const void** buf);
  [[noreturn]] void streamFail(Errc code, std::string cause);
  void startAhead();
  void stopAhead() noexcept;
  void aheadLoop();
  la_ssize_t aheadBlock(const void** buf);
  [[noreturn]] void failInner(std::string_view entry);
  bool nextEntry(Entry& e);
  void toEntry(struct archive_entry* ae, Entry& e);
  std::string_view readChunk();
};

void Reader::Impl::open() {
  if (options.compressedDigest) compressedHash.emplace(*options.compressedDigest);
  if (options.uncompressedDigest) uncompressedHash.emplace(*options.uncompressedDigest);

  prefetched = readFull(fd.get(), inBuf.data(), inBuf.size(), name);
  if (prefetched < inBuf.size()) fdEof = true;
  compression = detectCompression(inBuf.data(), prefetched);
  if (compression == Compression::kGzip) {
    openGzip();
  } else {
    openOuter();
  }
  struct stat st;
  if (options.decompressAhead && compression != Compression::kNone && !options.uncompressedTee &&
      !options.compressedTee && ::fstat(fd.get(), &st) == 0 && S_ISREG(st.st_mode)) {
    startAhead();
  }
  inner.reset(archive_read_new());
  if (!inner) throw std::bad_alloc();
  archive_read_support_format_tar(inner.get());
  if (archive_read_open(inner.get(), this, nullptr, &Impl::innerRead, nullptr) != ARCHIVE_OK) {
    failInner("");
  }
}

void Reader::Impl::openGzip() {
  gzip = std::make_unique<inflate_state>();
  isal_inflate_init(gzip.get());
  gzip->crc_flag = ISAL_GZIP;
  gzipOut.resize(kBufferSize);
}

// Inflates the next block. Concatenated gzip members are one stream (as gunzip reads them);
// zero bytes after the last member (tape padding) are ignored, anything else is an error.
size_t Reader::Impl::gzipInflate(char* out, size_t capacity) {
  inflate_state& z = *gzip;
  for (;;) {
    if (z.avail_in == 0 && !gzipInputEof) {
      const void* in;
      la_ssize_t n = fillCompressed(&in);
      if (n == 0) {
        gzipInputEof = true;
      } else {
        z.next_in = static_cast<uint8_t*>(const_cast<void*>(in));
        z.avail_in = static_cast<uint32_t>(n);
      }
    }
    if (z.block_state == ISAL_BLOCK_FINISH) {
      if (z.avail_in == 0) {
        if (gzipInputEof) return 0;
        continue;
      }
      if (z.avail_in >= 2 && z.next_in[0] == 0x1f && z.next_in[1] == 0x8b) {
        uint8_t* next = z.next_in;
        uint32_t avail = z.avail_in;
        isal_inflate_reset(&z);
        z.crc_flag = ISAL_GZIP;
        z.next_in = next;
        z.avail_in = avail;
        continue;
      }
      for (uint32_t i = 0; i < z.avail_in; ++i) {
        if (z.next_in[i] != 0) {
          streamFail(Errc::kInvalid, "gzip stream: trailing garbage after the last member");
        }
      }
      z.avail_in = 0;
      continue;
    }
    z.next_out = reinterpret_cast<uint8_t*>(out);
    z.avail_out = static_cast<uint32_t>(capacity);
    uint32_t availBefore = z.avail_in;
    int r = isal_inflate(&z);
    if (r < 0) {
      streamFail(Errc::kInvalid,
                 r == ISAL_INCORRECT_CHECKSUM
                     ? "gzip stream: checksum mismatch"
                     : "gzip stream: invalid data (isa-l error " + std::to_string(r) + ")");
    }
    size_t produced = capacity - z.avail_out;
    if (produced > 0) return produced;
    if (gzipInputEof && z.avail_in == 0 && z.block_state != ISAL_BLOCK_FINISH) {
      streamFail(Errc::kInvalid, "truncated gzip input");
    }
    if (z.avail_in != 0 && z.avail_in == availBefore && z.block_state != ISAL_BLOCK_FINISH) {
      streamFail(Errc::kInvalid, "gzip stream: no progress (corrupt data)");
    }
  }
}

void Reader::Impl::account(const void* block, size_t size) {
  uncompressedSize += size;
  if (uncompressedSize > options.maxTotalSize) {
    streamFail(Errc::kLimit,
               "uncompressed stream exceeds " + std::to_string(options.maxTotalSize) + " bytes");
  }
  if (uncompressedHash) uncompressedHash->update(block, size);
  if (options.uncompressedTee) options.uncompressedTee(block, size);
}

void Reader::Impl::streamFail(Errc code, std::string cause) {
  if (ahead) throw StreamFailure{code, std::move(cause)};
  throw error(code, current, cause);
}

void Reader::Impl::openOuter() {
  outer.reset(archive_read_new());
  if (!outer) throw std::bad_alloc();
  archive_read_support_format_raw(outer.get());
  int r = ARCHIVE_OK;
  switch (compression) {
    case Compression::kNone:
      break;
    case Compression::kGzip:
      r = archive_read_support_filter_gzip(outer.get());
      break;
    case Compression::kBzip2:
      r = archive_read_support_filter_bzip2(outer.get());
      break;
    case Compression::kXz:
      r = archive_read_support_filter_xz(outer.get());
      break;
    case Compression::kZstd:
      r = archive_read_support_filter_zstd(outer.get());
      break;
  }
  if (r != ARCHIVE_OK) {
    throw error(Errc::kUnsupported, "",
                std::string(compressionName(compression)) +
                    " is not available: " + archiveMessage(outer.get()));
  }
  if (archive_read_open(outer.get(), this, nullptr, &Impl::outerRead, nullptr) != ARCHIVE_OK) {
    if (outerError) throw *outerError;
    throw error(Errc::kInvalid, "", archiveMessage(outer.get()));
  }
  struct archive_entry* ae;
  r = archive_read_next_header(outer.get(), &ae);
  if (r == ARCHIVE_EOF) {
    outerEof = true;
  } else if (r != ARCHIVE_OK) {
    if (outerError) throw *outerError;
    throw error(Errc::kInvalid, "", archiveMessage(outer.get()));
  }
}

la_ssize_t Reader::Impl::outerRead(struct archive*, void* self, const void** buf) {
  auto* impl = static_cast<Impl*>(self);
  try {
    return impl->fillCompressed(buf);
  } catch (const Error& e) {
    impl->outerError = e;
  } catch (const std::exception& e) {
    impl->outerError = impl->error(Errc::kIo, "", e.what());
  }
  return -1;
}

la_ssize_t Reader::Impl::fillCompressed(const void** buf) {
  size_t n;
  if (prefetched > 0) {
    n = prefetched;
    prefetched = 0;
  } else if (fdEof) {
    return 0;
  } else {
    n = readFull(fd.get(), inBuf.data(), inBuf.size(), name);
    if (n < inBuf.size()) fdEof = true;
  }
  if (compressedHash) compressedHash->update(inBuf.data(), n);
  if (options.compressedTee && n > 0) options.compressedTee(inBuf.data(), n);
  compressedSize += n;
  *buf = inBuf.data();
  return static_cast<la_ssize_t>(n);
}

size_t Reader::Impl::outerBlock(const void** buf) {
  while (!outerEof) {
    const void* block;
    size_t size;
    la_int64_t offset;
    int r = archive_read_data_block(outer.get(), &block, &size, &offset);
    if (r == ARCHIVE_EOF) {
      outerEof = true;
      break;
    }
    if (r != ARCHIVE_OK) {
      if (outerError) throw *outerError;
      streamFail(Errc::kInvalid, std::string(compressionName(compression)) +
                                     " stream: " + archiveMessage(outer.get()));
    }
    if (size == 0) continue;
    *buf = block;
    return size;
  }
  return 0;
}

la_ssize_t Reader::Impl::uncompressedBlock(const void** buf) {
  if (ahead) return aheadBlock(buf);
  size_t n;
  if (gzip) {
    n = gzipInflate(gzipOut.data(), gzipOut.size());
    *buf = gzipOut.data();
  } else {
    n = outerBlock(buf);
  }
  if (n > 0) account(*buf, n);
  return static_cast<la_ssize_t>(n);
}

void Reader::Impl::startAhead() {
  ahead = std::make_unique<Ahead>();
  for (auto& slot : ahead->slots) slot.resize(kBufferSize);
  gzipOut = {};
  ahead->thread = std::thread([this] { aheadLoop(); });
}

void Reader::Impl::stopAhead() noexcept {
  if (!ahead || !ahead->thread.joinable()) return;
  {
    std::lock_guard lock(ahead->mutex);
    ahead->stop = true;
  }
  ahead->freed.notify_one();
  ahead->thread.join();
}

Reader::Impl::~Impl() { stopAhead(); }

// The decompressing thread: fills free slots in order until the stream ends, fails, or the
// Reader goes away.
void Reader::Impl::aheadLoop() {
  Ahead& a = *ahead;
  for (;;) {
    size_t slot;
    {
      std::unique_lock lock(a.mutex);
      a.freed.wait(lock, [&] { return a.stop || a.count < kAheadSlots; });
      if (a.stop) return;
      slot = (a.head + a.count) % kAheadSlots;
    }
    size_t n = 0;
    std::optional<StreamFailure> failure;
    std::exception_ptr exception;
    try {
      char* out = a.slots[slot].data();
      if (gzip) {
        n = gzipInflate(out, kBufferSize);
      } else {
        const void* block;
        n = outerBlock(&block);
        if (n > kBufferSize) a.slots[slot].resize(n);
        out = a.slots[slot].data();
        std::memcpy(out, block, n);
      }
      if (n > 0) account(out, n);
    } catch (StreamFailure& f) {
      failure = std::move(f);
    } catch (...) {
      exception = std::current_exception();
    }
    std::lock_guard lock(a.mutex);
    if (failure || exception) {
      a.failure = std::move(failure);
      a.exception = exception;
      a.end = true;
    } else if (n == 0) {
      a.end = true;
    } else {
      a.sizes[slot] = n;
      ++a.count;
    }
    a.filled.notify_one();
    if (a.end) return;
  }
}

la_ssize_t Reader::Impl::aheadBlock(const void** buf) {
  Ahead& a = *ahead;
  std::unique_lock lock(a.mutex);
  if (a.held) {  // libarchive is done with the block it had
    a.held = false;
    a.head = (a.head + 1) % kAheadSlots;
    --a.count;
    a.freed.notify_one();
  }
  a.filled.wait(lock, [&] { return a.count > 0 || a.end; });
  if (a.count > 0) {
    a.held = true;
    *buf = a.slots[a.head].data();
    return static_cast<la_ssize_t>(a.sizes[a.head]);
  }
  if (a.failure) throw error(a.failure->code, current, a.failure->cause);
  if (a.exception) std::rethrow_exception(a.exception);
  return 0;
}

la_ssize_t Reader::Impl::innerRead(struct archive*, void* self, const void** buf) {
  auto* impl = static_cast<Impl*>(self);
  try {
    return impl->uncompressedBlock(buf);
  } catch (const Error& e) {
    impl->pendingError = e;
  } catch (const std::exception& e) {
    impl->pendingError = impl->error(Errc::kIo, impl->current, e.what());
  }
  return -1;
}

void Reader::Impl::failInner(std::string_view entry) {
  if (pendingError) throw *pendingError;
  std::string m = archiveMessage(inner.get());
  Errc code = Errc::kInvalid;
  throw error(code, entry, m);
}

bool Reader::Impl::nextEntry(Entry& e) {
  if (finished) throw error(Errc::kInvalid, "", "reader already finished");
  if (innerEof) return false;
  inEntry = false;
  pendingSize = 0;
  struct archive_entry* ae;
  int r = archive_read_next_header(inner.get(), &ae);
  if (r == ARCHIVE_EOF) {
    innerEof = true;
    current.clear();
    return false;
  }
  if (r != ARCHIVE_OK) failInner(current.empty() ? "" : current);
  toEntry(ae, e);
  return true;
}

void Reader::Impl::toEntry(struct archive_entry* ae, Entry& e) {
  const char* rawName = archive_entry_pathname(ae);
  if (rawName == nullptr) rawName = archive_entry_pathname_utf8(ae);
  if (rawName == nullptr) throw error(Errc::kInvalid, "", "entry without a name");
  current = rawName;

  if (++entries > options.maxEntries) {
    throw error(Errc::kLimit, current,
                "more than " + std::to_string(options.maxEntries) + " entries");
  }
  NormalizedPath np = normalizePath(rawName, /*allowRoot=*/true);
  if (!np.error.empty()) throw error(Errc::kSecurity, current, np.error);

  e = Entry{};
  e.path = std::move(np.path);
  const char* hardlink = archive_entry_hardlink(ae);
  const char* symlink = archive_entry_symlink(ae);
  if (hardlink != nullptr) {
    e.type = Type::kHardlink;
    NormalizedPath target = normalizePath(hardlink);
    if (!target.error.empty()) {
      throw error(Errc::kSecurity, current,
                  "hardlink target " + quote(hardlink) + ": " + target.error);
    }
    e.linkTarget = std::move(target.path);
  } else {
    switch (archive_entry_filetype(ae)) {
      case AE_IFREG:
        e.type = Type::kFile;
        break;
      case AE_IFDIR:
        e.type = Type::kDir;
        break;
      case AE_IFLNK:
        e.type = Type::kSymlink;
        if (symlink == nullptr) throw error(Errc::kInvalid, current, "symlink without a target");
        e.linkTarget = symlink;
        break;
      case AE_IFCHR:
        e.type = Type::kChar;
        break;
      case AE_IFBLK:
        e.type = Type::kBlock;
        break;
      case AE_IFIFO:
        e.type = Type::kFifo;
        break;
      default:
        throw error(Errc::kUnsupported, current, "unsupported entry type");
    }
  }
  if (e.path.empty() && e.type != Type::kDir)
    throw error(Errc::kSecurity, current, "path is empty");

  e.mode = archive_entry_perm(ae) & 07777;
  int64_t uid = archive_entry_uid(ae), gid = archive_entry_gid(ae);
  if (uid < 0 || uid > UINT32_MAX || gid < 0 || gid > UINT32_MAX) {
    throw error(Errc::kInvalid, current, "owner out of range");
  }
  e.uid = static_cast<uint32_t>(uid);
  e.gid = static_cast<uint32_t>(gid);
  if (const char* u = archive_entry_uname(ae)) e.uname = u;
  if (const char* g = archive_entry_gname(ae)) e.gname = g;
  if (archive_entry_mtime_is_set(ae)) {
    e.mtimeSec = archive_entry_mtime(ae);
    long nsec = archive_entry_mtime_nsec(ae);
    e.mtimeNsec = nsec >= 0 && nsec < 1'000'000'000 ? static_cast<uint32_t>(nsec) : 0;
  }
  if (e.type == Type::kChar || e.type == Type::kBlock) {
    e.devMajor = static_cast<uint32_t>(archive_entry_rdevmajor(ae));
    e.devMinor = static_cast<uint32_t>(archive_entry_rdevminor(ae));
  }
  const char* xname;
  const void* xvalue;
  size_t xsize;
  archive_entry_xattr_reset(ae);
  while (archive_entry_xattr_next(ae, &xname, &xvalue, &xsize) == ARCHIVE_OK) {
    e.xattrs[xname] = std::string(static_cast<const char*>(xvalue), xsize);
  }

  int64_t size = archive_entry_size_is_set(ae) ? archive_entry_size(ae) : 0;
  if (size < 0) throw error(Errc::kInvalid, current, "negative size");
  if (static_cast<uint64_t>(size) > options.maxEntrySize) {
    throw error(Errc::kLimit, current,
                "size " + std::to_string(size) + " exceeds the limit of " +
                    std::to_string(options.maxEntrySize) + " bytes");
  }
  declaredTotal += static_cast<uint64_t>(size);
  if (declaredTotal > options.maxTotalSize) {
    throw error(Errc::kLimit, current,
                "archive contents exceed " + std::to_string(options.maxTotalSize) + " bytes");
  }
  e.size = e.type == Type::kFile ? static_cast<uint64_t>(size) : 0;

  inEntry = e.type == Type::kFile;
  dataEof = false;
  entrySize = e.size;
  pos = 0;
}

std::string_view Reader::Impl::readChunk() {
  if (!inEntry) return {};
  for (;;) {
    if (pendingSize > 0) {
      if (pendingOffset > pos) {
        size_t n = static_cast<size_t>(std::min<uint64_t>(pendingOffset - pos, kZeroSize));
        pos += n;
        return {kZeros, n};
      }
      std::string_view chunk(pendingBuf, pendingSize);
      pos += pendingSize;
      pendingSize = 0;
      return chunk;
    }
    if (dataEof) {
      if (pos < entrySize) {
        size_t n = static_cast<size_t>(std::min<uint64_t>(entrySize - pos, kZeroSize));
        pos += n;
        return {kZeros, n};
      }
      inEntry = false;
      return {};
    }
    const void* buf;
    size_t size;
    la_int64_t offset;
    int r = archive_read_data_block(inner.get(), &buf, &size, &offset);
    if (r == ARCHIVE_EOF) {
      dataEof = true;
      continue;
    }
    if (r != ARCHIVE_OK) failInner(current);
    if (offset < 0 || static_cast<uint64_t>(offset) < pos ||
        static_cast<uint64_t>(offset) + size > entrySize) {
      throw error(Errc::kInvalid, current, "data block outside the entry");
    }
    pendingBuf = static_cast<const char*>(buf);
    pendingSize = size;
    pendingOffset = static_cast<uint64_t>(offset);
  }
}

Reader::Reader(const std::filesystem::path& path, ReaderOptions options)
    : Reader(openFile(path, O_RDONLY), path.string(), std::move(options)) {}

Reader::Reader(UniqueFd fd, std::string name, ReaderOptions options)
    : impl_(std::make_unique<Impl>()) {
  impl_->name = std::move(name);
  impl_->options = std::move(options);
  impl_->fd = std::move(fd);
  impl_->open();
}

Reader::~Reader() = default;

Compression Reader::compression() const { return impl_->compression; }
const std::string& Reader::name() const { return impl_->name; }

bool Reader::next(Entry& entry) {
  for (;;) {
    if (!impl_->nextEntry(entry)) return false;
    // The archive's root ("./") carries nothing ferry keeps; skip it.
    if (!entry.path.empty()) return true;
  }
}

std::string_view Reader::readChunk() { return impl_->readChunk(); }

size_t Reader::read(void* buffer, size_t size) {
  Impl& m = *impl_;
  auto* out = static_cast<char*>(buffer);
  size_t done = 0;
  while (done < size) {
    std::string_view c = m.readChunk();
    if (c.empty()) break;
    size_t n = std::min(c.size(), size - done);
    std::memcpy(out + done, c.data(), n);
    done += n;
    if (n < c.size()) {  // give the rest back for the next call
      m.pos -= c.size() - n;
      if (c.data() != kZeros) {  // zeros are regenerated from pos
        m.pendingBuf = c.data() + n;
        m.pendingSize = c.size() - n;
        m.pendingOffset = m.pos;
      }
    }
  }
  return done;
}

uint64_t Reader::remaining() const { return impl_->inEntry ? impl_->entrySize - impl_->pos : 0; }

ReadResult Reader::finish() {
  Impl& m = *impl_;
  Entry scratch;
  while (m.nextEntry(scratch)) {
  }
  const void* block;
  while (m.uncompressedBlock(&block) > 0) {
  }
  m.stopAhead();  // at the end of the stream: its counts and digests are complete
  while (m.fillCompressed(&block) > 0) {
  }
  m.finished = true;
  ReadResult r;
  r.compression = m.compression;
  r.compressedSize = m.compressedSize;
  r.uncompressedSize = m.uncompressedSize;
  r.entries = m.entries;
  if (m.compressedHash) {
    r.compressedDigest = Digest(m.compressedHash->algorithm(), m.compressedHash->finishHex());
  }
  if (m.uncompressedHash) {
    r.uncompressedDigest = Digest(m.uncompressedHash->algorithm(), m.uncompressedHash->finishHex());
  }
  return r;
}

Error Reader::error(Errc code, std::string_view entry, std::string_view cause) const {
  return impl_->error(code, entry, cause);
}

}  // namespace ferry::archive
