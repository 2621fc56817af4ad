#include "autograd/tape.h"

#include <algorithm>
#include <atomic>
#include <sstream>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "backend/dispatch.h"

namespace cg {

namespace {
thread_local bool t_grad_enabled = true;
std::atomic<uint64_t> g_next_seq{1};
}  // namespace

bool grad_enabled() { return t_grad_enabled; }
void set_grad_enabled(bool on) { t_grad_enabled = on; }

bool needs_record(const std::vector<Tensor>& inputs) {
  if (!t_grad_enabled) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

// The shapes of the Saved tensors made since the last record() on this thread: an op builds its
// Saved tensors (in its backward closure) just before it calls record(), which takes them.
static thread_local std::vector<Shape> t_saved_since_record;

void record(const char* op, const std::vector<Tensor>& inputs, Tensor& out, Rule rule) {
  std::vector<Shape> saved = std::move(t_saved_since_record);
  t_saved_since_record.clear();
  if (!needs_record(inputs)) return;
  auto rec = std::make_shared<Record>();
  rec->seq = g_next_seq++;
  rec->op = op;
  rec->rule = std::move(rule);
  rec->out_shape = out.shape();
  rec->saved_shapes = std::move(saved);
  rec->inputs.reserve(inputs.size());
  for (const Tensor& t : inputs) {
    Record::Edge e;
    e.absent = !t.defined();
    if (t.defined()) {
      e.shape = t.shape();
      if (t.impl()->record)
        e.record = t.impl()->record;
      else if (t.requires_grad())
        e.leaf = t.impl_ptr();
    }
    rec->inputs.push_back(std::move(e));
  }
  out.impl()->record = std::move(rec);
  out.impl()->requires_grad = true;
}

Saved::Saved(const Tensor& t, const char* op)
    : t_(t.defined() ? t.detach() : Tensor()),
      version_(t.defined() ? t.impl()->storage->version : 0),
      op_(op) {
  if (t.defined()) t_saved_since_record.push_back(t.shape());
}

const Tensor& Saved::get() const {
  if (t_.defined() && t_.impl()->storage->version != version_)
    throw Error(std::string("backward of '") + op_ + "': a tensor it saved (" + t_.describe() +
                ") was modified in place after the forward pass (version " +
                std::to_string(t_.impl()->storage->version) + ", saved at " + std::to_string(version_) + ")");
  return t_;
}

// Every record reachable from `root`, newest (largest seq) first.
static std::vector<Record*> reachable_newest_first(Record* root) {
  std::vector<Record*> order, stack{root};
  std::unordered_set<Record*> seen{root};
  while (!stack.empty()) {
    Record* n = stack.back();
    stack.pop_back();
    order.push_back(n);
    for (const Record::Edge& e : n->inputs)
      if (e.record && seen.insert(e.record.get()).second) stack.push_back(e.record.get());
  }
  // An input is always recorded before the op that reads it, so by decreasing seq every record
  // runs after all the records that consume its output: its gradient is complete when it runs.
  std::sort(order.begin(), order.end(), [](Record* a, Record* b) { return a->seq > b->seq; });
  return order;
}

// True when nothing but `t` holds its memory: no other handle, no view of the same storage.
static bool sole_owner(const Tensor& t) {
  return t.impl_ptr().use_count() == 1 && t.impl()->storage.use_count() == 1;
}

// The one way gradients are summed, into a record's pending output gradient and into a leaf's
// .grad alike. The first contribution is adopted as it is when nothing else holds its memory, and
// copied when something does (add's backward hands one dy to both of its inputs); every later one
// is added to the sum in place. So a sum never shares memory with another tensor when it is
// written, and a leaf's .grad is its own (optimizers and users may update it in place).
static void accumulate(Tensor& sum, Tensor g) {
  if (!sum.defined()) {
    sum = sole_owner(g) ? std::move(g) : g.detach().clone();
    return;
  }
  CG_KERNEL(sum.device(), axpy, sum.dtype(), 1.0, std::as_const(g).raw(), sum.raw(), sum.numel());
  sum.bump_version();
}

static void accumulate_leaf(TensorImpl& leaf, Tensor g) {
  Tensor grad(std::move(leaf.grad));  // taken out of the leaf, so sole_owner() counts only others
  accumulate(grad, std::move(g));
  leaf.grad = grad.impl_ptr();
}

void backward(const Tensor& root, const Tensor& seed, bool retain_graph) {
  if (!root.defined()) throw Error("backward() on an undefined tensor");
  if (!root.requires_grad())
    throw Error("backward() on " + root.describe() +
                ", which does not require grad: no input of the computation had requires_grad, "
                "or it ran under NoGradGuard");
  Tensor droot = seed;
  if (!droot.defined()) {
    if (root.numel() != 1)
      throw Error("backward() without a seed needs a one-element result, got " + root.describe());
    droot = Tensor::ones(root.shape(), root.dtype(), root.device());
  } else if (droot.shape() != root.shape() || droot.dtype() != root.dtype() ||
             droot.device() != root.device()) {
    // caught here, where both are known: a float32 seed into a float64 graph would otherwise fail
    // inside the first rule, naming neither the seed nor the result
    throw Error("backward(): seed " + droot.describe() + " does not match result " + root.describe() +
                " (a seed must have the result's shape, dtype and device)");
  }
  NoGradGuard no_grad;
  if (root.is_leaf()) {
    accumulate_leaf(*root.impl(), droot);
    return;
  }
  Record* top = root.impl()->record.get();
  const std::vector<Record*> order = reachable_newest_first(top);
  std::unordered_map<Record*, Tensor> pending;  // gradient of each record's output, summed so far
  pending[top] = droot;

  for (Record* rec : order) {
    auto it = pending.find(rec);
    if (it == pending.end()) continue;  // no gradient reached it (every path returned nothing)
    Tensor dy = std::move(it->second);
    pending.erase(it);
    if (rec->consumed)
      throw Error(std::string("backward through '") + rec->op +
                  "' a second time: its saved tensors were freed by the first backward(); pass "
                  "retain_graph=true to the first call if you need two");
    std::vector<bool> need(rec->inputs.size());
    for (size_t i = 0; i < need.size(); ++i) need[i] = rec->inputs[i].wants_grad();
    std::vector<Tensor> grads = rec->rule(dy, need);
    dy = Tensor();  // a gradient that is dy itself (or a view of it) is now held by `grads` alone
    if (grads.size() != rec->inputs.size())
      throw Error(std::string("backward of '") + rec->op + "' returned " + std::to_string(grads.size()) +
                  " gradients for " + std::to_string(rec->inputs.size()) + " inputs");
    for (size_t i = 0; i < grads.size(); ++i) {
      const Record::Edge& e = rec->inputs[i];
      Tensor g = std::move(grads[i]);
      if (!e.wants_grad() || !g.defined()) continue;
      if (g.shape() != e.shape)
        throw Error(std::string("backward of '") + rec->op + "' returned a gradient of shape " +
                    shape_str(g.shape()) + " for input " + std::to_string(i) + " of shape " +
                    shape_str(e.shape));
      if (e.record)
        accumulate(pending[e.record.get()], std::move(g));
      else
        accumulate_leaf(*e.leaf, std::move(g));
    }
    if (!retain_graph) {
      rec->rule = nullptr;  // frees what the op saved
      rec->consumed = true;
    }
  }
}

// The entry users call: loss.backward().
void Tensor::backward(const Tensor& seed, bool retain_graph) const {
  cg::backward(*this, seed, retain_graph);
}

std::string tape_string(const Tensor& root) {
  if (!root.defined() || !root.impl()->record) return "(no records: a leaf or an untracked result)\n";
  std::ostringstream os;
  for (Record* n : reachable_newest_first(root.impl()->record.get())) {
    os << "#" << n->seq << " " << n->op << "(";
    for (size_t i = 0; i < n->inputs.size(); ++i) {
      const Record::Edge& e = n->inputs[i];
      os << (i ? ", " : "");
      if (e.absent) {
        os << "none";
        continue;
      }
      os << shape_str(e.shape);
      if (e.record)
        os << " from #" << e.record->seq;
      else if (e.leaf)
        os << " leaf";
      else
        os << " const";
    }
    os << ")" << (n->consumed ? " [consumed]" : "") << "\n";
  }
  return os.str();
}

std::string tape_dot(const Tensor& root) {
  std::ostringstream os;
  os << "digraph tape {\n  rankdir=BT;\n  node [shape=box, fontname=\"monospace\", fontsize=10];\n";
  if (root.defined() && root.impl()->record) {
    std::unordered_map<const TensorImpl*, int> leaves;  // each leaf drawn once
    for (Record* n : reachable_newest_first(root.impl()->record.get())) {
      os << "  n" << n->seq << " [label=\"#" << n->seq << " " << n->op << "\\nout "
         << shape_str(n->out_shape);
      if (!n->saved_shapes.empty()) {
        os << "\\nsaved";
        for (const Shape& s : n->saved_shapes) os << " " << shape_str(s);
      }
      os << "\"];\n";
      for (size_t i = 0; i < n->inputs.size(); ++i) {
        const Record::Edge& e = n->inputs[i];
        if (e.record) {
          os << "  n" << e.record->seq << " -> n" << n->seq << ";\n";
        } else if (e.leaf) {
          auto [it, fresh] = leaves.emplace(e.leaf.get(), static_cast<int>(leaves.size()));
          if (fresh)
            os << "  leaf" << it->second << " [shape=ellipse, label=\"leaf " << shape_str(e.shape)
               << "\\n(gets .grad)\"];\n";
          os << "  leaf" << it->second << " -> n" << n->seq << ";\n";
        }
      }
    }
  }
  os << "}\n";
  return os.str();
}

}  // namespace cg
