// `CustomerStore`: the accounts of fans who sign in (accounts/accounts.hpp). Follows
// ports/durable.hpp.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/result.hpp"
#include "ports/durable.hpp"

namespace boxoffice {

struct CustomerRecord {
  std::string id;             // "cus_..."
  std::string email;          // normalized: trimmed, lower case
  std::string password_hash;  // libsodium crypto_pwhash_str (Argon2id)
  std::int64_t created_at_ms = 0;
};

class CustomerStore {
 public:
  virtual ~CustomerStore() = default;

  // Fails with kConflict "email_taken" when a customer has this email, "customer_exists" when the
  // id is taken.
  virtual void InsertCustomer(CustomerRecord customer, DurableDone done) = 0;
  virtual Result<std::optional<CustomerRecord>> FindCustomerByEmail(const std::string& email) = 0;
};

}  // namespace boxoffice
