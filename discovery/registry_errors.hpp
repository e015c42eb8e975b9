// How registry failures are worded.
//
// Every error of the registry client reads "cannot fetch <reference>: <part>: <cause>", where
// the part is "manifest", "manifest sha256:… for linux/amd64", "config sha256:…", "blob sha256:…"
// or "token", and a failed response's cause is its status line followed by the codes and
// messages of the registry's JSON error body (distribution-spec "Error Codes").
#pragma once

#include <string>
#include <string_view>

#include "common/error.hpp"
#include "discovery/http.hpp"
#include "discovery/reference.hpp"

namespace ferry::registry {

// "404 Not Found (MANIFEST_UNKNOWN: manifest unknown)"; the status line alone when the body is
// not a registry error document.
std::string describeRegistryError(const http::Response& response);
// "404 Not Found"; the number alone for statuses without a known phrase.
std::string statusLine(long status);
// 404 → kNotFound, 401/403 → kSecurity, anything else → kIo.
Errc statusErrc(long status);

// Error{code, "cannot fetch <ref>: <what>: <cause>"}.
Error fetchError(Errc code, const DockerReference& ref, std::string_view what,
                 std::string_view cause);
// The error for a response whose status is not the one wanted, naming the URL that answered:
// cannot fetch REF: WHAT: "https://host/v2/…": 404 Not Found (BLOB_UNKNOWN: …)
Error statusError(const DockerReference& ref, std::string_view what,
                  const http::Response& response);

}  // namespace ferry::registry
