// CPU compute threads: one count for the process (its thread pool, core/thread_pool.h), so a
// thread started later (a server's engine thread) computes with the count already set.
#pragma once

namespace cpplm {

int compute_threads();             // threads a parallel loop uses, the caller included
void set_compute_threads(int n);   // n <= 0: leaves the count as it is

}  // namespace cpplm
