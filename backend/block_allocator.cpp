#include "backend/block_allocator.h"

#include <algorithm>
#include <string>

#include "backend/types.h"

namespace cg::alloc {

bool BlockAllocator::BySize::operator()(const Block* a, const Block* b) const {
  if (a->size != b->size) return a->size < b->size;
  if (a->seg->id != b->seg->id) return a->seg->id < b->seg->id;
  return a->offset < b->offset;
}

BlockAllocator::~BlockAllocator() {
  for (auto& s : segments_)
    if (s) dev_.free(s->base);
}

size_t BlockAllocator::round(size_t bytes) {
  if (bytes < kRound) return kRound;
  return (bytes + kRound - 1) / kRound * kRound;
}

size_t BlockAllocator::segment_size(size_t rounded) {
  if (rounded <= kSmallRequest) return kSmallSegment;
  if (rounded <= kMediumRequest) return kMediumSegment;
  return (rounded + kLargeRound - 1) / kLargeRound * kLargeRound;
}

BlockAllocator::Pool& BlockAllocator::pool(int id) {
  auto it = pools_.find(id);
  if (it == pools_.end()) throw Error("caching allocator: no memory pool " + std::to_string(id));
  return it->second;
}

BlockAllocator::Block* BlockAllocator::new_block() {
  if (!spare_.empty()) {
    Block* b = spare_.back();
    spare_.pop_back();
    *b = Block{};
    return b;
  }
  blocks_.push_back(std::make_unique<Block>());
  return blocks_.back().get();
}

void BlockAllocator::recycle(Block* b) { spare_.push_back(b); }

// The best-fitting free block of `set` with at least `size` bytes, removed from the set.
BlockAllocator::Block* BlockAllocator::take(FreeSet& set, size_t size) {
  Block probe;
  Segment probe_seg;  // id 0, offset 0: the first block of this size or larger
  probe.seg = &probe_seg;
  probe.size = size;
  auto it = set.lower_bound(&probe);
  if (it == set.end()) return nullptr;
  Block* b = *it;
  set.erase(it);
  return b;
}

BlockAllocator::Block* BlockAllocator::new_segment(size_t rounded, bool small) {
  const size_t bytes = segment_size(rounded);
  void* base = dev_.malloc(bytes);
  if (!base && release_cached() > 0) base = dev_.malloc(bytes);
  if (!base) return nullptr;
  auto seg = std::make_unique<Segment>();
  seg->base = base;
  seg->size = bytes;
  seg->id = next_segment_id_++;
  seg->pool = active_;
  seg->small = small;
  Block* b = new_block();
  b->seg = seg.get();
  b->size = bytes;
  seg->head = b;
  segments_.push_back(std::move(seg));
  ++stats_.device_mallocs;
  ++stats_.segments;
  stats_.reserved += bytes;
  return b;
}

void* BlockAllocator::allocate(size_t bytes) {
  const size_t size = round(bytes);
  const bool small = size <= kSmallRequest;
  Pool& p = pool(active_);
  FreeSet& set = small ? p.small : p.large;
  Block* b = take(set, size);
  if (!b) b = new_segment(size, small);
  if (!b) return nullptr;
  // Split off the rest when it is worth keeping as a block of its own.
  const size_t rest = b->size - size;
  if (small ? rest >= kRound : rest > kMinLargeSplit) {
    Block* r = new_block();
    r->seg = b->seg;
    r->offset = b->offset + size;
    r->size = rest;
    r->prev = b;
    r->next = b->next;
    if (b->next) b->next->prev = r;
    b->next = r;
    b->size = size;
    free_set(b->seg).insert(r);
  }
  b->allocated = true;
  stats_.in_use += b->size;
  stats_.peak_in_use = std::max(stats_.peak_in_use, stats_.in_use);
  void* ptr = address(b);
  live_[ptr] = b;
  return ptr;
}

void BlockAllocator::deallocate(void* p) {
  auto it = live_.find(p);
  if (it == live_.end()) return;
  Block* b = it->second;
  live_.erase(it);
  b->allocated = false;
  stats_.in_use -= b->size;
  FreeSet& set = free_set(b->seg);
  // Merge with free neighbours, so the segment's free space stays in the fewest, largest blocks.
  for (Block* n : {b->prev, b->next}) {
    if (!n || n->allocated) continue;
    set.erase(n);
    if (n == b->prev) {
      n->size += b->size;
      n->next = b->next;
      if (b->next) b->next->prev = n;
      if (b->seg->head == b) b->seg->head = n;
      recycle(b);
      b = n;
    } else {
      b->size += n->size;
      b->next = n->next;
      if (n->next) n->next->prev = b;
      recycle(n);
    }
  }
  set.insert(b);
}

int BlockAllocator::new_pool() {
  const int id = next_pool_++;
  pools_.emplace(id, Pool{});
  return id;
}

void BlockAllocator::set_active_pool(int id) {
  pool(id);  // must exist
  active_ = id;
}

void BlockAllocator::release_pool(int id) {
  if (id == 0) return;
  Pool& from = pool(id);
  Pool& to = pool(0);
  for (auto& s : segments_)
    if (s && s->pool == id) s->pool = 0;
  to.small.insert(from.small.begin(), from.small.end());
  to.large.insert(from.large.begin(), from.large.end());
  pools_.erase(id);
  if (active_ == id) active_ = 0;
}

void BlockAllocator::free_segment(Segment* s) {
  Block* b = s->head;
  free_set(s).erase(b);
  recycle(b);
  dev_.free(s->base);
  stats_.reserved -= s->size;
  ++stats_.device_frees;
  --stats_.segments;
}

size_t BlockAllocator::release_cached() {
  size_t released = 0;
  for (auto& s : segments_) {
    if (!s || s->pool != 0) continue;
    const Block* h = s->head;
    if (h->allocated || h->size != s->size) continue;  // something in it is still live
    released += s->size;
    free_segment(s.get());
    s.reset();
  }
  segments_.erase(std::remove(segments_.begin(), segments_.end(), nullptr), segments_.end());
  return released;
}

Stats BlockAllocator::stats() const { return stats_; }

Placement BlockAllocator::placement(void* p) const {
  auto it = live_.find(p);
  if (it == live_.end()) throw Error("caching allocator: pointer was not handed out by this allocator");
  const Block* b = it->second;
  return {b->seg->id, b->offset, b->size, b->seg->pool};
}

}  // namespace cg::alloc
