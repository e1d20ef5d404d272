// Where a cached position lives and which keys a query sees: the one definition of the K/V slot
// formula, key visibility and ring rollback, for host code and CUDA kernels alike (no CUDA headers).
#pragma once

#if defined(__CUDACC__)
#define CPPLM_HOST_DEVICE __host__ __device__
#else
#define CPPLM_HOST_DEVICE
#endif

namespace cpplm {

// Slot of position `pos` in a layer's cache of [capacity] slots. Unbounded (max_size 0): the
// position itself. A ring of max_size slots keeps positions [0, keep) in place and cycles the
// rest through the other max_size - keep slots (mlx-lm RotatingKVCache with keep sink tokens).
CPPLM_HOST_DEVICE constexpr int kv_slot(int pos, int max_size, int keep) {
  return (max_size == 0 || pos < keep) ? pos : keep + (pos - keep) % (max_size - keep);
}

// Key at position j is visible from a query at position p: causal, within the attention window
// (0 = unlimited) or among the kept sink tokens.
CPPLM_HOST_DEVICE constexpr bool kv_visible(int j, int p, int window, int keep) {
  return j <= p && (window == 0 || j > p - window || j < keep);
}

// The same set as runs of positions: from a query at p, keys [0, kv_sinks_end) and
// [kv_window_start, p] are visible (kv_visible, as ranges for loops over keys).
CPPLM_HOST_DEVICE constexpr int kv_window_start(int p, int window) {
  return window > 0 && p - window + 1 > 0 ? p - window + 1 : 0;
}
CPPLM_HOST_DEVICE constexpr int kv_sinks_end(int window_start, int keep) { return keep < window_start ? keep : window_start; }

// Whether position pos is still stored by a cache that has seen `offset` positions.
CPPLM_HOST_DEVICE constexpr bool kv_retained(int pos, int offset, int max_size, int keep) {
  return pos >= 0 && pos < offset && (max_size == 0 || pos < keep || pos >= offset - (max_size - keep));
}

// Whether a cache at `offset` positions can roll back to `target` (and then take positions
// target.. again): unbounded caches always can; a ring only while it has not wrapped, since a
// wrapped ring overwrote slots the positions before `target` need again.
CPPLM_HOST_DEVICE constexpr bool kv_can_trim(int offset, int target, int max_size) {
  return target >= 0 && target <= offset && (max_size == 0 || target == offset || offset <= max_size);
}

}  // namespace cpplm
