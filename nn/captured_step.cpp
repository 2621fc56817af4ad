#include "nn/captured_step.h"

#include <cstdio>
#include <cstdlib>
#include <string>

#include "backend/device.h"  // graph capture
#include "ops/ops.h"

namespace cg::nn {

// One captured piece: its graph, and what it writes (kept as the capture left them).
struct CapturedStep::Piece {
  backend::Graph* graph = nullptr;
  std::vector<Tensor*> slots;                    // the members the body assigns
  std::vector<Tensor> kept;                      // what they held after the capture
  std::vector<std::pair<Tensor, Tensor>> grads;  // (parameter, the gradient the graph writes)
};

struct CapturedStep::Graphs {
  std::vector<Shape> shapes;
  std::vector<const void*> fingerprint;
  std::vector<Tensor> inputs;  // the buffers the pieces read, in input() order
  std::vector<Piece> pieces;
  ~Graphs() {
    for (Piece& p : pieces) backend::graph_destroy(p.graph);
  }
};

CapturedStep::CapturedStep(Device device, bool graphable)
    : allowed_(kHaveCuda && device == Device::CUDA), enabled_(allowed_ && graphable) {
  if (const char* env = std::getenv("CG_CUDA_GRAPHS"); env && std::string(env) == "0") enabled_ = false;
}

CapturedStep::~CapturedStep() = default;

void CapturedStep::set_enabled(bool on) {
  enabled_ = on && allowed_;
  if (!on) graphs_.reset();
}

void CapturedStep::begin(const std::vector<Shape>& shapes, std::vector<const void*> fingerprint) {
  mode_ = Mode::Eager;
  next_input_ = next_piece_ = 0;
  rest_eager_ = false;
  capturing_.reset();
  if (!enabled_ || failed_) return;
  if (graphs_ && graphs_->fingerprint != fingerprint) graphs_.reset();  // weights or moments moved
  if (graphs_) {
    if (shapes == graphs_->shapes) {
      mode_ = Mode::Replay;
      ++replays_;
    }
    return;  // another shape: eager, the graphs stay for their own
  }
  if (shapes != warm_) {  // the first step of a shape warms it up
    warm_ = shapes;
    return;
  }
  mode_ = Mode::Capture;
  capturing_ = std::make_unique<Graphs>();
  capturing_->shapes = shapes;
  capturing_->fingerprint = std::move(fingerprint);
}

Tensor CapturedStep::input(const Tensor& t) {
  if (mode_ == Mode::Eager || rest_eager_) return t;
  if (mode_ == Mode::Capture) {
    capturing_->inputs.push_back(t.detach().clone());
    return capturing_->inputs.back();
  }
  if (next_input_ >= graphs_->inputs.size() || graphs_->inputs[next_input_].shape() != t.shape()) {
    rest_eager_ = true;
    return t;
  }
  Tensor& buffer = graphs_->inputs[next_input_++];
  copy_(buffer, t.detach());
  return buffer;
}

void CapturedStep::fail(const std::exception& e) {
  failed_ = true;
  std::fprintf(stderr,
               "warning: capturing the training step as CUDA graphs failed (%s); training on without them\n",
               e.what());
}

void CapturedStep::run(const std::function<void(bool)>& body, const std::vector<Adam*>& optimizers,
                       const std::vector<Tensor*>& written) {
  if (allowed_) {
    if (mode_ == Mode::Capture) {
      Piece p;
      p.graph = backend::graph_capture_begin();
      try {
        body(true);  // records the kernels without running them
        backend::graph_capture_end(p.graph);
      } catch (const std::exception& e) {
        backend::graph_capture_abort(p.graph);
        fail(e);
        // The pieces captured so far stay alive until the step ends (the model's members point
        // into their memory); this one and the rest run eagerly.
        mode_ = Mode::Eager;
        body(false);
        return;
      }
      for (Adam* o : optimizers) o->prepare_update();
      backend::graph_launch(p.graph);
      p.slots = written;
      for (Tensor* slot : written) p.kept.push_back(*slot);
      for (Adam* o : optimizers)
        for (const Tensor& param : o->params()) p.grads.emplace_back(param, param.grad());
      capturing_->pieces.push_back(std::move(p));
      return;
    }
    if (mode_ == Mode::Replay && !rest_eager_) {
      if (next_piece_ >= graphs_->pieces.size())
        throw Error("CapturedStep: more pieces run than were captured (" +
                    std::to_string(graphs_->pieces.size()) + ")");
      const Piece& p = graphs_->pieces[next_piece_++];
      // The gradients first: an eager step in between may have replaced them, and the optimizers
      // pick the parameters to update by whether they have one.
      for (const auto& [param, grad] : p.grads) {
        Tensor q = param;
        q.set_grad(grad);
      }
      for (Adam* o : optimizers) o->prepare_update();
      backend::graph_launch(p.graph);
      for (size_t i = 0; i < p.slots.size(); ++i) *p.slots[i] = p.kept[i];
      return;
    }
  }
  (void)optimizers;
  (void)written;
  body(false);
}

void CapturedStep::end() {
  if (mode_ == Mode::Capture && capturing_ && !failed_) graphs_ = std::move(capturing_);
  capturing_.reset();
  mode_ = Mode::Eager;
}

}  // namespace cg::nn
