#include "discovery/registry_errors.hpp"

#include <string>

#include <nlohmann/json.hpp>

namespace ferry::registry {

namespace {

std::string_view reasonPhrase(long status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 206:
      return "Partial Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 406:
      return "Not Acceptable";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 413:
      return "Content Too Large";
    case 415:
      return "Unsupported Media Type";
    case 416:
      return "Range Not Satisfiable";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return {};
  }
}

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
  if (std::string_view reason = reasonPhrase(status); !reason.empty()) {
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
  return fetchError(statusErrc(response.status), ref, what, describeRegistryError(response));
}

}  // namespace ferry::registry
