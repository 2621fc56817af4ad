// Elementwise ops. Binary ops broadcast as NumPy does, with one addition for biases: a 1-D (C)
// tensor against a 4-D (N, C, H, W) one is read as (1, C, 1, 1), i.e. per channel (it wins even
// when W == C). Derivatives at kinks: relu'(0) = 0 and abs'(0) = 0, as in PyTorch.
#pragma once

#include "tensor/tensor.h"

namespace cg {

namespace detail {
// The broadcast shape of a and b under the rules above; throws naming both shapes.
Shape broadcast_shape(const char* op, const Tensor& a, const Tensor& b);
// The unary op of a row of backend/elementwise_table.h, recorded with the row's backward.
Tensor unary(kern::Unary op, const Tensor& x, double alpha = 0);
}  // namespace detail

Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);

// The unary ops: each is a row of backend/elementwise_table.h (its math and its backward rule).
inline Tensor neg(const Tensor& x) { return detail::unary(kern::Unary::Neg, x); }
inline Tensor add_scalar(const Tensor& x, double s) { return detail::unary(kern::Unary::AddScalar, x, s); }
inline Tensor mul_scalar(const Tensor& x, double s) { return detail::unary(kern::Unary::MulScalar, x, s); }
inline Tensor abs(const Tensor& x) { return detail::unary(kern::Unary::Abs, x); }
inline Tensor square(const Tensor& x) { return detail::unary(kern::Unary::Square, x); }
inline Tensor sqrt(const Tensor& x) { return detail::unary(kern::Unary::Sqrt, x); }
inline Tensor exp(const Tensor& x) { return detail::unary(kern::Unary::Exp, x); }
inline Tensor log(const Tensor& x) { return detail::unary(kern::Unary::Log, x); }
inline Tensor relu(const Tensor& x) { return detail::unary(kern::Unary::Relu, x); }
inline Tensor leaky_relu(const Tensor& x, double slope) {
  return detail::unary(kern::Unary::LeakyRelu, x, slope);
}
inline Tensor tanh(const Tensor& x) { return detail::unary(kern::Unary::Tanh, x); }
inline Tensor sigmoid(const Tensor& x) { return detail::unary(kern::Unary::Sigmoid, x); }
// x rounded to bfloat16 precision, kept in x's dtype (--amp's operands; see ops/conv.h).
inline Tensor round_bf16(const Tensor& x) { return detail::unary(kern::Unary::RoundBf16, x); }

// Broadcasting copy to `shape` (its backward sums back).
Tensor expand(const Tensor& x, const Shape& shape);

inline Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
inline Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
inline Tensor operator-(const Tensor& x) { return neg(x); }
inline Tensor operator+(const Tensor& x, double s) { return add_scalar(x, s); }
inline Tensor operator+(double s, const Tensor& x) { return add_scalar(x, s); }
inline Tensor operator-(const Tensor& x, double s) { return add_scalar(x, -s); }
inline Tensor operator-(double s, const Tensor& x) { return add_scalar(neg(x), s); }
inline Tensor operator*(const Tensor& x, double s) { return mul_scalar(x, s); }
inline Tensor operator*(double s, const Tensor& x) { return mul_scalar(x, s); }
inline Tensor operator/(const Tensor& x, double s) { return mul_scalar(x, 1.0 / s); }

// In place, outside autograd (optimizers, gradient bookkeeping): y += alpha * x. Bumps y's version.
void axpy_(Tensor& y, double alpha, const Tensor& x);
// In place: x = value everywhere. Bumps x's version.
void fill_(Tensor& x, double value);
// In place: dst = src (same shape; any devices and dtypes). Bumps dst's version.
void copy_(Tensor& dst, const Tensor& src);

}  // namespace cg
