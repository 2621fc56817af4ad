#include "data/loader.h"

#include <algorithm>
#include <tuple>

#include "ops/batch.h"

namespace cg::data {

namespace {

uint64_t splitmix(uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Seeds for the epoch's order and for each sample: functions of (seed, epoch, position) only.
uint64_t epoch_seed(uint64_t seed, int epoch) {
  return splitmix(splitmix(seed) ^ static_cast<uint64_t>(epoch));
}
uint64_t sample_seed(uint64_t seed, int epoch, int64_t position) {
  return splitmix(epoch_seed(seed, epoch) ^ splitmix(static_cast<uint64_t>(position) + 0x51ED27ull));
}

}  // namespace

// ---- the loader ----

Loader::Loader(const Dataset& ds, int batch_size, bool shuffle, int threads, uint64_t seed,
               int64_t max_dataset_size, int rank, int world, bool drop_last)
    : ds_(ds),
      batch_size_(batch_size),
      shuffle_(shuffle),
      threads_(std::max(1, threads)),
      seed_(seed),
      rank_(rank),
      world_(world) {
  if (batch_size < 1) throw Error("--batch_size must be >= 1");
  if (world < 1 || rank < 0 || rank >= world)
    throw Error("Loader: rank " + std::to_string(rank) + " of " + std::to_string(world));
  // The official loop stops at the first batch i with i * batch_size >= max_dataset_size (the
  // global batch, in data parallel).
  const int64_t global_batch = int64_t{batch_size} * world;
  const int64_t cap_batches = max_dataset_size / global_batch + (max_dataset_size % global_batch != 0);
  epoch_len_ = std::min(ds.size(), cap_batches > ds.size() ? ds.size() : cap_batches * global_batch);
  // drop_last (DataLoader's): whole global batches only
  if (drop_last) epoch_len_ -= epoch_len_ % global_batch;
  // A few batches ahead, but never more slots than a rank's share of an epoch has samples: a
  // --batch_size far beyond the data costs nothing.
  const int64_t per_rank = (epoch_len_ + world - 1) / world;
  ring_.resize(static_cast<size_t>(std::min<int64_t>(4 * int64_t{batch_size}, per_rank) + 2 * threads_));
  next_to_claim_ = next_to_deliver_ = end_ = 0;  // nothing to do before start_epoch
  try {
    for (int t = 0; t < threads_; ++t) workers_.emplace_back([this] { worker(); });
  } catch (const std::exception& e) {
    stop_workers();  // joins those that started: a std::thread left joinable would abort the program
    throw Error("cannot start " + std::to_string(threads_) + " loader threads (--num_threads): " + e.what() +
                "; started " + std::to_string(workers_.size()));
  }
}

Loader::~Loader() { stop_workers(); }

void Loader::stop_workers() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (std::thread& t : workers_)
    if (t.joinable()) t.join();
}

void Loader::start_epoch(int epoch, int64_t skip) {
  // The epoch's order, by global position; in order (no shuffle), it is the position itself and is
  // not stored (a dataset of random draws may be billions of positions long).
  std::vector<int64_t> order;
  if (shuffle_) {
    order.resize(static_cast<size_t>(ds_.size()));
    for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
    Generator g(epoch_seed(seed_, epoch));
    for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[g.below(i)]);  // Fisher-Yates
    order.resize(static_cast<size_t>(epoch_len_));
  }
  // what is left after skip, padded by wrapping around to a multiple of the rank count
  skip = std::clamp<int64_t>(skip, 0, epoch_len_);
  const int64_t per_rank = (epoch_len_ - skip + world_ - 1) / world_;
  if (shuffle_)
    for (int64_t g = epoch_len_; g < skip + per_rank * world_; ++g)
      order.push_back(order[static_cast<size_t>(g % std::max<int64_t>(epoch_len_, 1))]);
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++generation_;
    epoch_ = epoch;
    order_ = std::move(order);
    skip_ = skip;
    end_ = per_rank;
    next_to_claim_ = next_to_deliver_ = 0;
    for (Slot& s : ring_) s = Slot{};
  }
  cv_.notify_all();
}

void Loader::worker() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] {
      return stopping_ || (next_to_claim_ < end_ &&
                           next_to_claim_ < next_to_deliver_ + static_cast<int64_t>(ring_.size()));
    });
    if (stopping_) return;
    const int64_t j = next_to_claim_++;
    const int64_t pos = skip_ + rank_ + j * world_;  // the global position: the sample's random choices
    const uint64_t gen_id = generation_;
    const int epoch = epoch_;
    const int64_t index =
        shuffle_ ? order_[static_cast<size_t>(pos)] : pos % std::max<int64_t>(epoch_len_, 1);
    lock.unlock();
    Slot filled;
    try {
      Generator g(sample_seed(seed_, epoch, pos));
      filled.sample = ds_.get_in_epoch(index, epoch, g);
    } catch (...) {
      filled.error = std::current_exception();
      filled.file = ds_.file(index);
    }
    filled.ready = true;
    lock.lock();
    if (gen_id == generation_) {
      ring_[static_cast<size_t>(j) % ring_.size()] = std::move(filled);
      cv_.notify_all();
    }
  }
}

bool Loader::next(Batch& out) {
  std::unique_lock<std::mutex> lock(mu_);
  if (next_to_deliver_ >= end_) return false;
  const int64_t n = std::min<int64_t>(batch_size_, end_ - next_to_deliver_);
  std::vector<Sample> samples;
  std::exception_ptr error;
  std::string error_file;
  for (int64_t p = next_to_deliver_; p < next_to_deliver_ + n; ++p) {
    Slot& slot = ring_[static_cast<size_t>(p) % ring_.size()];
    cv_.wait(lock, [&] { return slot.ready; });
    if (slot.error && !error) {
      error = slot.error;
      error_file = slot.file;
    }
    samples.push_back(std::move(slot.sample));
    slot = Slot{};
  }
  next_to_deliver_ += n;  // a failed batch is dropped whole: the next call goes on after it
  lock.unlock();
  cv_.notify_all();
  if (error) {
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      throw LoadError(e.what(), error_file);
    }
  }

  std::vector<Tensor> as, bs;
  std::vector<float> labels;
  out = Batch{};
  const bool has_B = samples[0].B.defined(), has_label = samples[0].label >= 0;
  for (auto& s : samples) {
    if (s.A.shape() != samples[0].A.shape() || (has_B && s.B.shape() != samples[0].B.shape()))
      throw Error("images of one batch differ in size: '" + s.A_path + "' " + shape_str(s.A.shape()) +
                  (has_B ? " / '" + s.B_path + "' " + shape_str(s.B.shape()) : std::string()) + " vs '" +
                  samples[0].A_path + "' " + shape_str(samples[0].A.shape()) +
                  "; use --batch_size 1 or a cropping --preprocess");
    as.push_back(s.A.reshape({1, s.A.size(0), s.A.size(1), s.A.size(2)}));
    if (has_B) bs.push_back(s.B.reshape({1, s.B.size(0), s.B.size(1), s.B.size(2)}));
    out.A_paths.push_back(s.A_path);
    out.B_paths.push_back(s.B_path);
    labels.push_back(static_cast<float>(s.label));
  }
  out.A = as.size() == 1 ? as[0] : cat0(as);
  if (has_B) out.B = bs.size() == 1 ? bs[0] : cat0(bs);
  if (has_label) out.label = Tensor::from_vector(labels, {static_cast<int64_t>(labels.size())});
  return true;
}

}  // namespace cg::data
