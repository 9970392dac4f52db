// The ledger's schema as an ordered list of versioned migrations, and the runner that brings a
// database up to date.
//
// A database records the versions it has applied in `schema_migrations`. Opening applies the
// missing ones, in order, inside one transaction, so a crash half way leaves the previous
// version intact. A database that holds a version this code does not know (written by a newer
// boxoffice) is refused rather than written to with an older idea of the schema.
//
// The SQL sticks to portable types and syntax (TEXT, BIGINT, INTEGER, plain constraints) so the
// PostgreSQL adapter can follow the same list.
#pragma once

#include <span>
#include <string_view>

#include "common/result.hpp"

namespace boxoffice::sqlite {

class Connection;

struct Migration {
  int version = 0;  // 1, 2, 3, ... with no gaps
  std::string_view name;
  std::string_view sql;  // one or more statements, no parameters
};

// Every migration of the ledger, oldest first. Append only: a released migration never changes.
std::span<const Migration> LedgerMigrations();

// Applies the migrations of `migrations` that `connection`'s database lacks, in one IMMEDIATE
// transaction. Fails with kInternal code "ledger_schema_too_new" when the database has a version
// that is not in `migrations`, and with kInternal for any other failure (the transaction is then
// rolled back). `applied_at` is recorded with each newly applied version.
Status ApplyMigrations(Connection& connection, std::span<const Migration> migrations,
                       std::string_view applied_at);

}  // namespace boxoffice::sqlite
