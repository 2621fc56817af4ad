// Internal to cuda/: the choice of a cuDNN convolution plan per shape and direction (the engine
// search of cuda/conv_plans.cpp) and running it; cuda/conv2d.cpp's kernels use it.
#pragma once

#include <cudnn.h>

#include <memory>
#include <string>

#include "backend/types.h"

namespace cg::cuda::conv {

std::string geom_str(const kern::ConvGeom& g);
void cudnn_check(cudnnStatus_t st, const char* what, const kern::ConvGeom* g);
// Every cuDNN call goes through this: a failure becomes a cg::Error naming the call and the shapes.
#define CG_CUDNN(call, g) ::cg::cuda::conv::cudnn_check((call), #call, (g))

cudnnHandle_t handle();  // on the framework's stream

enum class Dir { Fwd, BwdData, BwdFilter };

struct Desc;  // a cuDNN backend descriptor (conv_plans.cpp)
struct Plan {
  std::shared_ptr<Desc> exec;  // graph API
  int legacy_algo = -1;
  cudnnMathType_t legacy_math = CUDNN_DEFAULT_MATH;
  int64_t workspace = 0;
  // Legacy descriptors: for the legacy fallback and for the bias add / bias gradient.
  cudnnTensorDescriptor_t x = nullptr, y = nullptr, bias = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
};

// The plan for (g, dir); on first sight, measured on the real buffers (x or dx, w or dw, y or dy).
const Plan& plan(Dir dir, const kern::ConvGeom& g, void* x, void* w, void* y);
// Runs it: y = conv(x, w), dx = conv^T(dy, w) or dw = the weight gradient, by direction.
void run(Dir dir, const Plan& p, const kern::ConvGeom& g, const void* x, const void* w, const void* y);

}  // namespace cg::cuda::conv
