// Where the bundled model is: next to the executable (installed or built), never a compiled-in path.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "api/tools.h"

namespace cpplm::tools {

std::string bundled_model_dir() {
  if (const char* env = std::getenv("CPPLM_MODEL"); env && *env) return env;
  namespace fs = std::filesystem;
  const fs::path rel = fs::path("share") / "cpplm" / "models" / "llama-6m-kjv-fortunes";
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return rel.string();
  const fs::path dir = exe.parent_path();
  for (const fs::path& p : {dir.parent_path() / rel, dir / rel})
    if (fs::is_directory(p, ec)) return p.string();
  return (dir.parent_path() / rel).string();
}

}  // namespace cpplm::tools
