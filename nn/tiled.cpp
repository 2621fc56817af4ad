// The tiled evaluator (nn/tiled.h): the network as a graph of layers, a plan of stages, and the
// stages run tile by tile. Coordinates are always those of the value being computed: a tile of a
// value asks its inputs for exactly the rows and columns its layer reads.
#include "nn/tiled.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <utility>
#include <vector>

#include "autograd/tape.h"
#include "backend/device.h"
#include "nn/layers.h"
#include "nn/tile_store.h"
#include "ops/all_reduce.h"
#include "ops/ops.h"

namespace cg::nn {
namespace {

// ---- the graph ----

enum class Op { kInput, kPad, kConv, kConvT, kNorm, kPointwise, kDropout, kAdd, kCat };

struct Node {
  Op op = Op::kInput;
  std::vector<int> in;  // the nodes it reads
  Shape shape;          // (N, C, H, W)
  Module* layer = nullptr;
  std::string path;               // where in the network ("model.10.conv_block.1"), for messages
  int64_t pad[4] = {0, 0, 0, 0};  // kPad: left, right, top, bottom
  bool batch = false;             // kNorm: batch norm in training mode (else instance norm)
  double slope = -1;              // kNorm: the fused activation's slope (0: ReLU); -1: none
  double eps = 1e-5;              // kNorm
  // ---- the plan ----
  int consumers = 0;
  bool kept = false;   // computed whole by a stage of its own and kept for later stages
  bool stats = false;  // a normalisation needs its per-channel sums
  bool in_file = false;
  int last_stage = -1;  // the last stage that reads it (kept values, dropout masks)
  // ---- evaluation ----
  std::unique_ptr<TileStore> store;
  bool done = false;                   // kept and computed whole
  std::vector<double> shift, s1, s2;   // stats: sums of (x - shift) and its square, per (n, c)
  int64_t count = 0;                   // stats: values per (n, c) so far
  Tensor mean, scale;                  // kNorm: instance (N, C, 1, 1) mean and 1/std; batch (C) mean and std
  std::vector<float> mean_h, scale_h;  // kNorm, instance: the same on the host (N * C)
  std::vector<uint8_t> keep;           // kDropout: one bit per element kept, (N, C, H, W) order
  bool drawn = false;
};

std::string describe(const Node& n) {
  return (n.path.empty() ? std::string("input") : n.path) +
         (n.layer ? " (" + n.layer->type_name() + ")" : "") + " " + shape_str(n.shape);
}

class Graph {
 public:
  std::vector<Node> nodes;

  explicit Graph(const Shape& x) {
    if (x.size() != 4) throw Error("tiled evaluation: expected a (N, C, H, W) input, got " + shape_str(x));
    Node in;
    in.shape = x;
    nodes.push_back(std::move(in));
  }

  // Appends the nodes of `m` applied to node x; returns its output node.
  int walk(Module& m, int x, const std::string& path) {
    m.check_input(nodes[static_cast<size_t>(x)].shape);
    const Structure s = m.structure();
    if (s == Structure::kLayer) return leaf(m, x, path);
    int y = x;
    for (const auto& [name, child] : m.named_children())
      y = walk(*child, y, path.empty() ? name : path + "." + name);
    if (s == Structure::kChain) return y;
    const Shape a = shape(x), b = shape(y);
    Node n;
    n.in = {x, y};
    n.layer = &m;
    n.path = path;
    if (s == Structure::kResidual) {
      if (a != b) throw Error(where(m, path) + "adds its input " + shape_str(a) + " to " + shape_str(b));
      n.op = Op::kAdd;
      n.shape = a;
    } else {
      if (a[0] != b[0] || a[2] != b[2] || a[3] != b[3])
        throw Error(where(m, path) + "joins its input " + shape_str(a) + " and " + shape_str(b) +
                    " along the channels");
      n.op = Op::kCat;
      n.shape = {a[0], a[1] + b[1], a[2], a[3]};
    }
    return add(std::move(n));
  }

 private:
  const Shape& shape(int i) const { return nodes[static_cast<size_t>(i)].shape; }
  int add(Node n) {
    nodes.push_back(std::move(n));
    return static_cast<int>(nodes.size()) - 1;
  }
  static std::string where(const Module& m, const std::string& path) {
    return "tiled evaluation: '" + path + "' (" + m.type_name() + ") ";
  }

  int leaf(Module& m, int x, const std::string& path) {
    const Shape s = shape(x);
    const int64_t N = s[0], C = s[1], H = s[2], W = s[3];
    Node n;
    n.in = {x};
    n.layer = &m;
    n.path = path;
    n.shape = s;
    auto fail = [&](const std::string& why) { return Error(where(m, path) + why); };
    auto channels = [&](int64_t want) {
      if (want != C) throw fail("expects " + std::to_string(want) + " input channels, got " + shape_str(s));
    };
    if (auto* c = dynamic_cast<Conv2d*>(&m)) {
      const Shape& w = c->weight.shape();  // (K, C, R, S)
      channels(w[1]);
      if (H + 2 * c->padding < w[2] || W + 2 * c->padding < w[3])
        throw fail("input " + shape_str(s) + " is smaller than its " + std::to_string(w[2]) + "x" +
                   std::to_string(w[3]) + " kernel");
      n.op = Op::kConv;
      n.shape = {N, w[0], (H + 2 * c->padding - w[2]) / c->stride + 1,
                 (W + 2 * c->padding - w[3]) / c->stride + 1};
    } else if (auto* t = dynamic_cast<ConvTranspose2d*>(&m)) {
      const Shape& w = t->weight.shape();  // (Cin, Cout, R, S)
      channels(w[0]);
      n.op = Op::kConvT;
      n.shape = {N, w[1], (H - 1) * t->stride - 2 * t->padding + w[2] + t->output_padding,
                 (W - 1) * t->stride - 2 * t->padding + w[3] + t->output_padding};
      if (n.shape[2] <= 0 || n.shape[3] <= 0) throw fail("gives an empty output for " + shape_str(s));
    } else if (auto* p = dynamic_cast<ReflectionPad2d*>(&m)) {
      if (p->pad >= H || p->pad >= W)
        throw fail("reflects by " + std::to_string(p->pad) + ", which needs sides larger than that, got " +
                   shape_str(s));
      n.op = Op::kPad;
      std::fill(n.pad, n.pad + 4, p->pad);
      n.shape = {N, C, H + 2 * p->pad, W + 2 * p->pad};
    } else if (auto* in = dynamic_cast<InstanceNorm2d*>(&m)) {
      channels(in->channels);
      n.op = Op::kNorm;
      n.eps = in->eps;
    } else if (auto* ia = dynamic_cast<InstanceNormAct*>(&m)) {
      channels(ia->channels);
      n.op = Op::kNorm;
      n.eps = ia->eps;
      n.slope = ia->slope;
    } else if (dynamic_cast<BatchNorm1d*>(&m)) {
      throw fail("normalises (N, C) values, not images");
    } else if (auto* bn = dynamic_cast<BatchNorm2d*>(&m)) {
      channels(bn->weight.numel());
      if (bn->is_training() && bn->sync_ranks && world_size() > 1)
        throw fail("takes its statistics over every rank's batch, which a tiled evaluation does not");
      n.op = bn->is_training() ? Op::kNorm : Op::kPointwise;  // eval: its running statistics
      n.batch = true;
      n.eps = bn->eps;
    } else if (dynamic_cast<ReLU*>(&m) || dynamic_cast<LeakyReLU*>(&m) || dynamic_cast<Tanh*>(&m)) {
      n.op = Op::kPointwise;
    } else if (auto* d = dynamic_cast<Dropout*>(&m)) {
      if (d->p < 0 || d->p > 1) throw fail("has probability " + std::to_string(d->p) + ", not in [0, 1]");
      if (!d->is_training() || d->p == 0) return x;  // the identity, drawing nothing (ops/dropout.cpp)
      n.op = Op::kDropout;
    } else {
      throw fail(
          "is a layer the tiled evaluation does not know (it knows Conv2d, ConvTranspose2d, ReflectionPad2d, "
          "InstanceNorm2d, BatchNorm2d, ReLU, LeakyReLU, Tanh, Dropout and modules that chain, add or join "
          "them)");
    }
    return add(std::move(n));
  }
};

// ---- index arithmetic for one axis ----

int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
int64_t ceil_div(int64_t a, int64_t b) { return -floor_div(-a, b); }

// What a tile [o0, o1) of an axis reads: input [a, e), padded by `before` and `after` (reflections),
// of whose result it keeps the entries from `skip` on.
struct Span {
  int64_t a = 0, e = 0, before = 0, after = 0, skip = 0;
};

// ReflectionPad (pb before, pa after) of an axis of `size`: reflected only where the tile reaches
// the image's border, from input rows that include the border row and what it reflects.
Span reflect_span(int64_t o0, int64_t o1, int64_t size, int64_t pb, int64_t pa) {
  const bool lo = o0<pb, hi = o1> pb + size;
  Span s;
  s.a = std::clamp<int64_t>(o0 - pb, 0, size);
  s.e = std::clamp<int64_t>(o1 - pb, 0, size);
  if (lo) {  // padded row j < pb is input row pb - j: rows 0 .. pb, and the op needs more than pb
    s.a = 0;
    s.e = std::max(s.e, pb + 1);
    s.before = pb;
  }
  if (hi) {  // the mirror image at the far border
    s.e = size;
    s.a = std::min(s.a, size - pa - 1);
    s.after = pa;
  }
  s.skip = o0 - (lo ? 0 : s.a + pb);  // the padded coordinate of the first entry is 0 or a + pb
  return s;
}

std::string bytes_text(double b) {
  char buf[32];
  if (b >= 1024.0 * 1024 * 1024)
    std::snprintf(buf, sizeof buf, "%.1f GiB", b / (1024.0 * 1024 * 1024));
  else
    std::snprintf(buf, sizeof buf, "%.0f MiB", std::ceil(b / (1024.0 * 1024)));
  return buf;
}

// ---- the evaluator ----

struct Stage {
  int node = 0;
  std::vector<int> reads;  // kept values it reads
  int max_id = 0;          // the largest node it computes (dropout masks up to it are drawn first)
  double flops = 0;        // its convolutions' FLOPs
  int64_t tile_h = 0, tile_w = 0, tiles = 0;
};

class Evaluator {
 public:
  Evaluator(Module& net, const Shape& x, const TiledOptions& opt) : g_(x), opt_(opt) {
    if (opt.tile_size < 1) throw Error("tiled evaluation: the tile size must be >= 1");
    out_ = g_.walk(net, 0, "");
    plan();
  }
  const TiledPlan& summary() const { return plan_; }
  Tensor run(const Tensor& x);

 private:
  Node& node(int i) { return g_.nodes[static_cast<size_t>(i)]; }
  void plan();
  void visit(Stage& st, int stage, int i);
  double flops(const Node& n) const;
  void run_stage(int s);
  Tensor fetch(int i, const Rect& r);
  Tensor compute(int i, const Rect& r);
  Tensor reflect(const Node& n, const Rect& r);
  Tensor conv(const Node& n, const Rect& r);
  Tensor conv_t(const Node& n, const Rect& r);
  Tensor normalise(const Node& n, const Tensor& x);
  Tensor mask(const Node& n, const Rect& r);
  void draw(Node& n);
  void accumulate(Node& t, const Tensor& rows);
  void finish_stats(int t);
  void report(int s, int64_t tile);

  Graph g_;
  TiledOptions opt_;
  int out_ = 0;
  std::vector<Stage> stages_;
  TiledPlan plan_;
  Tensor input_;
  Device device_ = Device::CPU;
  std::chrono::steady_clock::time_point start_;
  double flops_done_ = 0;
  int64_t budget_ = 0;  // bytes of kept values in memory
};

double Evaluator::flops(const Node& n) const {
  const Shape& i = g_.nodes[static_cast<size_t>(n.in.empty() ? 0 : n.in[0])].shape;
  if (n.op == Op::kConv) {
    const Shape& w = static_cast<Conv2d*>(n.layer)->weight.shape();
    return 2.0 * static_cast<double>(shape_numel(n.shape)) * static_cast<double>(w[1] * w[2] * w[3]);
  }
  if (n.op == Op::kConvT) {
    const Shape& w = static_cast<ConvTranspose2d*>(n.layer)->weight.shape();
    return 2.0 * static_cast<double>(shape_numel(i)) * static_cast<double>(w[1] * w[2] * w[3]);
  }
  return 0;
}

// The nodes a stage computes: from its target down to the kept values it reads.
void Evaluator::visit(Stage& st, int stage, int i) {
  Node& n = node(i);
  if (n.kept && i != st.node) {
    if (std::find(st.reads.begin(), st.reads.end(), i) == st.reads.end()) st.reads.push_back(i);
    return;
  }
  st.max_id = std::max(st.max_id, i);
  st.flops += flops(n);
  if (n.op == Op::kDropout) n.last_stage = std::max(n.last_stage, stage);
  for (int j : n.in) visit(st, stage, j);
}

void Evaluator::plan() {
  const Shape& x = node(0).shape;
  for (Node& n : g_.nodes)
    for (int j : n.in) ++node(j).consumers;
  node(0).kept = true;
  node(out_).kept = true;
  for (Node& n : g_.nodes)
    if (n.op == Op::kNorm) node(n.in[0]).kept = node(n.in[0]).stats = true;
  // A value read twice is kept, unless it is a pointwise function of one kept value (the
  // normalised output a U-Net block and its skip both read): recomputing that costs less than a file.
  auto cheap = [&](int i) {
    while (!node(i).kept) {
      const Op op = node(i).op;
      if (op != Op::kNorm && op != Op::kPointwise && op != Op::kDropout) return false;
      i = node(i).in[0];
    }
    return true;
  };
  for (size_t i = 1; i < g_.nodes.size(); ++i)
    if (g_.nodes[i].consumers > 1 && !cheap(static_cast<int>(i))) g_.nodes[i].kept = true;
  // one stage per kept value (the input's only when a normalisation reads it: its sums)
  for (size_t i = 0; i < g_.nodes.size(); ++i) {
    const Node& n = g_.nodes[i];
    if (!n.kept || (i == 0 && !n.stats) || (i == 0 && out_ == 0)) continue;
    Stage st;
    st.node = static_cast<int>(i);
    const int64_t H = n.shape[2], W = n.shape[3];
    // tiles of tile_size input pixels, in this value's own pixels (at least 16, or the whole side)
    st.tile_h = std::min(H, std::max<int64_t>(16, ceil_div(opt_.tile_size * H, x[2])));
    st.tile_w = std::min(W, std::max<int64_t>(16, ceil_div(opt_.tile_size * W, x[3])));
    st.tiles = ceil_div(H, st.tile_h) * ceil_div(W, st.tile_w);
    stages_.push_back(std::move(st));
  }
  for (size_t s = 0; s < stages_.size(); ++s) {
    Stage& st = stages_[s];
    if (st.node != 0) visit(st, static_cast<int>(s), st.node);
    for (int r : st.reads) node(r).last_stage = std::max(node(r).last_stage, static_cast<int>(s));
    plan_.flops += st.flops;
  }
  // Where each kept value lives, and the most held at once: memory while the budget lasts, then files.
  const int64_t budget =
      opt_.memory_budget >= 0 ? opt_.memory_budget : 256 * opt_.tile_size * opt_.tile_size * 4;
  budget_ = budget;
  int64_t in_memory = 0, in_files = 0, masks = 0, result = 0;
  size_t next_mask = 0;
  for (size_t s = 0; s < stages_.size(); ++s) {
    const Stage& st = stages_[s];
    for (; next_mask < g_.nodes.size() && static_cast<int>(next_mask) <= st.max_id; ++next_mask)
      if (g_.nodes[next_mask].op == Op::kDropout) masks += (shape_numel(g_.nodes[next_mask].shape) + 7) / 8;
    Node& t = node(st.node);
    const int64_t bytes = shape_numel(t.shape) * 4;
    if (st.node == out_) {
      result = bytes;
    } else if (st.node != 0) {
      t.in_file = in_memory + bytes > budget;
      (t.in_file ? in_files : in_memory) += bytes;
      plan_.file_values += t.in_file ? 1 : 0;
    }
    plan_.temp_file_bytes = std::max(plan_.temp_file_bytes, in_files);
    plan_.memory_bytes = std::max(plan_.memory_bytes, in_memory + masks + result);
    for (size_t i = 1; i < g_.nodes.size(); ++i) {
      const Node& n = g_.nodes[i];
      if (n.last_stage != static_cast<int>(s) || static_cast<int>(i) == out_) continue;
      if (n.op == Op::kDropout)
        masks -= (shape_numel(n.shape) + 7) / 8;
      else if (n.kept)
        (n.in_file ? in_files : in_memory) -= shape_numel(n.shape) * 4;
    }
  }
  plan_.stages = static_cast<int>(stages_.size());
}

Tensor Evaluator::run(const Tensor& x) {
  NoGradGuard no_grad;
  if (x.shape() != node(0).shape || x.dtype() != DType::F32)
    throw Error("tiled evaluation: planned for float32 " + shape_str(node(0).shape) + ", given " +
                x.describe());
  if (out_ == 0) return x;
  if (plan_.temp_file_bytes > 0) {
    if (opt_.temp_dir.empty())
      throw Error("tiled evaluation of " + shape_str(x.shape()) + " needs " +
                  bytes_text(plan_.temp_file_bytes) +
                  " of temporary files, and no folder was given for them");
    const int64_t free_bytes =
        opt_.free_space ? opt_.free_space(opt_.temp_dir) : free_disk_bytes(opt_.temp_dir);
    if (free_bytes < plan_.temp_file_bytes + (int64_t{64} << 20))
      throw Error("tiled evaluation of " + shape_str(x.shape()) + " needs " +
                  bytes_text(plan_.temp_file_bytes) + " of temporary files at once under '" + opt_.temp_dir +
                  "', whose file system has " + bytes_text(static_cast<double>(free_bytes)) +
                  " free (set TMPDIR to a folder on a disk with more room)");
  }
  input_ = x;
  device_ = x.device();
  start_ = std::chrono::steady_clock::now();
  for (size_t s = 0; s < stages_.size(); ++s) run_stage(static_cast<int>(s));
  for (Node& n : g_.nodes)  // a mask no stage read still takes its numbers, as the whole call would
    if (n.op == Op::kDropout && !n.drawn) draw(n);
  Tensor out = node(out_).store->whole().to(device_);
  node(out_).store.reset();
  input_ = Tensor();
  return out;
}

void Evaluator::run_stage(int s) {
  Stage& st = stages_[static_cast<size_t>(s)];
  for (int i = 0; i <= st.max_id; ++i)  // in the order the whole-image forward draws them
    if (node(i).op == Op::kDropout && !node(i).drawn) draw(node(i));
  Node& t = node(st.node);
  const int64_t H = t.shape[2], W = t.shape[3];
  if (st.node != 0)  // the output in memory: it is the result
    t.store = std::make_unique<TileStore>(t.shape, t.in_file ? opt_.temp_dir : "", describe(t));
  int64_t tile = 0;
  report(s, 0);
  for (int64_t y0 = 0; y0 < H; y0 += st.tile_h)
    for (int64_t x0 = 0; x0 < W; x0 += st.tile_w) {
      const Rect r{y0, std::min(H, y0 + st.tile_h), x0, std::min(W, x0 + st.tile_w)};
      const Tensor v = compute(st.node, r);                                         // (N, C, h, w)
      const Tensor host = st.node != 0 ? t.store->write(r, v) : v.to(Device::CPU);  // the same, on the host
      if (t.stats) accumulate(t, host);
      report(s, ++tile);
    }
  t.done = true;
  flops_done_ += st.flops;
  if (t.stats) finish_stats(st.node);
  for (Node& n : g_.nodes)
    if (n.last_stage == s) {
      n.store.reset();
      std::vector<uint8_t>().swap(n.keep);
    }
  // The next stage's tiles may have other sizes: the host allocator's cache of this one's blocks is
  // emptied when it holds more than twice the memory budget (emptying it after every stage would
  // make the next stage's first tile fault all its pages in again: a tenth of the time).
  backend::release_cached(Device::CPU,
                          static_cast<size_t>(std::max<int64_t>(2 * budget_, int64_t{128} << 20)));
}

void Evaluator::report(int s, int64_t tile) {
  if (!opt_.progress) return;
  const Stage& st = stages_[static_cast<size_t>(s)];
  TiledProgress p;
  p.stage = s + 1;
  p.stages = static_cast<int>(stages_.size());
  p.tile = tile;
  p.tiles = st.tiles;
  const double done = flops_done_ + st.flops * static_cast<double>(tile) / static_cast<double>(st.tiles);
  p.fraction = plan_.flops > 0 ? done / plan_.flops
                               : (s + static_cast<double>(tile) / static_cast<double>(st.tiles)) / p.stages;
  p.elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  if (p.fraction > 0) p.eta_s = p.elapsed_s * (1 - p.fraction) / p.fraction;
  p.temp_file_bytes = plan_.temp_file_bytes;
  p.temp_dir = opt_.temp_dir;
  p.what = describe(node(st.node));
  opt_.progress(p);
}

Tensor Evaluator::fetch(int i, const Rect& r) {
  const Node& n = node(i);
  if (!n.kept || i == 0) return compute(i, r);  // the input is read where it is
  if (!n.done) throw Error("tiled evaluation: " + describe(n) + " was read before its stage ran");
  return n.store->read(r, device_);
}

Tensor Evaluator::compute(int i, const Rect& r) {
  const Node& n = node(i);
  switch (n.op) {
    case Op::kInput:
      return narrow(narrow(input_, 2, r.y0, r.h()), 3, r.x0, r.w());
    case Op::kPad:
      return reflect(n, r);
    case Op::kConv:
      return conv(n, r);
    case Op::kConvT:
      return conv_t(n, r);
    case Op::kNorm:
      return normalise(n, fetch(n.in[0], r));
    case Op::kPointwise:
      return n.layer->forward(fetch(n.in[0], r));
    case Op::kDropout:
      return fetch(n.in[0], r) * mask(n, r);  // ops/dropout.cpp's product
    case Op::kAdd:
      return fetch(n.in[0], r) + fetch(n.in[1], r);
    case Op::kCat:
      return cat1({fetch(n.in[0], r), fetch(n.in[1], r)});
  }
  throw Error("tiled evaluation: unknown node");
}

// Narrows `t` (N, C, h', w') to `h` rows from sy.skip and `w` columns from sx.skip.
Tensor crop(Tensor t, const Span& sy, const Span& sx, int64_t h, int64_t w) {
  if (sy.skip != 0 || t.size(2) != h) t = narrow(t, 2, sy.skip, h);
  if (sx.skip != 0 || t.size(3) != w) t = narrow(t, 3, sx.skip, w);
  return t;
}

Tensor Evaluator::reflect(const Node& n, const Rect& r) {
  const Shape& in = node(n.in[0]).shape;
  const Span sy = reflect_span(r.y0, r.y1, in[2], n.pad[2], n.pad[3]);
  const Span sx = reflect_span(r.x0, r.x1, in[3], n.pad[0], n.pad[1]);
  Tensor t = fetch(n.in[0], Rect{sy.a, sy.e, sx.a, sx.e});
  if (sy.before || sy.after || sx.before || sx.after)
    t = reflection_pad2d(t, sx.before, sx.after, sy.before, sy.after);
  return crop(t, sy, sx, r.h(), r.w());
}

// A convolution's zero padding is its own: the tile's input starts on the stride's grid (row a with
// a = o0 s mod s), p s-rounded rows before what the tile needs, or at row 0, so the convolution's
// padding of the fetched rows puts zeros exactly where the image has none and, on a side inside
// the image, only in front of outputs the crop drops. Output row o0 is then local row (o0 s - a) / s.
Tensor Evaluator::conv(const Node& n, const Rect& r) {
  const auto* c = static_cast<const Conv2d*>(n.layer);
  const Shape& in = node(n.in[0]).shape;
  const int64_t s = c->stride, p = c->padding;
  auto span = [&](int64_t o0, int64_t o1, int64_t k, int64_t size) {
    Span sp;
    sp.a = std::max<int64_t>(0, o0 * s - s * ceil_div(p, s));
    sp.e = std::min(size, (o1 - 1) * s - p + k);  // output row o reads rows o s - p .. o s - p + k - 1
    sp.skip = (o0 * s - sp.a) / s;
    return sp;
  };
  const Span sy = span(r.y0, r.y1, c->weight.size(2), in[2]), sx = span(r.x0, r.x1, c->weight.size(3), in[3]);
  if (sy.e <= sy.a || sx.e <= sx.a)
    throw Error("tiled evaluation: a tile of " + describe(n) + " reads no input (the tiles are too small)");
  const Tensor y = conv2d(fetch(n.in[0], Rect{sy.a, sy.e, sx.a, sx.e}), c->weight, c->bias, s, p);
  if (sy.skip + r.h() > y.size(2) || sx.skip + r.w() > y.size(3))
    throw Error("tiled evaluation: a tile of " + describe(n) + " is not covered by its input rows");
  return crop(y, sy, sx, r.h(), r.w());
}

Tensor Evaluator::conv_t(const Node& n, const Rect& r) {
  const auto* c = static_cast<const ConvTranspose2d*>(n.layer);
  const Shape& in = node(n.in[0]).shape;
  const int64_t s = c->stride, p = c->padding, op = c->output_padding;
  // Output row o gets input row j through kernel tap o + p - j s, in [0, k): j from
  // ceil((o + p - k + 1) / s) to floor((o + p) / s). The local transposed convolution (no padding)
  // of rows j0 .. j1 puts input row j0's first tap at local row 0, i.e. output row j0 s - p. Its
  // output_padding rows hold the bias alone: the true output's last rows when j1 is the last input
  // row, and cropped away otherwise.
  auto span = [&](int64_t o0, int64_t o1, int64_t k, int64_t size) {
    Span sp;
    sp.a = std::max<int64_t>(0, std::min(ceil_div(o0 + p - k + 1, s), floor_div(o0 + p, s)));
    sp.e = std::min(size, floor_div(o1 - 1 + p, s) + 1);
    sp.skip = o0 + p - sp.a * s;
    return sp;
  };
  const Span sy = span(r.y0, r.y1, c->weight.size(2), in[2]), sx = span(r.x0, r.x1, c->weight.size(3), in[3]);
  if (sy.e <= sy.a || sx.e <= sx.a)
    throw Error("tiled evaluation: a tile of " + describe(n) + " reads no input (the tiles are too small)");
  const Tensor y =
      conv_transpose2d(fetch(n.in[0], Rect{sy.a, sy.e, sx.a, sx.e}), c->weight, c->bias, s, 0, op);
  if (sy.skip < 0 || sx.skip < 0 || sy.skip + r.h() > y.size(2) || sx.skip + r.w() > y.size(3))
    throw Error("tiled evaluation: a tile of " + describe(n) + " is not covered by its input rows");
  return crop(y, sy, sx, r.h(), r.w());
}

Tensor Evaluator::normalise(const Node& n, const Tensor& x) {
  if (!n.batch && x.device() == Device::CPU) {  // one pass, the instance-norm kernel's arithmetic
    const int64_t planes = x.size(0) * x.size(1), hw = x.size(2) * x.size(3);
    Tensor y = Tensor::empty(x.shape());  // (N, C, h, w)
    const float* xp = std::as_const(x).data<float>();
    float* yp = y.data<float>();
    const bool act = n.slope >= 0;
    const float slope = static_cast<float>(std::max(0.0, n.slope));
#pragma omp parallel for schedule(static) if (planes * hw > 32768)
    for (int64_t pl = 0; pl < planes; ++pl) {
      const float m = n.mean_h[static_cast<size_t>(pl)], r = n.scale_h[static_cast<size_t>(pl)];
      const float* a = xp + pl * hw;
      float* b = yp + pl * hw;
#pragma omp simd
      for (int64_t i = 0; i < hw; ++i) {
        const float v = (a[i] - m) * r;
        b[i] = !act || v > 0.0f ? v : slope * v;  // LeakyReLU (ReLU for slope 0)
      }
    }
    return y;
  }
  if (!n.batch) {
    const Tensor y = (x - n.mean) * n.scale;  // as the instance-norm kernel: (x - mean) * rstd
    if (n.slope < 0) return y;
    return n.slope == 0 ? relu(y) : leaky_relu(y, n.slope);
  }
  const auto* bn = static_cast<const BatchNorm2d*>(n.layer);
  return (x - n.mean) / n.scale * bn->weight + bn->bias;  // as ops/norm.cpp's batch norm
}

// ---- statistics: sums of (x - shift) and (x - shift)^2 in double, shift = the first tile's mean ----

// Per (n, c) plane, whichever norm reads the value (a batch norm's channel statistics are
// combined from them at the end, finish_stats). Each plane is summed by one thread in one order:
// the same numbers on every run.
void Evaluator::accumulate(Node& t, const Tensor& tile) {
  const int64_t planes = t.shape[0] * t.shape[1], P = tile.numel() / planes;  // P: values per plane
  const float* v = std::as_const(tile).data<float>();                         // (N, C, h, w)
  if (t.shift.empty()) {
    t.shift.assign(static_cast<size_t>(planes), 0.0);
    t.s1.assign(static_cast<size_t>(planes), 0.0);
    t.s2.assign(static_cast<size_t>(planes), 0.0);
    for (int64_t pl = 0; pl < planes; ++pl) {
      double m = 0;
      for (int64_t i = 0; i < P; ++i) m += v[pl * P + i];
      t.shift[static_cast<size_t>(pl)] = m / static_cast<double>(P);
    }
  }
#pragma omp parallel for schedule(static) if (planes * P > 32768)
  for (int64_t pl = 0; pl < planes; ++pl) {
    const float* x = v + pl * P;
    const double k = t.shift[static_cast<size_t>(pl)];
    double a = 0, b = 0;
#pragma omp simd reduction(+ : a, b)
    for (int64_t i = 0; i < P; ++i) {
      const double d = static_cast<double>(x[i]) - k;
      a += d;
      b += d * d;
    }
    t.s1[static_cast<size_t>(pl)] += a;
    t.s2[static_cast<size_t>(pl)] += b;
  }
  t.count += P;
}

// The normalisations that read node t get the whole value's statistics.
void Evaluator::finish_stats(int ti) {
  Node& t = node(ti);
  const int64_t N = t.shape[0], C = t.shape[1];
  const double cnt = static_cast<double>(t.count);
  std::vector<double> mean(t.s1.size()), m2(t.s1.size());  // per (n, c): mean, sum of squared deviations
  for (size_t g = 0; g < t.s1.size(); ++g) {
    const double m = t.s1[g] / cnt;
    mean[g] = t.shift[g] + m;
    m2[g] = std::max(0.0, t.s2[g] - m * t.s1[g]);
  }
  for (Node& n : g_.nodes) {
    if (n.op != Op::kNorm || n.in[0] != ti) continue;
    if (!n.batch) {
      std::vector<float> mf(mean.size()), rf(mean.size());
      for (size_t g = 0; g < mean.size(); ++g) {  // as the kernel: in double, then to float
        mf[g] = static_cast<float>(mean[g]);
        rf[g] = static_cast<float>(1.0 / std::sqrt(m2[g] / cnt + n.eps));
      }
      n.mean = Tensor::from_vector(mf, {N, C, 1, 1}).to(device_);
      n.scale = Tensor::from_vector(rf, {N, C, 1, 1}).to(device_);
      n.mean_h = std::move(mf);
      n.scale_h = std::move(rf);
      continue;
    }
    // a channel over the batch: the images' means and squared deviations combined (Chan et al.)
    std::vector<float> mc(static_cast<size_t>(C)), vc(static_cast<size_t>(C));  // mean, biased variance
    for (int64_t c = 0; c < C; ++c) {
      double mu = 0, ss = 0;
      for (int64_t i = 0; i < N; ++i) mu += mean[static_cast<size_t>(i * C + c)] / static_cast<double>(N);
      for (int64_t i = 0; i < N; ++i) {
        const double d = mean[static_cast<size_t>(i * C + c)] - mu;
        ss += m2[static_cast<size_t>(i * C + c)] + cnt * d * d;
      }
      mc[static_cast<size_t>(c)] = static_cast<float>(mu);
      vc[static_cast<size_t>(c)] = static_cast<float>(ss / (cnt * static_cast<double>(N)));
    }
    auto* bn = static_cast<BatchNorm2d*>(n.layer);
    const Tensor mu = Tensor::from_vector(mc, {C}).to(device_);
    const Tensor v = Tensor::from_vector(vc, {C}).to(device_);
    n.mean = mu;
    n.scale = sqrt(v + n.eps);
    if (bn->update_running_stats) {  // as ops/norm.cpp and BatchNorm2d::forward, once per call
      const double all = cnt * static_cast<double>(N), unbias = all / (all - 1.0), m = bn->momentum;
      copy_(bn->running_mean, bn->running_mean * (1.0 - m) + mu * m);
      copy_(bn->running_var, bn->running_var * (1.0 - m) + v * (m * unbias));
      copy_(bn->num_batches_tracked, bn->num_batches_tracked + 1.0);
    }
  }
}

// ---- dropout: ops/dropout.cpp's numbers, drawn whole in (N, C, H, W) order, kept as bits ----

void Evaluator::draw(Node& n) {
  const auto* d = static_cast<const Dropout*>(n.layer);
  const int64_t numel = shape_numel(n.shape);
  n.keep.assign(static_cast<size_t>((numel + 7) / 8), 0);
  n.drawn = true;
  if (d->p == 1) return;  // every element dropped, and nothing drawn
  Generator& g = d->gen ? *d->gen : default_generator(device_);
  for (int64_t i = 0; i < numel; ++i)
    if (!(g.uniform() < d->p)) n.keep[static_cast<size_t>(i >> 3)] |= static_cast<uint8_t>(1u << (i & 7));
}

Tensor Evaluator::mask(const Node& n, const Rect& r) {
  const double p = static_cast<const Dropout*>(n.layer)->p;
  const float scale = p == 1 ? 0.0f : static_cast<float>(1.0 / (1.0 - p));
  const int64_t N = n.shape[0], C = n.shape[1], H = n.shape[2], W = n.shape[3];
  Tensor m = Tensor::empty({N, C, r.h(), r.w()});  // (N, C, h, w) on the host
  float* out = m.data<float>();
  for (int64_t nc = 0; nc < N * C; ++nc)
    for (int64_t y = r.y0; y < r.y1; ++y)
      for (int64_t x = r.x0; x < r.x1; ++x) {
        const int64_t i = (nc * H + y) * W + x;
        *out++ = (n.keep[static_cast<size_t>(i >> 3)] >> (i & 7)) & 1 ? scale : 0.0f;
      }
  return m.to(device_);
}

}  // namespace

TiledPlan plan_tiled(Module& net, const Shape& x, const TiledOptions& opt) {
  return Evaluator(net, x, opt).summary();
}

Tensor tiled_forward(Module& net, const Tensor& x, const TiledOptions& opt) {
  Evaluator ev(net, x.shape(), opt);
  return ev.run(x);
}

}  // namespace cg::nn
