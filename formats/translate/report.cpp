#include "formats/translate/report.hpp"

namespace ferry::translate {

std::string_view lossKindName(LossKind k) {
  switch (k) {
    case LossKind::kDropped:
      return "dropped";
    case LossKind::kApproximated:
      return "approximated";
    case LossKind::kAnnotation:
      return "annotation";
  }
  return "unknown";
}

bool Report::mentions(std::string_view field) const {
  for (const auto& l : items_) {
    if (l.field == field) return true;
  }
  return false;
}

json::Json Report::toJson() const {
  json::Json out = json::Json::array();
  for (const auto& l : items_) {
    out.push_back({{"field", l.field}, {"kind", lossKindName(l.kind)}, {"detail", l.detail}});
  }
  return out;
}

std::string Report::toText() const {
  std::string out;
  for (const auto& l : items_) {
    out +=
        "warning: " + l.field + ": " + std::string(lossKindName(l.kind)) + ": " + l.detail + "\n";
  }
  return out;
}

}  // namespace ferry::translate
