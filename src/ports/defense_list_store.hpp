// `DefenseListStore`: the operator's block and allow lists of CIDR ranges (defense/defense.hpp).
// Each list is small and bounded, so a change replaces the whole list. Follows ports/durable.hpp.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "ports/durable.hpp"

namespace boxoffice {

struct CidrListRecord {
  std::string cidr;  // canonical text, e.g. "203.0.113.0/24"
  std::string reason;
  std::int64_t created_at_ms = 0;
  std::int64_t expires_at_ms = 0;  // 0: never expires
};

class DefenseListStore {
 public:
  virtual ~DefenseListStore() = default;

  // Replaces the list named `list` ("blocklist", "allowlist") with `entries`, in their order.
  virtual void SaveCidrList(std::string list, std::vector<CidrListRecord> entries,
                            DurableDone done) = 0;
  // The list as last saved; empty when it never was.
  virtual Result<std::vector<CidrListRecord>> LoadCidrList(const std::string& list) = 0;
};

}  // namespace boxoffice
