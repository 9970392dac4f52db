#include "app/keys.hpp"

#include <cstdlib>
#include <ostream>
#include <vector>

#include "app/data_dir.hpp"
#include "common/text.hpp"
#include "common/token.hpp"

namespace boxoffice::app {
namespace {

const SecretKind& KindNamed(std::string_view name) {
  return name == kOperatorKeys.name ? kOperatorKeys : kServerSecrets;
}

std::string_view Plural(const SecretKind& kind) {
  return &kind == &kOperatorKeys ? "operator keys" : "server secrets";
}

// The variable that replaces the kind's file, when it is set (serve would not read the file).
const char* Override(const SecretKind& kind) {
  const char* value = std::getenv(kind.env);
  return value != nullptr && *value != '\0' ? value : nullptr;
}

// What each secret of a ring does, by its place (newest first).
std::string RoleOf(const SecretKind& kind, std::size_t index, std::size_t count) {
  std::string role;
  if (&kind == &kServerSecrets) {
    role = index == 0 ? "signs new tokens and challenges; verifies" : "verifies";
    if (index + 1 == count) role += "; derives every event's ticket keys";
  } else {
    role = index == 0 ? "full operator key; the one onsale and botsim read" : "full operator key";
  }
  return role;
}

void List(const KeysOptions& options, const SecretKind& kind, std::ostream& out, std::ostream& err,
          int& code) {
  const std::string file = kind.PathIn(options.data_dir);
  const char* value = Override(kind);
  const Result<std::vector<std::string>> secrets =
      value != nullptr ? Result<std::vector<std::string>>(SplitList(value)) : ReadSecretFile(file);
  out << Plural(kind) << " ("
      << (value != nullptr
              ? std::string("from ") + kind.env + ", which serve reads instead of " + file
              : file)
      << "), newest first:\n";
  if (!secrets) {
    err << "boxoffice keys: " << secrets.error().message << "\n";
    code = 1;
    return;
  }
  for (std::size_t i = 0; i < secrets->size(); ++i) {
    out << "  " << KeyId((*secrets)[i]) << "  " << RoleOf(kind, i, secrets->size()) << "\n";
  }
}

int Refuse(std::ostream& err, std::string_view reason) {
  err << "boxoffice keys: " << reason << "\n";
  return 1;
}

int Rotate(const KeysOptions& options, const SecretKind& kind, std::ostream& out,
           std::ostream& err) {
  const std::string file = kind.PathIn(options.data_dir);
  Result<std::string> secret = RotateSecretFile(file, kind.bytes);
  if (!secret) {
    if (secret.error().kind == ErrorKind::kNotFound) {
      return Refuse(err,
                    secret.error().message + " (boxoffice serve creates it on its first start)");
    }
    return Refuse(err, secret.error().message);
  }
  if (&kind == &kOperatorKeys) {
    out << "new operator key (first in " << file << "): " << *secret << "\n"
        << "Restart boxoffice serve to accept it; move the console and scripts to it, then retire "
           "the old key with boxoffice keys retire --kind operator --id <id>.\n";
  } else {
    out << "new server secret " << KeyId(*secret) << " first in " << file << "\n"
        << "Restart boxoffice serve to sign with it; every older secret still verifies.\n";
  }
  return 0;
}

int Retire(const KeysOptions& options, const SecretKind& kind, std::ostream& out,
           std::ostream& err) {
  const std::string file = kind.PathIn(options.data_dir);
  Result<std::vector<std::string>> secrets = ReadSecretFile(file);
  if (!secrets) return Refuse(err, secrets.error().message);
  if (&kind == &kServerSecrets && secrets->size() > 1 && KeyId(secrets->back()) == options.id &&
      !options.change_ticket_keys) {
    return Refuse(err, options.id +
                           " is the oldest server secret: every event's ticket keys derive from "
                           "it, and tickets issued so far would no longer scan. Pass "
                           "--change-ticket-keys to retire it anyway.");
  }
  if (Status retired = RetireSecretFromFile(file, options.id); !retired) {
    return Refuse(err, retired.error().message);
  }
  out << "retired " << options.id << " from " << file << "\n"
      << "Restart boxoffice serve: from then on what it signed answers 401.\n";
  return 0;
}

}  // namespace

void AddKeysOptions(CLI::App& keys, KeysOptions& options) {
  keys.require_subcommand(1);
  keys.footer(
      "Secret files hold up to 8 secrets, newest first (docs/security.md, \"Rotating keys\").\n"
      "Each change takes effect when boxoffice serve next starts. Example:\n"
      "  boxoffice keys rotate --kind server --data-dir data    # then restart serve\n"
      "  boxoffice keys list --data-dir data\n"
      "  boxoffice keys retire --kind server --id <id> --data-dir data");
  const auto kinds =
      CLI::IsMember({std::string(kServerSecrets.name), std::string(kOperatorKeys.name)});
  const auto add_common = [&options, &kinds](CLI::App& command, bool kind_required) {
    command.add_option("--data-dir", options.data_dir, "Folder of the ledger, keys and state")
        ->envname("BOXOFFICE_DATA_DIR")
        ->capture_default_str();
    CLI::Option* kind =
        command.add_option("--kind", options.kind, "server (secret.key) or operator (admin.key)")
            ->check(kinds);
    if (kind_required) kind->required();
  };

  CLI::App* list = keys.add_subcommand("list", "Show each secret's key id and what it does");
  add_common(*list, false);
  list->callback([&options] { options.action = KeysAction::kList; });

  CLI::App* rotate = keys.add_subcommand("rotate", "Put a new random secret first");
  add_common(*rotate, true);
  rotate->callback([&options] { options.action = KeysAction::kRotate; });

  CLI::App* retire = keys.add_subcommand("retire", "Remove a secret by its key id");
  add_common(*retire, true);
  retire->add_option("--id", options.id, "The key id, as boxoffice keys list shows it")->required();
  retire->add_flag("--change-ticket-keys", options.change_ticket_keys,
                   "Allow retiring the oldest server secret, from which ticket keys derive");
  retire->callback([&options] { options.action = KeysAction::kRetire; });
}

int RunKeys(const KeysOptions& options, std::ostream& out, std::ostream& err) {
  if (options.action == KeysAction::kList) {
    int code = 0;
    if (options.kind.empty() || options.kind == kServerSecrets.name) {
      List(options, kServerSecrets, out, err, code);
    }
    if (options.kind.empty() || options.kind == kOperatorKeys.name) {
      List(options, kOperatorKeys, out, err, code);
    }
    return code;
  }
  const SecretKind& kind = KindNamed(options.kind);
  if (Override(kind) != nullptr) {
    return Refuse(err, std::string(kind.env) + " is set, and serve reads its " +
                           std::string(Plural(kind)) + " from there rather than from " +
                           std::string(kind.file) + ": change the variable instead");
  }
  return options.action == KeysAction::kRotate ? Rotate(options, kind, out, err)
                                               : Retire(options, kind, out, err);
}

}  // namespace boxoffice::app
