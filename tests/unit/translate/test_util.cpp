#include "test_util.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace ferry::translate::test {

namespace fs = std::filesystem;

fs::path dataDir(std::string_view direction) {
  return fs::path(FERRY_TEST_DATA) / "translate" / direction;
}

std::vector<std::string> listCases(std::string_view direction) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dataDir(direction), ec)) {
    if (e.is_directory()) out.push_back(e.path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::optional<std::string> readFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void writeFile(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) throw std::runtime_error("cannot write \"" + p.string() + "\"");
}

bool updatingGoldens() {
  const char* v = std::getenv("FERRY_UPDATE_GOLDEN");
  return v != nullptr && std::string_view(v) == "1";
}

namespace {

std::vector<std::string_view> splitLines(std::string_view text) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) nl = text.size();
    out.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return out;
}

}  // namespace

std::string unifiedDiff(std::string_view expected, std::string_view actual,
                        std::string_view expectedName, std::string_view actualName) {
  if (expected == actual) return "";
  auto a = splitLines(expected);
  auto b = splitLines(actual);
  // Longest common subsequence table; goldens are small.
  size_t n = a.size(), m = b.size();
  std::vector<std::vector<size_t>> lcs(n + 1, std::vector<size_t>(m + 1, 0));
  for (size_t i = n; i-- > 0;) {
    for (size_t j = m; j-- > 0;) {
      lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  struct Line {
    char tag;  // ' ', '-', '+'
    std::string_view text;
    size_t ai, bi;  // line numbers (0-based) in a and b before this line
  };
  std::vector<Line> script;
  size_t i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] == b[j]) {
      script.push_back({' ', a[i], i, j});
      ++i, ++j;
    } else if (i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1])) {
      script.push_back({'-', a[i], i, j});
      ++i;
    } else {
      script.push_back({'+', b[j], i, j});
      ++j;
    }
  }
  constexpr size_t kContext = 3;
  std::string out = "--- " + std::string(expectedName) + "\n+++ " + std::string(actualName) + "\n";
  size_t k = 0;
  while (k < script.size()) {
    if (script[k].tag == ' ') {
      ++k;
      continue;
    }
    // A hunk: from kContext lines before this change to kContext lines after the last change
    // that is at most 2 * kContext unchanged lines away.
    size_t begin = k >= kContext ? k - kContext : 0;
    size_t end = k;
    size_t equalRun = 0;
    for (size_t x = k; x < script.size(); ++x) {
      if (script[x].tag == ' ') {
        if (++equalRun > 2 * kContext) break;
      } else {
        equalRun = 0;
        end = x;
      }
    }
    end = std::min(script.size(), end + 1 + kContext);
    size_t aCount = 0, bCount = 0;
    for (size_t x = begin; x < end; ++x) {
      if (script[x].tag != '+') ++aCount;
      if (script[x].tag != '-') ++bCount;
    }
    out += "@@ -" + std::to_string(script[begin].ai + 1) + "," + std::to_string(aCount) + " +" +
           std::to_string(script[begin].bi + 1) + "," + std::to_string(bCount) + " @@\n";
    for (size_t x = begin; x < end; ++x) {
      out += script[x].tag;
      out += script[x].text;
      out += '\n';
    }
    k = end;
  }
  return out;
}

std::string pretty(const json::Json& j) { return json::dump(j, true) + "\n"; }

appc::ImageManifest loadManifest(const fs::path& dir) {
  auto text = readFile(dir / "manifest.json");
  if (!text) throw std::runtime_error("no manifest.json in \"" + dir.string() + "\"");
  return appc::ImageManifest::parse(*text, (dir / "manifest.json").string());
}

OciCase loadOciCase(const fs::path& dir) {
  auto text = readFile(dir / "config.json");
  if (!text) throw std::runtime_error("no config.json in \"" + dir.string() + "\"");
  OciCase c{oci::ImageConfig::parse(*text, (dir / "config.json").string()), {}, {}};
  auto id = readFile(dir / "identity.json");
  if (!id) throw std::runtime_error("no identity.json in \"" + dir.string() + "\"");
  json::Json j = json::parse(*id, "identity.json");
  c.identity.name = j.at("name").get<std::string>();
  if (j.contains("version")) c.identity.version = j.at("version").get<std::string>();
  c.identity.nameFromUser = j.value("nameFromUser", false);
  c.users.passwd = readFile(dir / "passwd");
  c.users.group = readFile(dir / "group");
  return c;
}

std::vector<std::string> differences(const json::Json& a, const json::Json& b,
                                     const std::string& path) {
  std::vector<std::string> out;
  if (a.is_object() && b.is_object()) {
    for (auto it = a.begin(); it != a.end(); ++it) {
      std::string p = json::child(path, it.key());
      if (!b.contains(it.key())) {
        out.push_back(p);
      } else {
        auto sub = differences(it.value(), b.at(it.key()), p);
        out.insert(out.end(), sub.begin(), sub.end());
      }
    }
    for (auto it = b.begin(); it != b.end(); ++it) {
      if (!a.contains(it.key())) out.push_back(json::child(path, it.key()));
    }
  } else if (a.is_array() && b.is_array()) {
    size_t n = std::max(a.size(), b.size());
    for (size_t i = 0; i < n; ++i) {
      std::string p = json::index(path, i);
      if (i >= a.size() || i >= b.size()) {
        out.push_back(p);
      } else {
        auto sub = differences(a[i], b[i], p);
        out.insert(out.end(), sub.begin(), sub.end());
      }
    }
  } else if (a != b) {
    out.push_back(path);
  }
  return out;
}

std::vector<std::string> pathSegments(std::string_view path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '.') {
      ++i;
    } else if (path.compare(i, 2, "[\"") == 0) {
      // ["key"], with \" and \\ escaped inside.
      std::string key;
      for (i += 2; i < path.size() && path[i] != '"'; ++i) {
        if (path[i] == '\\' && i + 1 < path.size()) ++i;
        key += path[i];
      }
      i += 2;  // "]
      out.push_back(std::move(key));
    } else if (path[i] == '[') {
      size_t close = path.find(']', i);
      out.push_back(std::string(path.substr(i, close - i + 1)));  // "[3]"
      i = close == std::string_view::npos ? path.size() : close + 1;
    } else {
      size_t end = path.find_first_of(".[", i);
      if (end == std::string_view::npos) end = path.size();
      out.push_back(std::string(path.substr(i, end - i)));
      i = end;
    }
  }
  return out;
}

bool covers(std::string_view field, std::string_view path) {
  auto f = pathSegments(field);
  auto p = pathSegments(path);
  return f.size() <= p.size() && std::equal(f.begin(), f.end(), p.begin());
}

std::string testName(std::string_view caseName) {
  std::string out;
  for (char c : caseName) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    out += ok ? c : '_';
  }
  return out;
}

}  // namespace ferry::translate::test
