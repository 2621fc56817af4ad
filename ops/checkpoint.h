// Activation checkpointing (PyTorch's torch.utils.checkpoint with preserve_rng_state): a part of a
// network whose intermediate values are not kept for backward but computed again when backward
// reaches it, trading time for memory at high resolution.
#pragma once

#include <functional>
#include <vector>

#include "tensor/tensor.h"

namespace cg {

// y = f(x), run without recording, so that none of f's intermediate tensors outlives it. One
// record stands for all of f: it keeps x (and the state of x's device's default generator), and
// its backward runs f on x again with recording on, then backward through that from dy, and
// returns the gradients of x and of `params`: the leaves f reads (a module's parameters; their
// .grad is set aside while the rerun's backward fills it, so each comes back as this record's
// gradient and is summed into .grad where the plain call's would be). The generator is put back
// to its state at the forward pass before f runs again, and forward again after, so a dropout
// inside f draws the same mask both times. `state`: tensors f writes in place as a side effect
// (batch norm's running statistics and count): their values are saved before the rerun and
// written back after it, so that f's two runs update them once. On the CPU the rerun computes
// the forward's numbers bit for bit, so every gradient equals the plain f's.
// Without any input needing a gradient (grad mode off, or nothing requires_grad) it is f(x).
Tensor checkpoint(const std::function<Tensor(const Tensor&)>& f, const Tensor& x,
                  const std::vector<Tensor>& params, const std::vector<Tensor>& state = {});

}  // namespace cg
