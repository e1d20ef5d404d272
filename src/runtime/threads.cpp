// Compute threads: the process's thread pool (core/thread_pool.h).
#include "runtime/threads.h"

#include "core/thread_pool.h"

namespace cpplm {

int compute_threads() { return pool_threads(); }
void set_compute_threads(int n) { set_pool_threads(n); }

}  // namespace cpplm
