// The index schema and its migrations (internal to ferry_store).
//
// schema_version holds one row, the version of the last migration applied. Migrations are an
// ordered list; migration N brings the schema from N-1 to N and runs in one transaction with the
// version bump, so a crash leaves the index at N-1 or N. An index newer than kSchemaVersion was
// written by a newer ferry and is refused.
#pragma once

#include <string_view>
#include <vector>

#include "stage0/store/sqlite.hpp"

namespace ferry::store {

struct Migration {
  int version;
  std::string_view sql;
};

const std::vector<Migration>& migrations();

// Brings the index to kSchemaVersion; returns the version found before.
int migrate(sql::Db& db);

}  // namespace ferry::store
