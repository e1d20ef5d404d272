// CPU compute threads of the calling thread. OpenMP keeps the count per thread: a thread started
// later (a server's engine thread) begins with the process default, so it takes the count of the
// thread that created it explicitly.
#pragma once

namespace cpplm {

int compute_threads();             // what a parallel region of the calling thread would use
void set_compute_threads(int n);   // n <= 0: leaves the count as it is

}  // namespace cpplm
