// Convolutions on the GPU: cuDNN runs the plan chosen for each shape and direction
// (cuda/conv_plans.cpp), and adds the bias or its gradient.
#include <cudnn.h>

#include "cuda/conv_plans.h"
#include "cuda/kernels.h"
#include "cuda/runtime.h"

namespace cg::cuda {

using conv::Dir;
using conv::handle;
using conv::Plan;
using conv::plan;
using conv::run;

void conv2d_forward(DType dt, const void* x, const void* w, const void* b, void* y, const kern::ConvGeom& g) {
  require_f32(dt, "conv2d_forward");
  const Plan& p = plan(Dir::Fwd, g, const_cast<void*>(x), const_cast<void*>(w), y);
  run(Dir::Fwd, p, g, x, w, y);
  const float one = 1.f;
  if (b) CG_CUDNN(cudnnAddTensor(handle(), &one, p.bias, b, &one, p.y, y), &g);
}

void conv2d_backward_data(DType dt, const void* dy, const void* w, void* dx, const kern::ConvGeom& g) {
  require_f32(dt, "conv2d_backward_data");
  const Plan& p = plan(Dir::BwdData, g, dx, const_cast<void*>(w), const_cast<void*>(dy));
  run(Dir::BwdData, p, g, dx, w, dy);
}

void conv2d_backward_weight(DType dt, const void* x, const void* dy, void* dw, void* db,
                            const kern::ConvGeom& g) {
  require_f32(dt, "conv2d_backward_weight");
  const Plan& p = plan(Dir::BwdFilter, g, const_cast<void*>(x), dw, const_cast<void*>(dy));
  run(Dir::BwdFilter, p, g, x, dw, dy);
  const float one = 1.f, zero = 0.f;
  if (db) CG_CUDNN(cudnnConvolutionBackwardBias(handle(), &one, p.y, dy, &zero, p.bias, db), &g);
}

}  // namespace cg::cuda
