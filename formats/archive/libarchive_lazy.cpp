// libarchive's functions for the ferry executable, loaded on first use (common/lazy_lib.hpp).
#include <archive.h>
#include <archive_entry.h>

#include "common/lazy_lib.hpp"

namespace {
constexpr const char* kArchive = "libarchive.so.13";
}

#define ENTRY_GETTER(RET, NAME) \
  FERRY_LAZY_FUNCTION(kArchive, RET, NAME, (struct archive_entry * e), (e))
ENTRY_GETTER(__LA_MODE_T, archive_entry_filetype)
ENTRY_GETTER(__LA_MODE_T, archive_entry_perm)
ENTRY_GETTER(la_int64_t, archive_entry_uid)
ENTRY_GETTER(la_int64_t, archive_entry_gid)
ENTRY_GETTER(const char*, archive_entry_uname)
ENTRY_GETTER(const char*, archive_entry_gname)
ENTRY_GETTER(const char*, archive_entry_pathname)
ENTRY_GETTER(const char*, archive_entry_pathname_utf8)
ENTRY_GETTER(const char*, archive_entry_hardlink)
ENTRY_GETTER(const char*, archive_entry_symlink)
ENTRY_GETTER(time_t, archive_entry_mtime)
ENTRY_GETTER(int, archive_entry_mtime_is_set)
ENTRY_GETTER(long, archive_entry_mtime_nsec)
ENTRY_GETTER(dev_t, archive_entry_rdevmajor)
ENTRY_GETTER(dev_t, archive_entry_rdevminor)
ENTRY_GETTER(la_int64_t, archive_entry_size)
ENTRY_GETTER(int, archive_entry_size_is_set)
ENTRY_GETTER(int, archive_entry_xattr_reset)
#undef ENTRY_GETTER
FERRY_LAZY_FUNCTION(kArchive, int, archive_entry_xattr_next,
                    (struct archive_entry * e, const char** name, const void** value, size_t* size),
                    (e, name, value, size))

#define ARCHIVE_CALL(RET, NAME) FERRY_LAZY_FUNCTION(kArchive, RET, NAME, (struct archive * a), (a))
ARCHIVE_CALL(const char*, archive_error_string)
ARCHIVE_CALL(int, archive_read_free)
ARCHIVE_CALL(int, archive_read_support_filter_bzip2)
ARCHIVE_CALL(int, archive_read_support_filter_gzip)
ARCHIVE_CALL(int, archive_read_support_filter_xz)
ARCHIVE_CALL(int, archive_read_support_filter_zstd)
ARCHIVE_CALL(int, archive_read_support_format_raw)
ARCHIVE_CALL(int, archive_read_support_format_tar)
#undef ARCHIVE_CALL
FERRY_LAZY_FUNCTION(kArchive, struct archive*, archive_read_new, (void), ())
FERRY_LAZY_FUNCTION(kArchive, int, archive_read_next_header,
                    (struct archive * a, struct archive_entry** e), (a, e))
FERRY_LAZY_FUNCTION(kArchive, int, archive_read_data_block,
                    (struct archive * a, const void** buff, size_t* size, la_int64_t* offset),
                    (a, buff, size, offset))
FERRY_LAZY_FUNCTION(kArchive, int, archive_read_open,
                    (struct archive * a, void* data, archive_open_callback* open,
                     archive_read_callback* read, archive_close_callback* close),
                    (a, data, open, read, close))
