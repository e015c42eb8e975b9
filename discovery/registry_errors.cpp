#include "discovery/registry_errors.hpp"

#include "common/error.hpp"
#include "discovery/http.hpp"

#include <string>

#include <nlohmann/json.hpp>

namespace ferry::registry {

namespace {

// "CODE: message; CODE2: message2" from {"errors":[{"code","message","detail"}]}, or empty.
std::string registryErrors(std::string_view body) {
  nlohmann::json doc = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return {};
  auto errors = doc.find("errors");
  if (errors == doc.end() || !errors->is_array()) return {};
  std::string out;
  for (const auto& e : *errors) {
    if (!e.is_object()) continue;
    std::string code, message;
    if (auto c = e.find("code"); c != e.end() && c->is_string()) code = c->get<std::string>();
    if (auto m = e.find("message"); m != e.end() && m->is_string()) {
      message = m->get<std::string>();
    }
    if (code.empty() && message.empty()) continue;
    if (!out.empty()) out += "; ";
    out += code;
    if (!code.empty() && !message.empty()) out += ": ";
    out += message;
  }
  return out;
}

}  // namespace

std::string statusLine(long status) {
  std::string out = std::to_string(status);
  if (std::string_view reason = http::reasonPhrase(status); !reason.empty()) {
    out += ' ';
    out += reason;
  }
  return out;
}

std::string describeRegistryError(const http::Response& response) {
  std::string out = statusLine(response.status);
  if (std::string errors = registryErrors(response.body); !errors.empty()) {
    out += " (" + errors + ")";
  }
  return out;
}

Errc statusErrc(long status) {
  if (status == 404) return Errc::kNotFound;
  if (status == 401 || status == 403) return Errc::kSecurity;
  return Errc::kIo;
}

Error fetchError(Errc code, const DockerReference& ref, std::string_view what,
                 std::string_view cause) {
  return Error(code,
               "cannot fetch " + ref.str() + ": " + std::string(what) + ": " + std::string(cause));
}

Error statusError(const DockerReference& ref, std::string_view what,
                  const http::Response& response) {
  std::string cause = describeRegistryError(response);
  if (!response.url.empty()) cause = quote(response.url) + ": " + cause;
  return fetchError(statusErrc(response.status), ref, what, cause);
}

}  // namespace ferry::registry
