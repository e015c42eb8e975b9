// The loss report every translator returns beside its result.
//
// ferry promises to be honest about translations: each source field that a translation drops,
// approximates, or keeps only as an annotation the target format's runtimes will not act on is
// one Loss, naming the field by its JSON path in the source document. The CLI prints them as
// warnings, or as JSON with --format=json.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/json.hpp"

namespace ferry::translate {

enum class LossKind {
  kDropped,       // the target has no place for it; it is gone
  kApproximated,  // the target holds something close but not equal
  kAnnotation,    // kept verbatim in an annotation/label so a round trip restores it, but the
                  // target's runtimes do not act on it
};

std::string_view lossKindName(LossKind k);  // "dropped" | "approximated" | "annotation"

struct Loss {
  std::string field;  // JSON path in the source, e.g. "app.isolators[0]"
  LossKind kind;
  std::string detail;  // one sentence: what happened and why
  friend bool operator==(const Loss&, const Loss&) = default;
};

class Report {
 public:
  void add(std::string field, LossKind kind, std::string detail) {
    items_.push_back({std::move(field), kind, std::move(detail)});
  }
  void dropped(std::string field, std::string detail) {
    add(std::move(field), LossKind::kDropped, std::move(detail));
  }
  void approximated(std::string field, std::string detail) {
    add(std::move(field), LossKind::kApproximated, std::move(detail));
  }
  void annotated(std::string field, std::string detail) {
    add(std::move(field), LossKind::kAnnotation, std::move(detail));
  }
  void append(const Report& other) {
    items_.insert(items_.end(), other.items_.begin(), other.items_.end());
  }

  const std::vector<Loss>& items() const { return items_; }
  bool empty() const { return items_.empty(); }
  bool mentions(std::string_view field) const;

  // [{"field":…,"kind":…,"detail":…},…]
  json::Json toJson() const;
  // One line per loss: "warning: <field>: <kind>: <detail>"
  std::string toText() const;

 private:
  std::vector<Loss> items_;
};

}  // namespace ferry::translate
