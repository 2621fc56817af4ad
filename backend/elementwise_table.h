// The elementwise ops, one row each. Each row's math is written here once, as __host__ __device__
// functions that both backends instantiate (cpu/elementwise.cpp for float and double,
// cuda/elementwise.cu for float), so the CPU and the GPU cannot compute different things.
//
// Adding a unary op is one row in CG_UNARY_OPS below (its forward and its backward rule) and its
// public function in ops/elementwise.h; nothing else changes: the enum, both backends' dispatch
// and the autograd record all come from the row.
#pragma once

#include <math.h>  // the C names (expf, tanh, ...): declared for host and device code alike
#include <stdint.h>
#include <string.h>  // memcpy: the bit copy that works in host and device code

#if defined(__CUDACC__)
#define CG_HD __host__ __device__ __forceinline__
#else
#define CG_HD inline
#endif

namespace cg::kern {

// The libm function of each precision, callable from both backends.
namespace m {
CG_HD float abs(float v) { return fabsf(v); }
CG_HD double abs(double v) { return fabs(v); }
CG_HD float sqrt(float v) { return sqrtf(v); }
CG_HD double sqrt(double v) { return ::sqrt(v); }
CG_HD float exp(float v) { return expf(v); }
CG_HD double exp(double v) { return ::exp(v); }
CG_HD float log(float v) { return logf(v); }
CG_HD double log(double v) { return ::log(v); }
CG_HD float tanh(float v) { return tanhf(v); }
CG_HD double tanh(double v) { return ::tanh(v); }
// v rounded to the nearest bfloat16 (8 significant bits), ties to even, as PyTorch's .bfloat16():
// the float's upper 16 bits after adding half of the dropped part. NaN stays NaN; values past the
// largest bfloat16 become infinite. A double goes through float first.
CG_HD float bf16(float v) {
  uint32_t u;
  memcpy(&u, &v, sizeof u);
  if ((u & 0x7fffffffu) > 0x7f800000u) return v;  // NaN: rounding could turn it into infinity
  u = (u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u;
  memcpy(&v, &u, sizeof v);
  return v;
}
CG_HD double bf16(double v) { return static_cast<double>(bf16(static_cast<float>(v))); }
}  // namespace m

// What a unary op's backward reads besides dy: nothing, its input x, or its output y. Keeping the
// output where the derivative is a function of it (relu, tanh, sigmoid) lets the input be freed.
enum class Keeps : uint8_t { Nothing, Input, Output };

// The unary ops. Columns: the enum name, the name on the tape, what the backward keeps (k), the
// forward y = f(x, a), and the backward dx = df(g, k, a) with g = dy. `a` is the op's scalar
// (the slope of leaky_relu, the s of x + s and x * s); T is float or double.
// Kinks: the derivative at exactly 0 is 0 for relu and abs, as in PyTorch. round_bf16 is a cast:
// its gradient is the incoming one, itself rounded (it arrives at a bfloat16 tensor).
// clang-format off
#define CG_UNARY_OPS(X)                                                                              \
  X(Neg,       "neg",        Nothing, -x,                        -g)                                 \
  X(Abs,       "abs",        Input,   m::abs(x),                 k > T(0) ? g : (k < T(0) ? -g : T(0))) \
  X(Square,    "square",     Input,   x * x,                     g * (k * T(2)))                     \
  X(Sqrt,      "sqrt",       Output,  m::sqrt(x),                (g * T(0.5)) / k)                   \
  X(Exp,       "exp",        Output,  m::exp(x),                 g * k)                              \
  X(Log,       "log",        Input,   m::log(x),                 g / k)                              \
  X(Relu,      "relu",       Output,  x > T(0) ? x : T(0),       k > T(0) ? g : T(0))                \
  X(LeakyRelu, "leaky_relu", Input,   x > T(0) ? x : a * x,      k > T(0) ? g : a * g)               \
  X(Tanh,      "tanh",       Output,  m::tanh(x),                g * (T(1) - k * k))                 \
  X(Sigmoid,   "sigmoid",    Output,  T(1) / (T(1) + m::exp(-x)), g * k * (T(1) - k))              \
  X(AddScalar, "add_scalar", Nothing, x + a,                     g)                                  \
  X(MulScalar, "mul_scalar", Nothing, x * a,                     g * a)                              \
  X(RoundBf16, "round_bf16", Nothing, m::bf16(x),                m::bf16(g))
// clang-format on

// The binary ops z = f(x, y): their backward rules need broadcasting's sums, so they are written
// with ops in ops/elementwise.cpp.
// clang-format off
#define CG_BINARY_OPS(X)      \
  X(Add, "add", x + y)        \
  X(Sub, "sub", x - y)        \
  X(Mul, "mul", x * y)        \
  X(Div, "div", x / y)
// clang-format on

// ---- generated from the rows: nothing below names an op ----

#define CG_ENUM_ENTRY(Name, ...) Name,
enum class Unary : uint8_t { CG_UNARY_OPS(CG_ENUM_ENTRY) };
enum class Binary : uint8_t { CG_BINARY_OPS(CG_ENUM_ENTRY) };
#undef CG_ENUM_ENTRY

// One struct per row, in namespace cg::kern::op: Op::f, Op::df (unary) or Op::f (binary).
namespace op {
#define CG_UNARY_STRUCT(Name, str, keeps_, fwd, bwd)                     \
  struct Name {                                                          \
    static constexpr Keeps keeps = Keeps::keeps_;                        \
    template <class T>                                                   \
    CG_HD static T f(T x, [[maybe_unused]] T a) {                        \
      return fwd;                                                        \
    }                                                                    \
    template <class T>                                                   \
    CG_HD static T df(T g, [[maybe_unused]] T k, [[maybe_unused]] T a) { \
      return bwd;                                                        \
    }                                                                    \
  };
CG_UNARY_OPS(CG_UNARY_STRUCT)
#undef CG_UNARY_STRUCT

#define CG_BINARY_STRUCT(Name, str, fn) \
  struct Name {                         \
    template <class T>                  \
    CG_HD static T f(T x, T y) {        \
      return fn;                        \
    }                                   \
  };
CG_BINARY_OPS(CG_BINARY_STRUCT)
#undef CG_BINARY_STRUCT
}  // namespace op

inline const char* unary_name(Unary u) {
  switch (u) {
#define CG_NAME_CASE(Name, str, ...) \
  case Unary::Name:                  \
    return str;
    CG_UNARY_OPS(CG_NAME_CASE)
#undef CG_NAME_CASE
  }
  return "?";
}

inline Keeps unary_keeps(Unary u) {
  switch (u) {
#define CG_KEEPS_CASE(Name, ...) \
  case Unary::Name:              \
    return op::Name::keeps;
    CG_UNARY_OPS(CG_KEEPS_CASE)
#undef CG_KEEPS_CASE
  }
  return Keeps::Nothing;
}

// Calls visit(op::Name{}) for the row of u (visit(Binary) likewise): how a backend turns the
// run-time op into a compile-time one, so each loop or kernel body is the row's expression alone.
template <class F>
decltype(auto) visit_unary(Unary u, F&& visit) {
  switch (u) {
#define CG_VISIT_CASE(Name, ...) \
  case Unary::Name:              \
    return visit(op::Name{});
    CG_UNARY_OPS(CG_VISIT_CASE)
#undef CG_VISIT_CASE
  }
  return visit(op::Neg{});  // unreachable: every enumerator has a case
}

template <class F>
decltype(auto) visit_binary(Binary b, F&& visit) {
  switch (b) {
#define CG_VISIT_CASE(Name, ...) \
  case Binary::Name:             \
    return visit(op::Name{});
    CG_BINARY_OPS(CG_VISIT_CASE)
#undef CG_VISIT_CASE
  }
  return visit(op::Add{});
}

}  // namespace cg::kern
