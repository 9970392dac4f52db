#include "tools/report_file.hpp"

#include <filesystem>
#include <fstream>
#include <system_error>

namespace boxoffice::tools {

bool WriteFileAtomically(const std::string& path, const std::string& text) {
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << text;
    if (!out.flush()) return false;
  }
  std::error_code error;
  std::filesystem::rename(temporary, path, error);
  return !error;
}

}  // namespace boxoffice::tools
