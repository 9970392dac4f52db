// The data dir holds everything a node keeps: the ledger and the two secrets. Secrets come from
// the environment when set; otherwise they are generated once into files readable only by the
// owner, so restarts keep every issued token valid.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace boxoffice::app {

// Creates the folder (mode 0700) when missing.
Status EnsureDataDir(const std::string& path);

// A node keeps at most this many secrets of one kind (server secrets, operator keys).
inline constexpr std::size_t kSecretsMax = 8;

// The two kinds of secret a data dir keeps, where each lives, and how long a generated one is.
struct SecretKind {
  std::string_view name;  // as `boxoffice keys --kind` spells it
  std::string_view file;  // in the data dir
  const char* env;        // the variable that replaces the file when set
  std::size_t bytes;      // of randomness in a generated secret (hex encoded: twice as many chars)

  std::string PathIn(const std::string& data_dir) const {
    return data_dir + "/" + std::string(file);
  }
};
inline constexpr SecretKind kServerSecrets{"server", "secret.key", "BOXOFFICE_SECRET", 32};
inline constexpr SecretKind kOperatorKeys{"operator", "admin.key", "BOXOFFICE_ADMIN_KEY", 24};

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
// The same for a kind of secret of a data dir, reading its variable.
Result<StoredSecrets> LoadOrCreateSecrets(const std::string& data_dir, const SecretKind& kind);

// The secrets of `file`, newest first, without creating it (NotFound when it is missing).
Result<std::vector<std::string>> ReadSecretFile(const std::string& file);

// Puts a new secret of `bytes` random bytes (hex encoded) first in `file` and returns it; every
// other line, comments too, stays as it was. The file is replaced whole (common/durable_file.hpp)
// through `<file>.new`, whose presence also refuses a second rotation running at once. Refused:
// the file missing, or holding kSecretsMax secrets already.
Result<std::string> RotateSecretFile(const std::string& file, std::size_t bytes);

// Removes the secret whose KeyId is `id` from `file`, the same way. Refused: no secret with that
// id, or it is the only one.
Status RetireSecretFromFile(const std::string& file, std::string_view id);

}  // namespace boxoffice::app
