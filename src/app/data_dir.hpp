// The data dir holds everything a node keeps: the ledger and the two secrets. Secrets come from
// the environment when set; otherwise they are generated once into files readable only by the
// owner, so restarts keep every issued token valid.
#pragma once

#include <string>
#include <vector>

#include "common/result.hpp"

namespace boxoffice::app {

// Creates the folder (mode 0700) when missing.
Status EnsureDataDir(const std::string& path);

// A node keeps at most this many secrets of one kind (server secrets, operator keys).
inline constexpr std::size_t kSecretsMax = 8;

struct StoredSecrets {
  std::vector<std::string> values;  // newest first; never empty
  bool generated = false;           // true only on the start that created the file
};

// The secrets of one kind, newest first, for rotation (docs/security.md, "Rotating keys"):
// `env_value` wins when non-empty, its secrets separated by commas; else the file's, one per
// line (blank lines and lines starting with '#' skipped); else `bytes` random bytes, hex encoded,
// written to `file` with mode 0600. Refused: more than kSecretsMax, or one given twice.
Result<StoredSecrets> LoadOrCreateSecrets(const std::string& file, const char* env_value,
                                          std::size_t bytes);

}  // namespace boxoffice::app
