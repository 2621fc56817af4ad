// depthwise_conv2d and depthwise_conv_transpose2d: as for conv2d (ops/conv.cpp), the transposed
// op is the convolution run backwards, so three kernels per backend serve both.
#include "ops/depthwise_conv.h"

#include "autograd/tape.h"
#include "backend/dispatch.h"
#include "ops/conv.h"
#include "ops/elementwise.h"

namespace cg {

static void check_depthwise_inputs(const char* op, const Tensor& x, const Tensor& w) {
  check_same_device(op, {&x, &w});
  check_same_dtype(op, {&x, &w});
  if (x.ndim() != 4 || w.ndim() != 4 || w.size(0) != x.size(1) || w.size(1) != 1)
    throw Error(std::string(op) +
                ": expected input (N, C, H, W) and weight (C, 1, R, S) with the same C, got " + "input " +
                x.describe() + " and weight " + shape_str(w.shape()));
}

// --amp: the convolutions' policy (ops/conv.h), each rounding a recorded op.
template <class Conv>
static Tensor autocast(const Tensor& x, const Tensor& w, Conv conv) {
  if (!bf16_autocast_enabled() || x.dtype() != DType::F32) return conv(x, w);
  return round_bf16(conv(round_bf16(x), round_bf16(w)));
}

// ---- depthwise_conv2d: dx is the transposed convolution of dy, dw sums dy x over the batch ----
static Tensor depthwise_exact(const Tensor& x, const Tensor& w, int64_t stride, int64_t padding) {
  check_depthwise_inputs("depthwise_conv2d", x, w);
  if (stride < 1 || padding < 0) throw Error("depthwise_conv2d: stride must be >= 1 and padding >= 0");
  kern::ConvGeom g{x.size(0), x.size(1), x.size(2), x.size(3), x.size(1),
                   w.size(2), w.size(3), stride,    padding};
  if (g.H + 2 * padding < g.R || g.W + 2 * padding < g.S)
    throw Error("depthwise_conv2d: kernel " + shape_str(w.shape()) + " is larger than the padded input " +
                x.describe() + " (padding " + std::to_string(padding) + ")");
  g.P = (g.H + 2 * padding - g.R) / stride + 1;
  g.Q = (g.W + 2 * padding - g.S) / stride + 1;
  Tensor y = Tensor::empty({g.N, g.C, g.P, g.Q}, x.dtype(), x.device());  // (N, C, P, Q)
  CG_KERNEL(x.device(), depthwise_conv2d_forward, x.dtype(), x.raw(), w.raw(), y.raw(), g);
  record("depthwise_conv2d", {x, w}, y,
         [xs = Saved(x, "depthwise_conv2d"), ws = Saved(w, "depthwise_conv2d"), g](const Tensor& dy,
                                                                                   const Need& need) {
           const Tensor &xv = xs.get(), &wv = ws.get();
           Tensor dx, dw;
           if (need[0]) {
             dx = Tensor::empty(xv.shape(), dy.dtype(), dy.device());  // (N, C, H, W)
             CG_KERNEL(dy.device(), depthwise_conv2d_backward_data, dy.dtype(), dy.raw(), wv.raw(), dx.raw(),
                       g);
           }
           if (need[1]) {
             dw = Tensor::empty(wv.shape(), dy.dtype(), dy.device());  // (C, 1, R, S)
             CG_KERNEL(dy.device(), depthwise_conv2d_backward_weight, dy.dtype(), xv.raw(), dy.raw(),
                       dw.raw(), g);
           }
           return Grads{dx, dw};
         });
  return y;
}

Tensor depthwise_conv2d(const Tensor& x, const Tensor& w, int64_t stride, int64_t padding) {
  return autocast(
      x, w, [&](const Tensor& xa, const Tensor& wa) { return depthwise_exact(xa, wa, stride, padding); });
}

// ---- depthwise_conv_transpose2d: dx is the convolution of dy, dw the convolution's dw with x and
// dy in each other's roles ----
static Tensor depthwise_transpose_exact(const Tensor& x, const Tensor& w, int64_t stride, int64_t padding,
                                        int64_t output_padding) {
  check_depthwise_inputs("depthwise_conv_transpose2d", x, w);
  if (stride < 1 || padding < 0 || output_padding < 0 || output_padding >= stride)
    throw Error(
        "depthwise_conv_transpose2d: need stride >= 1, padding >= 0 and 0 <= output_padding < stride (got "
        "stride " +
        std::to_string(stride) + ", padding " + std::to_string(padding) + ", output_padding " +
        std::to_string(output_padding) + ")");
  const int64_t Ho = (x.size(2) - 1) * stride - 2 * padding + w.size(2) + output_padding;
  const int64_t Wo = (x.size(3) - 1) * stride - 2 * padding + w.size(3) + output_padding;
  if (Ho <= 0 || Wo <= 0)
    throw Error("depthwise_conv_transpose2d: output of input " + x.describe() + " with weight " +
                shape_str(w.shape()) + " and padding " + std::to_string(padding) + " would be empty");
  // The convolution this op transposes: its input is our output y, its output our input x.
  const kern::ConvGeom g{x.size(0), x.size(1), Ho,      Wo,        x.size(1), w.size(2),
                         w.size(3), stride,    padding, x.size(2), x.size(3)};
  Tensor y = Tensor::empty({g.N, g.C, Ho, Wo}, x.dtype(), x.device());  // (N, C, Ho, Wo)
  CG_KERNEL(x.device(), depthwise_conv2d_backward_data, x.dtype(), x.raw(), w.raw(), y.raw(), g);
  record("depthwise_conv_transpose2d", {x, w}, y,
         [xs = Saved(x, "depthwise_conv_transpose2d"), ws = Saved(w, "depthwise_conv_transpose2d"), g](
             const Tensor& dy, const Need& need) {
           const Tensor &xv = xs.get(), &wv = ws.get();
           Tensor dx, dw;
           if (need[0]) {
             dx = Tensor::empty(xv.shape(), dy.dtype(), dy.device());  // (N, C, H, W)
             CG_KERNEL(dy.device(), depthwise_conv2d_forward, dy.dtype(), dy.raw(), wv.raw(), dx.raw(), g);
           }
           if (need[1]) {
             dw = Tensor::empty(wv.shape(), dy.dtype(), dy.device());  // (C, 1, R, S)
             CG_KERNEL(dy.device(), depthwise_conv2d_backward_weight, dy.dtype(), dy.raw(), xv.raw(),
                       dw.raw(), g);
           }
           return Grads{dx, dw};
         });
  return y;
}

Tensor depthwise_conv_transpose2d(const Tensor& x, const Tensor& w, int64_t stride, int64_t padding,
                                  int64_t output_padding) {
  return autocast(x, w, [&](const Tensor& xa, const Tensor& wa) {
    return depthwise_transpose_exact(xa, wa, stride, padding, output_padding);
  });
}

}  // namespace cg
