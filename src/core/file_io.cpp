// Whole-file reads with errors that name the file.
#include "core/file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"

namespace cpplm {

namespace {

struct FdCloser {
  int fd;
  ~FdCloser() { ::close(fd); }
};

Error file_error(const std::string& path, const char* what) { return Error(path + ": " + what + ": " + std::strerror(errno)); }

}  // namespace

std::string read_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw file_error(path, "cannot open");
  const FdCloser closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw file_error(path, "cannot stat");
  if (S_ISDIR(st.st_mode)) throw Error(path + ": is a directory, not a file");
  std::string out;
  // One read of the known size for regular files; the loop also covers pipes and files that grow.
  if (S_ISREG(st.st_mode)) out.resize(static_cast<size_t>(st.st_size));
  size_t used = 0;
  for (;;) {
    if (used == out.size()) out.resize(out.size() + (size_t{1} << 16));
    const ssize_t n = ::read(fd, out.data() + used, out.size() - used);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      throw file_error(path, "cannot read");
    }
    used += static_cast<size_t>(n);
  }
  out.resize(used);
  return out;
}

}  // namespace cpplm
