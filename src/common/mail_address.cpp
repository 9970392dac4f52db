#include "common/mail_address.hpp"

namespace boxoffice {

bool IsPlainMailAddress(std::string_view address) {
  const std::size_t at = address.find('@');
  if (address.empty() || address.size() > kMailAddressBytesMax || at == address.npos || at == 0 ||
      at + 1 == address.size() || address.find('@', at + 1) != address.npos) {
    return false;
  }
  for (const char c : address) {
    if (c <= 0x20 || c > 0x7e || std::string_view("()<>[]:;,\\\"").find(c) != address.npos) {
      return false;
    }
  }
  return true;
}

}  // namespace boxoffice
