// The tape: how reverse-mode automatic differentiation works here, in one page.
//
// Every differentiable op computes its output, then calls record(): if gradients are wanted (grad
// mode on and some input requires_grad) a Record is made holding
//   - the op's name and a sequence number (its position on the tape: later ops get larger numbers),
//   - one Edge per input: where that input's gradient must go (the record that produced it, or the
//     leaf tensor whose .grad it accumulates into, or nowhere),
//   - the op's backward rule, a closure that owns exactly what the op saved for it.
// The output tensor points to its record (TensorImpl::record; PyTorch calls it grad_fn). The tape
// is therefore not one global list but the records reachable from a result; walking them by
// decreasing sequence number is walking the tape in reverse. Records nobody can reach any more (a
// result that was dropped) free themselves.
//
// backward(loss) seeds d(loss) = 1, visits the reachable records from the newest to the oldest,
// calls each one's rule with the gradient of its output, and *adds* what comes back into the
// gradient of each input (so a tensor used twice receives the sum). Then it frees the records it
// consumed (their saved tensors go), unless asked to keep them with retain_graph.
//
// Rules run with grad mode off: they use ordinary ops, and nothing they do is
// recorded (no second derivatives; CycleGAN needs none).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace cg {

// Grad mode is per thread, on by default.
bool grad_enabled();
void set_grad_enabled(bool on);

// Turns recording off for its scope (evaluation, optimizer updates, backward itself).
class NoGradGuard {
 public:
  NoGradGuard() : prev_(grad_enabled()) { set_grad_enabled(false); }
  ~NoGradGuard() { set_grad_enabled(prev_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool prev_;
};

// dy: the gradient of the op's output. need[i]: whether input i wants a gradient (skip the work if
// not). Returns one gradient per input, each of its input's shape, or an undefined Tensor.
using Rule = std::function<std::vector<Tensor>(const Tensor& dy, const std::vector<bool>& need)>;
// The names rules are written with: what a rule returns, and which gradients it is asked for.
using Grads = std::vector<Tensor>;
using Need = std::vector<bool>;

// One entry of the tape: an op that ran, and how to send its output's gradient to its inputs.
struct Record {
  struct Edge {
    std::shared_ptr<Record> record;    // the input was produced by this record...
    std::shared_ptr<TensorImpl> leaf;  // ...or is a leaf that wants .grad...
    Shape shape;                       // (...or neither: no gradient flows back)
    bool absent = false;               // the op was given no tensor here (a convolution without bias)
    bool wants_grad() const { return record || leaf; }
  };
  uint64_t seq = 0;
  const char* op = "";
  std::vector<Edge> inputs;
  Shape out_shape;                  // the shape of the output it records (for pictures of the tape)
  std::vector<Shape> saved_shapes;  // the shapes of the Saved tensors its rule holds
  Rule rule;                        // empty once consumed
  bool consumed = false;
};

// True when an op on these inputs must record itself.
bool needs_record(const std::vector<Tensor>& inputs);

// Records `op` as the producer of `out` if needs_record(inputs). Call it after computing `out`.
void record(const char* op, const std::vector<Tensor>& inputs, Tensor& out, Rule rule);

// A tensor an op keeps for its backward. It remembers the storage version at save time, and get()
// throws if anything wrote to the tensor in place since: a silent wrong gradient becomes an error.
class Saved {
 public:
  Saved() = default;
  Saved(const Tensor& t, const char* op);
  const Tensor& get() const;

 private:
  Tensor t_;  // detached: holding the output itself would make a cycle output -> node -> output
  uint64_t version_ = 0;
  const char* op_ = "";
};

// The reverse sweep (Tensor::backward calls this).
void backward(const Tensor& root, const Tensor& seed = Tensor(), bool retain_graph = false);

// The records reachable from `root`, newest first, one per line: for learning and debugging.
std::string tape_string(const Tensor& root);

// The same records as a Graphviz DOT graph: one box per record (op, output shape, saved tensors),
// one per leaf that receives a gradient, and an arrow from each input to the record that used it,
// in the direction the forward pass ran (backward sends gradients against the arrows).
// Render it with `dot -Tsvg FILE -o FILE.svg` (apps/autograd_demo --dot writes one).
std::string tape_dot(const Tensor& root);

}  // namespace cg
