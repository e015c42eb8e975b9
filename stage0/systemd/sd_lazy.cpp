// libsystemd for the ferry executable, loaded on first use (common/lazy_lib.hpp): only pods
// under systemd need it, and its loading (with liblzma, libzstd, liblz4, libgcrypt, libcap)
// would cost every ferry process. Only non-variadic functions are used, so each forwards as is.
#include <systemd/sd-bus.h>
#include <systemd/sd-journal.h>
#include <systemd/sd-login.h>

#include "common/lazy_lib.hpp"

namespace {
constexpr const char* kSystemd = "libsystemd.so.0";
}

FERRY_LAZY_FUNCTION(kSystemd, int, sd_bus_open_system, (sd_bus * *ret), (ret))
FERRY_LAZY_FUNCTION(kSystemd, int, sd_bus_open_user, (sd_bus * *ret), (ret))
FERRY_LAZY_FUNCTION(kSystemd, sd_bus*, sd_bus_flush_close_unref, (sd_bus * bus), (bus))
FERRY_LAZY_FUNCTION(kSystemd, int, sd_bus_message_new_method_call,
                    (sd_bus * bus, sd_bus_message** m, const char* destination, const char* path,
                     const char* interface, const char* member),
                    (bus, m, destination, path, interface, member))
FERRY_LAZY_FUNCTION(kSystemd, int, sd_bus_call,
                    (sd_bus * bus, sd_bus_message* m, uint64_t usec, sd_bus_error* ret_error,
                     sd_bus_message** reply),
                    (bus, m, usec, ret_error, reply))
FERRY_LAZY_FUNCTION(kSystemd, sd_bus_message*, sd_bus_message_ref, (sd_bus_message * m), (m))
FERRY_LAZY_FUNCTION(kSystemd, sd_bus_message*, sd_bus_message_unref, (sd_bus_message * m), (m))
FERRY_LAZY_FUNCTION(kSystemd, int, sd_bus_message_append_basic,
                    (sd_bus_message * m, char type, const void* p), (m, type, p))
FERRY_LAZY_FUNCTION(kSystemd, int, sd_bus_message_append_array,
                    (sd_bus_message * m, char type, const void* ptr, size_t size),
                    (m, type, ptr, size))
FERRY_LAZY_FUNCTION(kSystemd, int, sd_bus_message_open_container,
                    (sd_bus_message * m, char type, const char* contents), (m, type, contents))
FERRY_LAZY_FUNCTION(kSystemd, int, sd_bus_message_close_container, (sd_bus_message * m), (m))
FERRY_LAZY_FUNCTION(kSystemd, int, sd_bus_message_read_basic,
                    (sd_bus_message * m, char type, void* p), (m, type, p))
FERRY_LAZY_FUNCTION(kSystemd, int, sd_bus_message_enter_container,
                    (sd_bus_message * m, char type, const char* contents), (m, type, contents))
FERRY_LAZY_FUNCTION(kSystemd, int, sd_bus_message_exit_container, (sd_bus_message * m), (m))
FERRY_LAZY_FUNCTION(kSystemd, void, sd_bus_error_free, (sd_bus_error * e), (e))
FERRY_LAZY_FUNCTION(kSystemd, int, sd_bus_match_signal,
                    (sd_bus * bus, sd_bus_slot** ret, const char* sender, const char* path,
                     const char* interface, const char* member, sd_bus_message_handler_t callback,
                     void* userdata),
                    (bus, ret, sender, path, interface, member, callback, userdata))
FERRY_LAZY_FUNCTION(kSystemd, sd_bus_slot*, sd_bus_slot_unref, (sd_bus_slot * slot), (slot))
FERRY_LAZY_FUNCTION(kSystemd, int, sd_bus_process, (sd_bus * bus, sd_bus_message** r), (bus, r))
FERRY_LAZY_FUNCTION(kSystemd, int, sd_bus_wait, (sd_bus * bus, uint64_t timeout_usec),
                    (bus, timeout_usec))
FERRY_LAZY_FUNCTION(kSystemd, int, sd_pid_get_unit, (pid_t pid, char** unit), (pid, unit))
FERRY_LAZY_FUNCTION(kSystemd, int, sd_journal_open, (sd_journal * *ret, int flags), (ret, flags))
FERRY_LAZY_FUNCTION(kSystemd, int, sd_journal_open_namespace,
                    (sd_journal * *ret, const char* name_space, int flags),
                    (ret, name_space, flags))
FERRY_LAZY_FUNCTION(kSystemd, void, sd_journal_close, (sd_journal * j), (j))
FERRY_LAZY_FUNCTION(kSystemd, int, sd_journal_add_match,
                    (sd_journal * j, const void* data, size_t size), (j, data, size))
FERRY_LAZY_FUNCTION(kSystemd, int, sd_journal_next, (sd_journal * j), (j))
FERRY_LAZY_FUNCTION(kSystemd, int, sd_journal_get_data,
                    (sd_journal * j, const char* field, const void** data, size_t* l),
                    (j, field, data, l))
FERRY_LAZY_FUNCTION(kSystemd, int, sd_journal_get_fd, (sd_journal * j), (j))
FERRY_LAZY_FUNCTION(kSystemd, int, sd_journal_process, (sd_journal * j), (j))
FERRY_LAZY_FUNCTION(kSystemd, int, sd_journal_wait, (sd_journal * j, uint64_t timeout_usec),
                    (j, timeout_usec))
