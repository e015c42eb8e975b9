// Ordered name/value lists: image labels, annotations, app environment.
//
// All three are JSON arrays of {"name": …, "value": …} objects whose names are unique within the
// list; they keep document order so that a manifest round-trips exactly. They differ in what a
// name may be: labels and annotations are AC Identifiers (a label may not be called "name", the
// image's name already is), environment variable names are POSIX names ([A-Za-z_][A-Za-z0-9_]*).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "common/json.hpp"
#include "formats/appc/names.hpp"

namespace ferry::appc {

template <typename Policy>
class NameValueList {
 public:
  using Name = typename Policy::Name;
  struct Item {
    Name name;
    std::string value;
    friend bool operator==(const Item&, const Item&) = default;
  };

  NameValueList() = default;
  NameValueList(std::initializer_list<std::pair<std::string_view, std::string_view>> items) {
    for (const auto& [n, v] : items) add(Policy::parseName(n), std::string(v));
  }

  // Appends; throws Error{kInvalid} if the name is already there or not allowed.
  void add(Name name, std::string value) {
    Policy::check(name);
    if (find(nameOf(name)) != nullptr) {
      throw Error(Errc::kInvalid,
                  "duplicate " + std::string(Policy::kWhat) + " " + quote(nameOf(name)));
    }
    items_.push_back(Item{std::move(name), std::move(value)});
  }
  // Replaces the value of an existing name in place, or appends.
  void set(Name name, std::string value) {
    for (auto& item : items_) {
      if (item.name == name) {
        item.value = std::move(value);
        return;
      }
    }
    add(std::move(name), std::move(value));
  }
  bool remove(std::string_view name) {
    for (auto it = items_.begin(); it != items_.end(); ++it) {
      if (nameOf(it->name) == name) {
        items_.erase(it);
        return true;
      }
    }
    return false;
  }
  std::optional<std::string_view> get(std::string_view name) const {
    const Item* item = find(name);
    if (item == nullptr) return std::nullopt;
    return std::string_view(item->value);
  }

  const std::vector<Item>& items() const { return items_; }
  auto begin() const { return items_.begin(); }
  auto end() const { return items_.end(); }
  size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }

  static NameValueList fromJson(const json::Json& j, std::string_view path) {
    json::asArray(j, path);
    NameValueList out;
    for (size_t i = 0; i < j.size(); ++i) {
      std::string itemPath = json::index(path, i);
      json::Object o(j[i], itemPath);
      std::string namePath = o.pathOf("name");
      const std::string& rawName = json::asString(o.require("name"), namePath);
      std::string value = o.string("value");
      o.done();
      try {
        out.add(Policy::parseName(rawName), std::move(value));
      } catch (const Error& e) {
        json::fail(namePath, e.what());
      }
    }
    return out;
  }

  json::Json toJson() const {
    json::Json out = json::Json::array();
    for (const auto& item : items_) {
      json::Json o = json::Json::object();
      o["name"] = nameOf(item.name);
      o["value"] = item.value;
      out.push_back(std::move(o));
    }
    return out;
  }

  friend bool operator==(const NameValueList&, const NameValueList&) = default;

 private:
  static std::string_view nameOf(const Name& n) { return Policy::str(n); }
  const Item* find(std::string_view name) const {
    for (const auto& item : items_) {
      if (nameOf(item.name) == name) return &item;
    }
    return nullptr;
  }
  std::vector<Item> items_;
};

struct LabelPolicy {
  using Name = AcIdentifier;
  static constexpr std::string_view kWhat = "label";
  static AcIdentifier parseName(std::string_view s) { return AcIdentifier::parse(s); }
  static std::string_view str(const AcIdentifier& n) { return n.str(); }
  static void check(const AcIdentifier& n);  // "name" is reserved
};

struct AnnotationPolicy {
  using Name = AcIdentifier;
  static constexpr std::string_view kWhat = "annotation";
  static AcIdentifier parseName(std::string_view s) { return AcIdentifier::parse(s); }
  static std::string_view str(const AcIdentifier& n) { return n.str(); }
  static void check(const AcIdentifier&) {}
};

struct EnvironmentPolicy {
  using Name = std::string;
  static constexpr std::string_view kWhat = "environment variable";
  static std::string parseName(std::string_view s);  // throws Error{kInvalid}
  static std::string_view str(const std::string& n) { return n; }
  static void check(const std::string& n) { parseName(n); }
};

using Labels = NameValueList<LabelPolicy>;
using Label = Labels::Item;
using Annotations = NameValueList<AnnotationPolicy>;
using Annotation = Annotations::Item;
using Environment = NameValueList<EnvironmentPolicy>;
using EnvironmentVariable = Environment::Item;

bool isValidEnvironmentName(std::string_view s);

// Free-form string → string maps (userAnnotations, userLabels), kept in document order.
using StringMap = std::vector<std::pair<std::string, std::string>>;

}  // namespace ferry::appc
