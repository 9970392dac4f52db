// `boxoffice keys`: list, rotate and retire the secrets of a data dir (docs/security.md, "Rotating
// keys") without editing secret.key and admin.key by hand. A running server reads them when it
// starts, so each change takes effect at the next start; the command says so.
#pragma once

#include <CLI/CLI.hpp>
#include <iosfwd>
#include <string>

namespace boxoffice::app {

enum class KeysAction { kList, kRotate, kRetire };

struct KeysOptions {
  KeysAction action = KeysAction::kList;
  std::string data_dir = "data";
  std::string kind;  // "server" or "operator"; list: both when empty
  std::string id;    // retire: the key id, as list shows it
  // retire: allow the oldest server secret to go, although every event's ticket keys derive
  // from it (tickets issued so far stop scanning).
  bool change_ticket_keys = false;
};

// Adds the list, rotate and retire subcommands to `keys`.
void AddKeysOptions(CLI::App& keys, KeysOptions& options);

// The exit code: 0 done, 1 refused (the reason on `err`). What was done goes to `out`; a new
// operator key is printed there once, as serve prints a generated one.
int RunKeys(const KeysOptions& options, std::ostream& out, std::ostream& err);

}  // namespace boxoffice::app
