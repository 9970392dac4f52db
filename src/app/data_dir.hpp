// The data dir holds everything a node keeps: the ledger and the two secrets. Secrets come from
// the environment when set; otherwise they are generated once into files readable only by the
// owner, so restarts keep every issued token valid.
#pragma once

#include <string>

#include "common/result.hpp"

namespace boxoffice::app {

// Creates the folder (mode 0700) when missing.
Status EnsureDataDir(const std::string& path);

struct StoredSecret {
  std::string value;
  bool generated = false;  // true only on the start that created the file
};

// `env_value` wins when non-empty; else the file's content; else `bytes` random bytes, hex
// encoded, written to `file` with mode 0600.
Result<StoredSecret> LoadOrCreateSecret(const std::string& file, const char* env_value,
                                        std::size_t bytes);

}  // namespace boxoffice::app
