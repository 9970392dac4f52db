// Writing a tool's report (botsim's, onsale's) so that a reader never sees half of one: into a
// temporary file beside it, then renamed over it.
#pragma once

#include <string>

namespace boxoffice::tools {

// Writes `text` as is to `path` + ".tmp" and renames that to `path`; false when either step
// fails (the old file, if any, is then unchanged).
bool WriteFileAtomically(const std::string& path, const std::string& text);

}  // namespace boxoffice::tools
