#include "cpu_allocator.h"

#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>
#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <cstring>
#include <list>
#include <map>
#include <mutex>
#include <new>
#include <string>
#include <unordered_map>

namespace keras_torch {

namespace {

// Why a cache: a train step frees the same large tensors (activations, gradients, Adam's temporaries)
// that the next step allocates again. glibc gives blocks over its mmap threshold back to the kernel at
// once, and a thread other than the main one (our compute thread, libuv's pool) allocates from an arena
// whose heaps it shrinks as soon as their top is free; either way the next step touches fresh pages. For
// the seed CNN that was ~8,000 page faults per step and most of the step's time. Keeping freed blocks
// and handing them out again by size removes the faults whichever thread allocates, and keeps one pool
// instead of one per thread, so the process also holds less memory. Small blocks stay with malloc, which
// reuses them well.
constexpr size_t kLargeBlock = 128 << 10;  // glibc's default mmap threshold
constexpr size_t kAlignment = 64;          // libtorch's own CPU alignment (AVX-512 loads)
// Without KERAS_TORCH_CPU_CACHE_MB the limit follows the process: twice the most large-block memory it has
// had in use at once, and never less than this. A step frees, by its end, about all that it allocated, and
// the blocks that served it add up to more than its peak (a block freed early cannot serve a larger request
// later, and any block serves requests down to half its size): MobileNetV2 at 224x224, batch 16, had 1.41 GB
// in use at most and needed 1.51 GB of blocks. A cache short of that sends part of every step back to the
// kernel for the next step to fault in again (with 1 GiB, or with the peak itself, ~35 blocks a step were
// mapped anew and the step took 2-3x as long). Blocks left idle still go back (below).
constexpr uint64_t kMinimumCacheLimit = uint64_t{1} << 30;
// A block nobody asked for again in this long goes back to the system at the next large allocation or
// free: a service that trained and now predicts does not keep the training's memory.
constexpr double kDefaultMaxIdleSeconds = 10;

using Clock = std::chrono::steady_clock;

// Rounds a large request up to one of 8 sizes per power of two (at most 12.5% more, and pages that are
// never touched cost no memory), so that tensors of nearly the same size share blocks.
size_t RoundedSize(size_t n) {
  size_t power = size_t{1} << (63 - __builtin_clzll(static_cast<unsigned long long>(n)));
  size_t step = std::max<size_t>(power / 8, 4096);
  return (n + step - 1) / step * step;
}

class CachingCpuAllocator final : public c10::Allocator {
 public:
  // fixedLimit: KERAS_TORCH_CPU_CACHE_MB's bytes, or 0 for the limit that follows the peak in use.
  CachingCpuAllocator(uint64_t fixedLimit, double maxIdleSeconds)
      : fixedLimit_(fixedLimit),
        maxIdle_(std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(maxIdleSeconds))) {}

  // libtorch 2.3 made allocate non-const and added copy_data; declaring both forms, without `override`,
  // overrides whichever this libtorch's c10::Allocator declares.
  c10::DataPtr allocate(size_t n) const { return Allocate(n); }
  c10::DataPtr allocate(size_t n) { return Allocate(n); }
  void copy_data(void* dest, const void* src, std::size_t count) const { std::memcpy(dest, src, count); }

  // The raw interface (oneDNN's scratch memory goes through it) frees small and large blocks alike.
  c10::DeleterFnPtr raw_deleter() const override { return &ReleaseAny; }

  CpuMemoryStats Stats() {
    std::lock_guard<std::mutex> lock(mutex_);
    CpuMemoryStats stats;
    stats.caching = true;
    stats.inUseBytes = inUse_;
    stats.cachedBytes = cached_;
    stats.cacheLimitBytes = Limit();
    stats.reused = reused_;
    stats.fresh = fresh_;
    stats.smallBlocksInUse = static_cast<uint64_t>(smallLive_.load(std::memory_order_relaxed));
    return stats;
  }

  void ReleaseCached() {
    std::lock_guard<std::mutex> lock(mutex_);
    while (!freeOrder_.empty()) EvictOldest();
  }

  static CachingCpuAllocator* instance;

 private:
  struct CachedBlock {
    void* ptr;
    size_t size;
    Clock::time_point freedAt;
  };
  using FreeOrder = std::list<CachedBlock>;

  c10::DataPtr Allocate(size_t n) const {
    c10::Device cpu(c10::DeviceType::CPU);
    if (n < kLargeBlock) {
      void* ptr = nullptr;
      if (n > 0 && posix_memalign(&ptr, kAlignment, n) != 0) {
        const_cast<CachingCpuAllocator*>(this)->ReleaseCached();  // the cache may be what stands in the way
        if (posix_memalign(&ptr, kAlignment, n) != 0) ThrowOutOfMemory(n);
      }
      if (ptr != nullptr) smallLive_.fetch_add(1, std::memory_order_relaxed);
      return {ptr, ptr, &FreeSmall, cpu};
    }
    void* ptr = const_cast<CachingCpuAllocator*>(this)->TakeLarge(n);
    return {ptr, ptr, &ReleaseLarge, cpu};
  }

  [[noreturn]] static void ThrowOutOfMemory(size_t n) {
    TORCH_CHECK(false, "out of memory: could not allocate ", n, " bytes of CPU memory for a tensor");
  }

  void* TakeLarge(size_t n) {
    if (n > std::numeric_limits<size_t>::max() / 4) ThrowOutOfMemory(n);  // no size computed here can wrap
    size_t size = RoundedSize(n);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      EvictIdle();
      // The smallest cached block that fits, as long as it is not more than twice the request: a much
      // larger one is left for the tensor it was made for.
      auto found = bySize_.lower_bound(size);
      if (found != bySize_.end() && found->first / 2 <= size) {
        FreeOrder::iterator block = found->second;
        void* ptr = block->ptr;
        size_t blockSize = block->size;
        live_[ptr] = blockSize;  // first: if it throws, the block is still cached and nothing changed
        bySize_.erase(found);
        freeOrder_.erase(block);
        cached_ -= blockSize;
        inUse_ += blockSize;
        peakInUse_ = std::max(peakInUse_, inUse_);
        ++reused_;
        return ptr;
      }
    }
    void* ptr = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (ptr == MAP_FAILED) {
      // Cached blocks of other sizes may be what stands in the way.
      ReleaseCached();
      ptr = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (ptr == MAP_FAILED) ThrowOutOfMemory(n);
    }
    std::lock_guard<std::mutex> lock(mutex_);
    try {
      live_[ptr] = size;
    } catch (...) {
      munmap(ptr, size);
      throw;
    }
    inUse_ += size;
    peakInUse_ = std::max(peakInUse_, inUse_);
    ++fresh_;
    return ptr;
  }

  // Returns false when `ptr` is not a live large block of this allocator.
  bool GiveBackLarge(void* ptr) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto found = live_.find(ptr);
    if (found == live_.end()) return false;
    size_t size = found->second;
    live_.erase(found);
    inUse_ -= size;
    uint64_t limit = Limit();
    if (size > limit) {
      munmap(ptr, size);
      return true;
    }
    // Over the limit, the blocks freed longest ago go first: sizes that stopped recurring (a shape no
    // longer used) leave, the ones every step needs stay.
    EvictIdle();
    while (cached_ + size > limit && !freeOrder_.empty()) EvictOldest();
    // A deleter must not throw: when there is no memory left even to note the block, it is unmapped.
    try {
      freeOrder_.push_back({ptr, size, Clock::now()});
      try {
        bySize_.emplace(size, std::prev(freeOrder_.end()));
      } catch (...) {
        freeOrder_.pop_back();
        throw;
      }
    } catch (...) {
      munmap(ptr, size);
      return true;
    }
    cached_ += size;
    return true;
  }

  // Caller holds mutex_.
  uint64_t Limit() const { return fixedLimit_ != 0 ? fixedLimit_ : std::max(kMinimumCacheLimit, 2 * peakInUse_); }

  // Caller holds mutex_. freeOrder_ is in the order blocks were freed, so the idle ones are at its front.
  void EvictIdle() {
    Clock::time_point cutoff = Clock::now() - maxIdle_;
    while (!freeOrder_.empty() && freeOrder_.front().freedAt < cutoff) EvictOldest();
  }

  // Caller holds mutex_.
  void EvictOldest() {
    CachedBlock block = freeOrder_.front();
    auto range = bySize_.equal_range(block.size);
    for (auto it = range.first; it != range.second; ++it) {
      if (it->second == freeOrder_.begin()) {
        bySize_.erase(it);
        break;
      }
    }
    freeOrder_.pop_front();
    cached_ -= block.size;
    munmap(block.ptr, block.size);
  }

  static void FreeSmall(void* ptr) {
    if (ptr != nullptr) smallLive_.fetch_sub(1, std::memory_order_relaxed);
    std::free(ptr);
  }
  static void ReleaseLarge(void* ptr) { instance->GiveBackLarge(ptr); }
  static void ReleaseAny(void* ptr) {
    if (ptr != nullptr && !instance->GiveBackLarge(ptr)) FreeSmall(ptr);
  }

  // Counted without the mutex: one relaxed add per small tensor, which malloc serves in tens of nanoseconds.
  static inline std::atomic<int64_t> smallLive_{0};

  const uint64_t fixedLimit_;
  const Clock::duration maxIdle_;
  std::mutex mutex_;
  std::unordered_map<void*, size_t> live_;
  FreeOrder freeOrder_;                               // cached blocks, oldest first
  std::multimap<size_t, FreeOrder::iterator> bySize_;  // the same blocks by size
  uint64_t inUse_ = 0;
  uint64_t peakInUse_ = 0;  // the most inUse_ has been: the limit when none is set
  uint64_t cached_ = 0;
  uint64_t reused_ = 0;
  uint64_t fresh_ = 0;
};

CachingCpuAllocator* CachingCpuAllocator::instance = nullptr;

// A finite non-negative number from the environment, or `fallback` (lib/native/loader.ts warns then).
double NumberFromEnvironment(const char* name, double fallback) {
  const char* setting = std::getenv(name);
  if (setting == nullptr || *setting == '\0') return fallback;
  char* end = nullptr;
  double value = std::strtod(setting, &end);
  return end == setting || *end != '\0' || !std::isfinite(value) || value < 0 ? fallback : value;
}

}  // namespace

void InstallCpuAllocator() {
  static std::once_flag installed;
  std::call_once(installed, [] {
    // Clamped so that the conversions below stay in range: 2^40 MB and 10^9 s are "no limit" in practice.
    // NaN: unset (or not a number, which lib/native/loader.ts warns of): the limit follows the peak in use.
    double megabytes = std::min(NumberFromEnvironment("KERAS_TORCH_CPU_CACHE_MB", std::nan("")), 0x1p40);
    if (megabytes == 0) return;
    double maxIdleSeconds = std::min(NumberFromEnvironment("KERAS_TORCH_CPU_CACHE_IDLE_SECONDS", kDefaultMaxIdleSeconds), 1e9);
    // Never destroyed: tensors freed while the process exits still come back to it.
    CachingCpuAllocator::instance =
        new CachingCpuAllocator(std::isnan(megabytes) ? 0 : std::max<uint64_t>(1, static_cast<uint64_t>(megabytes * (1 << 20))), maxIdleSeconds);
    c10::SetCPUAllocator(CachingCpuAllocator::instance, /*priority=*/1);
  });
}

CpuMemoryStats GetCpuMemoryStats() {
  return CachingCpuAllocator::instance != nullptr ? CachingCpuAllocator::instance->Stats() : CpuMemoryStats{};
}

}  // namespace keras_torch
