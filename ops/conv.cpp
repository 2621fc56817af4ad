// conv2d and conv_transpose2d. The transposed convolution is the convolution run backwards: its
// forward is a convolution's backward-data, its backward-data is a convolution's forward, and its
// weight gradient is a convolution's weight gradient with the roles of input and output swapped.
// So three kernels per backend serve both ops, and the transposed one never multiplies by the
// zeros a "dilate then convolve" implementation would insert.
#include "ops/conv.h"

#include "autograd/tape.h"
#include "backend/dispatch.h"
#include "ops/elementwise.h"
#include "ops/reduce.h"

namespace cg {

static void check_conv_inputs(const char* op, const Tensor& x, const Tensor& w, const Tensor& b,
                              int64_t bias_len) {
  if (x.ndim() != 4 || w.ndim() != 4)
    throw Error(std::string(op) + ": expected a 4-D input and a 4-D weight, got input " + x.describe() +
                " and weight " + w.describe());
  if (b.defined()) {
    check_same_device(op, {&x, &w, &b});
    check_same_dtype(op, {&x, &w, &b});
    if (b.ndim() != 1 || b.size(0) != bias_len)
      throw Error(std::string(op) + ": bias " + b.describe() + " should have shape [" +
                  std::to_string(bias_len) + "] for weight " + shape_str(w.shape()));
  } else {
    check_same_device(op, {&x, &w});
    check_same_dtype(op, {&x, &w});
  }
}

// Adds b (K) to every (n, k) plane of y (N, K, ...), in place.
static void add_channel_bias(Tensor& y, const Tensor& b) {
  kern::Indexer ix;
  ix.nd = 3;
  ix.shape[0] = y.size(0);
  ix.shape[1] = y.size(1);
  ix.shape[2] = y.numel() / (y.size(0) * y.size(1));
  ix.stride_a[0] = ix.shape[1] * ix.shape[2];
  ix.stride_a[1] = ix.shape[2];
  ix.stride_a[2] = 1;
  ix.stride_b[0] = 0;
  ix.stride_b[1] = 1;
  ix.stride_b[2] = 0;
  CG_KERNEL(y.device(), binary, kern::Binary::Add, y.dtype(), y.raw(), b.raw(), y.raw(), ix);
}

// ---- bfloat16 autocast (--amp) ----
static thread_local bool t_bf16_autocast = false;
Bf16Autocast::Bf16Autocast(bool on) : prev_(t_bf16_autocast) { t_bf16_autocast = on; }
Bf16Autocast::~Bf16Autocast() { t_bf16_autocast = prev_; }
bool bf16_autocast_enabled() { return t_bf16_autocast; }

// Runs conv(x, w, b) on bfloat16-rounded operands when autocast applies to them; each rounding is
// a recorded op, so the backward pass rounds the gradients where the forward rounded the values.
template <class Conv>
static Tensor autocast(const Tensor& x, const Tensor& w, const Tensor& b, Conv conv) {
  if (!t_bf16_autocast || x.dtype() != DType::F32) return conv(x, w, b);
  return round_bf16(conv(round_bf16(x), round_bf16(w), b.defined() ? round_bf16(b) : b));
}

// ---- conv2d ----
static Tensor conv2d_exact(const Tensor& x, const Tensor& w, const Tensor& b, int64_t stride,
                           int64_t padding);

Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& b, int64_t stride, int64_t padding) {
  return autocast(x, w, b, [&](const Tensor& xa, const Tensor& wa, const Tensor& ba) {
    return conv2d_exact(xa, wa, ba, stride, padding);
  });
}

static Tensor conv2d_exact(const Tensor& x, const Tensor& w, const Tensor& b, int64_t stride,
                           int64_t padding) {
  check_conv_inputs("conv2d", x, w, b, w.ndim() == 4 ? w.size(0) : 0);
  kern::ConvGeom g{x.size(0), x.size(1), x.size(2), x.size(3), w.size(0),
                   w.size(2), w.size(3), stride,    padding};
  if (w.size(1) != g.C)
    throw Error("conv2d: input " + x.describe() + " has " + std::to_string(g.C) + " channels but weight " +
                shape_str(w.shape()) + " expects " + std::to_string(w.size(1)));
  if (stride < 1 || padding < 0) throw Error("conv2d: stride must be >= 1 and padding >= 0");
  g.P = (g.H + 2 * padding - g.R) / stride + 1;
  g.Q = (g.W + 2 * padding - g.S) / stride + 1;
  if (g.H + 2 * padding < g.R || g.W + 2 * padding < g.S)
    throw Error("conv2d: kernel " + shape_str(w.shape()) + " is larger than the padded input " +
                x.describe() + " (padding " + std::to_string(padding) + ")");
  Tensor y = Tensor::empty({g.N, g.K, g.P, g.Q}, x.dtype(), x.device());
  CG_KERNEL(x.device(), conv2d_forward, x.dtype(), x.raw(), w.raw(), b.defined() ? b.raw() : nullptr, y.raw(),
            g);

  record("conv2d", {x, w, b}, y,
         [xs = Saved(x, "conv2d"), ws = Saved(w, "conv2d"), g](const Tensor& dy, const Need& need) {
           const Tensor &xv = xs.get(), &wv = ws.get();
           Tensor dx, dw, db;
           if (need[0]) {
             dx = Tensor::empty(xv.shape(), xv.dtype(), xv.device());
             CG_KERNEL(dy.device(), conv2d_backward_data, dy.dtype(), dy.raw(), wv.raw(), dx.raw(), g);
           }
           if (need[1]) {
             dw = Tensor::empty(wv.shape(), wv.dtype(), wv.device());
             if (need[2]) db = Tensor::empty({g.K}, wv.dtype(), wv.device());
             CG_KERNEL(dy.device(), conv2d_backward_weight, dy.dtype(), xv.raw(), dy.raw(), dw.raw(),
                       need[2] ? db.raw() : nullptr, g);
           } else if (need[2]) {
             db = sum(dy, {0, 2, 3});
           }
           return Grads{dx, dw, db};
         });
  return y;
}

// ---- conv_transpose2d ----
static Tensor conv_transpose2d_exact(const Tensor& x, const Tensor& w, const Tensor& b, int64_t stride,
                                     int64_t padding, int64_t output_padding);

Tensor conv_transpose2d(const Tensor& x, const Tensor& w, const Tensor& b, int64_t stride, int64_t padding,
                        int64_t output_padding) {
  return autocast(x, w, b, [&](const Tensor& xa, const Tensor& wa, const Tensor& ba) {
    return conv_transpose2d_exact(xa, wa, ba, stride, padding, output_padding);
  });
}

static Tensor conv_transpose2d_exact(const Tensor& x, const Tensor& w, const Tensor& b, int64_t stride,
                                     int64_t padding, int64_t output_padding) {
  check_conv_inputs("conv_transpose2d", x, w, b, w.ndim() == 4 ? w.size(1) : 0);
  if (w.size(0) != x.size(1))
    throw Error("conv_transpose2d: input " + x.describe() + " has " + std::to_string(x.size(1)) +
                " channels but weight " + shape_str(w.shape()) + " (in, out, kh, kw) expects " +
                std::to_string(w.size(0)));
  if (stride < 1 || padding < 0 || output_padding < 0 || output_padding >= stride)
    throw Error(
        "conv_transpose2d: need stride >= 1, padding >= 0 and 0 <= output_padding < stride (got stride " +
        std::to_string(stride) + ", output_padding " + std::to_string(output_padding) + ")");
  const int64_t Ho = (x.size(2) - 1) * stride - 2 * padding + w.size(2) + output_padding;
  const int64_t Wo = (x.size(3) - 1) * stride - 2 * padding + w.size(3) + output_padding;
  if (Ho <= 0 || Wo <= 0)
    throw Error("conv_transpose2d: output of input " + x.describe() + " with weight " + shape_str(w.shape()) +
                " would be empty");
  // The convolution this op transposes: input = our output y, output = our input x.
  const kern::ConvGeom g{x.size(0), w.size(1), Ho,      Wo,        w.size(0), w.size(2),
                         w.size(3), stride,    padding, x.size(2), x.size(3)};
  Tensor y = Tensor::empty({g.N, g.C, Ho, Wo}, x.dtype(), x.device());
  CG_KERNEL(x.device(), conv2d_backward_data, x.dtype(), x.raw(), w.raw(), y.raw(), g);
  if (b.defined()) add_channel_bias(y, b);

  record("conv_transpose2d", {x, w, b}, y,
         [xs = Saved(x, "conv_transpose2d"), ws = Saved(w, "conv_transpose2d"), g](const Tensor& dy,
                                                                                   const Need& need) {
           const Tensor &xv = xs.get(), &wv = ws.get();
           Tensor dx, dw, db;
           if (need[0]) {
             dx = Tensor::empty(xv.shape(), xv.dtype(), xv.device());
             CG_KERNEL(dy.device(), conv2d_forward, dy.dtype(), dy.raw(), wv.raw(), nullptr, dx.raw(), g);
           }
           if (need[1]) {
             dw = Tensor::empty(wv.shape(), wv.dtype(), wv.device());
             CG_KERNEL(dy.device(), conv2d_backward_weight, dy.dtype(), dy.raw(), xv.raw(), dw.raw(), nullptr,
                       g);
           }
           if (need[2]) db = sum(dy, {0, 2, 3});
           return Grads{dx, dw, db};
         });
  return y;
}

}  // namespace cg
