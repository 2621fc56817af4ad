// Elementwise ops. Binary ops broadcast as NumPy does, with one addition for biases: a 1-D (C)
// tensor against a 4-D (N, C, H, W) one is read as (1, C, 1, 1), i.e. per channel (it wins even
// when W == C). Derivatives at kinks: relu'(0) = 0 and abs'(0) = 0, as in PyTorch.
#pragma once

#include "tensor/tensor.h"

namespace cg {

Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor neg(const Tensor& x);
Tensor add_scalar(const Tensor& x, double s);
Tensor mul_scalar(const Tensor& x, double s);
Tensor abs(const Tensor& x);
Tensor square(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor relu(const Tensor& x);
Tensor leaky_relu(const Tensor& x, double slope);
Tensor tanh(const Tensor& x);
Tensor sigmoid(const Tensor& x);

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

namespace detail {
// The broadcast shape of a and b under the rules above; throws naming both shapes.
Shape broadcast_shape(const char* op, const Tensor& a, const Tensor& b);
// The kernel call of a binary op with broadcasting, without recording: backward rules use it.
Tensor binary_kernel(kern::Binary op, double alpha, const Tensor& a, const Tensor& b);
Tensor unary_kernel(kern::Unary op, double alpha, const Tensor& x);
}  // namespace detail

}  // namespace cg
