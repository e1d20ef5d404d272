// Compute threads (OpenMP).
#include "runtime/threads.h"

#include <omp.h>

namespace cpplm {

int compute_threads() { return omp_get_max_threads(); }
void set_compute_threads(int n) {
  if (n > 0) omp_set_num_threads(n);
}

}  // namespace cpplm
