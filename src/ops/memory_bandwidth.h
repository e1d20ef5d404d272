// Memory read bandwidth probe (the decode roofline): read-only sum over a large buffer.
#pragma once
#include <cstddef>

namespace cpplm {

// Best-of-`reps` read bandwidth in GB/s (1e9 B/s) of a read-only f32 sum over `bytes` of memory
// with the current OpenMP threads (as shared/tools/llamacpp/membw.c "read-sum"). Allocates `bytes`.
double measure_read_bandwidth(size_t bytes, int reps);

}  // namespace cpplm
