// A training step replayed as device graphs once its shapes repeat (CUDA graphs on cuda), written
// once for every model. The model writes its step as pieces of work; this decides, per step,
// whether they run eagerly, are captured, or are replayed:
//
//   - the first step of an input shape runs eagerly: it finds the cuDNN plans and creates Adam's
//     moments, which a capture must not do;
//   - the second is captured, piece by piece: each piece is recorded as one graph and launched;
//   - later steps of that shape replay the graphs. A step of another shape runs eagerly and leaves
//     the graphs for their own shape; parameters or optimizer moments at new addresses (the
//     "fingerprint") make the next step capture anew.
//
// What a piece reads from outside the graph goes through input(), which copies it into a buffer
// at a fixed address; what it writes is declared (the model's members it assigns, and the
// gradients of its optimizers' parameters), so that after a replay they are pointed at what the
// graph wrote. A capture that fails prints a warning and the step (and every later one) runs
// eagerly. On the CPU, in a build without CUDA, or when disabled, every step is eager: the model's
// step code is the same either way.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "nn/adam.h"
#include "tensor/tensor.h"

namespace cg::nn {

class CapturedStep {
 public:
  // Graphs are used on cuda, in a build with CUDA, unless CG_CUDA_GRAPHS=0 is set or the step is
  // not `graphable` (it draws random numbers on the host, as dropout does, so a replay would
  // repeat one draw).
  CapturedStep(Device device, bool graphable);
  ~CapturedStep();
  CapturedStep(const CapturedStep&) = delete;
  CapturedStep& operator=(const CapturedStep&) = delete;

  // Turns graphs off, or on (only where they can be used: cuda in a CUDA build), for the steps to
  // come.
  void set_enabled(bool on);
  bool enabled() const { return enabled_; }

  // Starts a step whose inputs have `shapes`; `fingerprint` holds every address the step's kernels
  // bake in (parameters, optimizer moments).
  void begin(const std::vector<Shape>& shapes, std::vector<const void*> fingerprint);
  // A tensor the next piece reads: while capturing or replaying, a buffer of the step's own with
  // its values; eagerly, the tensor itself. In a replay, a shape other than the captured one runs
  // the rest of the step eagerly (an image pool may hand back an image of an earlier size).
  Tensor input(const Tensor& t);
  // One piece: `body(capturing)` does the work; while capturing, each optimizer in `optimizers`
  // must queue its update (`update(opt, capturing)`) rather than step. `written`: the members the
  // body assigns.
  void run(const std::function<void(bool capturing)>& body, const std::vector<Adam*>& optimizers,
           const std::vector<Tensor*>& written);
  // Ends the step (a capture becomes the graphs later steps replay).
  void end();

  // An optimizer's update inside a piece: queued while capturing, a full step otherwise.
  static void update(Adam& opt, bool capturing) { capturing ? opt.queue_update() : opt.step(); }

  int replays() const { return replays_; }  // steps replayed from graphs so far
  bool failed() const { return failed_; }

  enum class Mode { Eager, Capture, Replay };
  Mode mode() const { return mode_; }

 private:
  struct Piece;
  struct Graphs;
  void fail(const std::exception& e);
  bool allowed_;  // cuda, in a build with CUDA
  bool enabled_;
  bool failed_ = false;
  int replays_ = 0;
  Mode mode_ = Mode::Eager;
  std::vector<Shape> warm_;               // the input shapes an eager step has run at
  std::unique_ptr<Graphs> graphs_;        // the captured step (complete once end() has run)
  std::unique_ptr<Graphs> capturing_;     // the step being captured
  std::vector<const void*> fingerprint_;  // this step's
  size_t next_input_ = 0, next_piece_ = 0;
  bool rest_eager_ = false;  // a replay fell back to eager for the rest of the step
};

}  // namespace cg::nn
