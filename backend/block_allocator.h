// The caching allocator's policy, apart from any GPU: it asks a SegmentSource (the device) for whole segments
// and hands out blocks cut from them, so that a training step after the first finds every block it needs
// already cached and never calls the device's malloc (cudaMalloc costs tens of microseconds and synchronises
// the device). cuda/memory.cu puts it over cudaMalloc; tests/test_allocator.cpp drives it with a fake device.
//
// The policy follows PyTorch's CUDA caching allocator (c10/cuda/CUDACachingAllocator.cpp):
//   - sizes round up to a multiple of 512 bytes (kRound);
//   - requests up to 1 MiB come from the small pool, whose segments are 2 MiB; larger ones from
//     the large pool, whose segments are 20 MiB for requests up to 10 MiB and the request rounded
//     up to 2 MiB otherwise;
//   - a request takes the best-fitting free block of its pool: the smallest that is large enough,
//     ties broken by (segment number, offset), never by device address, so the same sequence of
//     requests gives the same blocks on any run and any device;
//   - the block is split when the rest is worth keeping (at least 512 bytes in the small pool,
//     more than 1 MiB in the large pool), and a freed block merges with free neighbours;
//   - when the device is out of memory, wholly free segments are returned to it and the request
//     is tried once more.
// Private pools serve CUDA graph capture: while one is active, every block comes from segments
// of that pool only, and its blocks never serve anyone else, so the addresses a captured graph
// baked in stay its own until the pool is released.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <unordered_map>
#include <vector>

namespace cg::alloc {

inline constexpr size_t kRound = 512;
inline constexpr size_t kSmallRequest = size_t(1) << 20;    // requests up to this use the small pool
inline constexpr size_t kSmallSegment = size_t(2) << 20;    // segment size of the small pool
inline constexpr size_t kMediumRequest = size_t(10) << 20;  // large requests up to this...
inline constexpr size_t kMediumSegment = size_t(20) << 20;  // ...share segments of this size
inline constexpr size_t kLargeRound = size_t(2) << 20;      // bigger ones get their own, rounded to this
inline constexpr size_t kMinLargeSplit = size_t(1) << 20;   // a large block splits only above this rest

// Where segments come from: cudaMalloc/cudaFree, or a fake in tests.
class SegmentSource {
 public:
  virtual ~SegmentSource() = default;
  virtual void* malloc(size_t bytes) = 0;  // nullptr when the device is out of memory
  virtual void free(void* p) = 0;
};

struct Stats {
  size_t reserved = 0;          // bytes in segments, live or cached
  size_t in_use = 0;            // bytes in handed-out blocks (rounded sizes)
  size_t peak_in_use = 0;       // the most in_use has been (PyTorch: max_memory_allocated)
  uint64_t device_mallocs = 0;  // segments asked of the device so far
  uint64_t device_frees = 0;
  size_t segments = 0;
};

// Where a block lies, independent of device addresses: for tests and diagnostics.
struct Placement {
  uint64_t segment = 0;
  size_t offset = 0, size = 0;
  int pool = 0;
};

class BlockAllocator {
 public:
  explicit BlockAllocator(SegmentSource& dev) : dev_(dev) {}
  ~BlockAllocator();  // returns every segment to the device
  BlockAllocator(const BlockAllocator&) = delete;
  BlockAllocator& operator=(const BlockAllocator&) = delete;

  // A block of at least `bytes` (rounded as above); nullptr when even an emptied cache cannot get
  // the memory. Zero bytes still get a block of kRound.
  void* allocate(size_t bytes);
  // Returns a block to its pool's cache; pointers this allocator did not hand out are ignored.
  void deallocate(void* p);

  // Private pools (graph capture). new_pool returns an id > 0; set_active_pool(0) goes back to the
  // general pool. release_pool hands the pool's segments to the general pool: its free blocks are
  // available to everyone at once, its live blocks when they are freed.
  int new_pool();
  void set_active_pool(int id);
  int active_pool() const { return active_; }
  void release_pool(int id);

  // Returns every wholly free segment of the general pool to the device; the bytes released.
  size_t release_cached();

  Stats stats() const;
  void reset_peak() { stats_.peak_in_use = stats_.in_use; }
  Placement placement(void* p) const;  // of a live block; throws cg::Error for an unknown pointer

 private:
  struct Segment;
  struct Block {
    Segment* seg = nullptr;
    size_t offset = 0, size = 0;
    bool allocated = false;
    Block *prev = nullptr, *next = nullptr;  // neighbours in the segment
  };
  struct Segment {
    void* base = nullptr;
    size_t size = 0;
    uint64_t id = 0;
    int pool = 0;
    bool small = false;
    Block* head = nullptr;
  };
  struct BySize {  // best fit: size, then segment number, then offset
    bool operator()(const Block* a, const Block* b) const;
  };
  using FreeSet = std::set<Block*, BySize>;
  struct Pool {
    FreeSet small, large;
  };

  static size_t round(size_t bytes);
  static size_t segment_size(size_t rounded);
  Pool& pool(int id);
  FreeSet& free_set(Segment* s) { return s->small ? pool(s->pool).small : pool(s->pool).large; }
  Block* take(FreeSet& set, size_t size);
  Block* new_segment(size_t rounded, bool small);
  void* address(const Block* b) const { return static_cast<char*>(b->seg->base) + b->offset; }
  void free_segment(Segment* s);

  SegmentSource& dev_;
  std::map<int, Pool> pools_{{0, Pool{}}};
  std::vector<std::unique_ptr<Segment>> segments_;
  std::vector<std::unique_ptr<Block>> blocks_;  // owner of every Block; recycled through spare_
  std::vector<Block*> spare_;
  std::unordered_map<void*, Block*> live_;
  uint64_t next_segment_id_ = 0;
  int next_pool_ = 1, active_ = 0;
  Stats stats_;

  Block* new_block();
  void recycle(Block* b);
};

}  // namespace cg::alloc
