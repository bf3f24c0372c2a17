// The CPU memory behind libtorch's tensors: a cache of large blocks that every step reuses.
#pragma once

#include <cstddef>
#include <cstdint>

namespace keras_torch {

// Installs the caching allocator as libtorch's CPU allocator, once per process, unless
// KERAS_TORCH_CPU_CACHE_MB=0 asks for libtorch's own (the variable otherwise sets the cache's limit;
// KERAS_TORCH_CPU_CACHE_IDLE_SECONDS how long a block unused stays). Tensors allocated before keep
// their deleters.
void InstallCpuAllocator();

struct CpuMemoryStats {
  bool caching = false;       // false: libtorch's default allocator is in use
  uint64_t inUseBytes = 0;    // large blocks held by live tensors
  uint64_t cachedBytes = 0;   // large blocks freed and kept for reuse
  uint64_t cacheLimitBytes = 0;
  uint64_t reused = 0;        // large allocations served from the cache
  uint64_t fresh = 0;         // large allocations that mapped new memory
  uint64_t smallBlocksInUse = 0;  // small blocks (from malloc) held by live tensors: a leaked tensor shows
};

CpuMemoryStats GetCpuMemoryStats();

}  // namespace keras_torch
