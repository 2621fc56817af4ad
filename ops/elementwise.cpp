// Elementwise ops: each forward, and right below it the rule for its backward.
#include "ops/elementwise.h"

#include "autograd/tape.h"
#include "backend/dispatch.h"
#include "ops/reduce.h"

namespace cg {

using kern::Binary;
using kern::Unary;

namespace detail {

// The shape `t` takes part in broadcasting with: (C) against (N, C, H, W) is read as (1, C, 1, 1).
static Shape effective_shape(const Tensor& t, const Tensor& other) {
  if (t.ndim() == 1 && other.ndim() == 4 && t.size(0) == other.size(1)) return {1, t.size(0), 1, 1};
  return t.shape();
}

static Shape broadcast(const char* op, const Shape& a, const Shape& b) {
  const size_t nd = std::max(a.size(), b.size());
  if (nd > static_cast<size_t>(kern::kMaxDims))
    throw Error(std::string(op) + ": more than " + std::to_string(kern::kMaxDims) + " dims");
  Shape out(nd);
  for (size_t i = 0; i < nd; ++i) {
    const int64_t da = i < nd - a.size() ? 1 : a[i - (nd - a.size())];
    const int64_t db = i < nd - b.size() ? 1 : b[i - (nd - b.size())];
    if (da != db && da != 1 && db != 1)
      throw Error(std::string(op) + ": shapes " + shape_str(a) + " and " + shape_str(b) +
                  " cannot be broadcast together");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

Shape broadcast_shape(const char* op, const Tensor& a, const Tensor& b) {
  return broadcast(op, effective_shape(a, b), effective_shape(b, a));
}

// Strides to read `in` (right-aligned) while walking `out`: 0 along broadcast dims.
static void broadcast_strides(const Shape& in, const Shape& out, int64_t* strides) {
  const size_t nd = out.size(), off = nd - in.size();
  int64_t s = 1;
  for (size_t i = nd; i-- > 0;) {
    const int64_t d = i < off ? 1 : in[i - off];
    strides[i] = d == 1 ? 0 : s;
    s *= d;
  }
}

Tensor binary_kernel(Binary op, const Tensor& a, const Tensor& b) {
  check_same_device("binary op", {&a, &b});
  check_same_dtype("binary op", {&a, &b});
  const Shape ea = effective_shape(a, b), eb = effective_shape(b, a);
  const Shape out_shape = broadcast("binary op", ea, eb);
  Tensor z = Tensor::empty(out_shape, a.dtype(), a.device());
  kern::Indexer ix;
  ix.nd = static_cast<int>(out_shape.size());
  for (int d = 0; d < ix.nd; ++d) ix.shape[d] = out_shape[static_cast<size_t>(d)];
  broadcast_strides(ea, out_shape, ix.stride_a);
  broadcast_strides(eb, out_shape, ix.stride_b);
  CG_KERNEL(a.device(), binary, op, a.dtype(), a.raw(), b.raw(), z.raw(), ix);
  return z;
}

// Every unary op: the forward of its row, and a record whose backward is the row's df, reading
// the tensor the row keeps.
Tensor unary(Unary op, const Tensor& x, double alpha) {
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  CG_KERNEL(x.device(), unary, op, alpha, x.dtype(), x.raw(), y.raw(), x.numel());
  if (!needs_record({x})) return y;
  const char* name = kern::unary_name(op);
  const kern::Keeps keeps = kern::unary_keeps(op);
  Saved kept(keeps == kern::Keeps::Input ? x : keeps == kern::Keeps::Output ? y : Tensor(), name);
  record(name, {x}, y, [op, alpha, kept = std::move(kept)](const Tensor& dy, const Need&) {
    const Tensor& k = kept.get();
    Tensor dx = Tensor::empty(dy.shape(), dy.dtype(), dy.device());
    CG_KERNEL(dy.device(), unary_backward, op, alpha, dy.dtype(), dy.raw(), (k.defined() ? k : dy).raw(),
              dx.raw(), dy.numel());
    return Grads{dx};
  });
  return y;
}

}  // namespace detail

using detail::binary_kernel;

// The one unbroadcast helper of the binary ops: an input's own shape and the shape it broadcast
// as, kept by the backward rule; reduce(dy) sums dy back to the input's shape.
struct BroadcastShapes {
  Shape effective, own;
  BroadcastShapes(const Tensor& t, const Tensor& other)
      : effective(detail::effective_shape(t, other)), own(t.shape()) {}
  Tensor reduce(const Tensor& dy) const { return sum_to(dy, effective).reshape(own); }
};

// ---- add, sub: d(a±b) = dy, ±dy (summed back over broadcast dims) ----
Tensor add(const Tensor& a, const Tensor& b) {
  Tensor z = binary_kernel(Binary::Add, a, b);
  record("add", {a, b}, z,
         [sa = BroadcastShapes(a, b), sb = BroadcastShapes(b, a)](const Tensor& dy, const Need& need) {
           return Grads{need[0] ? sa.reduce(dy) : Tensor(), need[1] ? sb.reduce(dy) : Tensor()};
         });
  return z;
}

Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor z = binary_kernel(Binary::Sub, a, b);
  record("sub", {a, b}, z,
         [sa = BroadcastShapes(a, b), sb = BroadcastShapes(b, a)](const Tensor& dy, const Need& need) {
           return Grads{need[0] ? sa.reduce(dy) : Tensor(), need[1] ? sb.reduce(neg(dy)) : Tensor()};
         });
  return z;
}

// ---- mul: da = dy * b, db = dy * a ----
Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor z = binary_kernel(Binary::Mul, a, b);
  record("mul", {a, b}, z,
         [sa = BroadcastShapes(a, b), sb = BroadcastShapes(b, a), a = Saved(a, "mul"), b = Saved(b, "mul")](
             const Tensor& dy, const Need& need) {
           return Grads{need[0] ? sa.reduce(dy * b.get()) : Tensor(),
                        need[1] ? sb.reduce(dy * a.get()) : Tensor()};
         });
  return z;
}

// ---- div: da = dy / b, db = -dy * a / b^2 = -(dy / b) * z ----
Tensor div(const Tensor& a, const Tensor& b) {
  Tensor z = binary_kernel(Binary::Div, a, b);
  record("div", {a, b}, z,
         [sa = BroadcastShapes(a, b), sb = BroadcastShapes(b, a), b = Saved(b, "div"), zs = Saved(z, "div")](
             const Tensor& dy, const Need& need) {
           const Tensor dy_b = dy / b.get();
           return Grads{need[0] ? sa.reduce(dy_b) : Tensor(),
                        need[1] ? sb.reduce(-(dy_b * zs.get())) : Tensor()};
         });
  return z;
}

// ---- expand: a broadcasting copy; dx = dy summed back to x's shape ----
Tensor expand(const Tensor& x, const Shape& shape) {
  const Shape out_shape = detail::broadcast("expand", x.shape(), shape);
  if (out_shape != shape)
    throw Error("expand: " + x.describe() + " cannot be expanded to " + shape_str(shape));
  Tensor y = Tensor::empty(shape, x.dtype(), x.device());
  kern::Indexer ix;
  ix.nd = static_cast<int>(shape.size());
  for (int d = 0; d < ix.nd; ++d) ix.shape[d] = shape[static_cast<size_t>(d)];
  detail::broadcast_strides(x.shape(), shape, ix.stride_a);
  CG_KERNEL(x.device(), copy_strided, x.dtype(), x.raw(), y.raw(), ix);
  const Shape from = x.shape();
  record("expand", {x}, y, [from](const Tensor& dy, const Need&) { return Grads{sum_to(dy, from)}; });
  return y;
}

// ---- in place, untracked ----
void axpy_(Tensor& y, double alpha, const Tensor& x) {
  check_same_device("axpy_", {&y, &x});
  check_same_dtype("axpy_", {&y, &x});
  if (x.shape() != y.shape()) throw Error("axpy_: shapes differ: " + y.describe() + " and " + x.describe());
  CG_KERNEL(y.device(), axpy, y.dtype(), alpha, x.raw(), y.raw(), y.numel());
  y.bump_version();
}

void copy_(Tensor& dst, const Tensor& src) {
  if (dst.shape() != src.shape())
    throw Error("copy_: shapes differ: destination " + dst.describe() + ", source " + src.describe());
  const Tensor s = src.detach().to(dst.dtype()).to(dst.device());
  CG_KERNEL(dst.device(), copy, dst.raw(), s.raw(), dst.nbytes());
  dst.bump_version();
}

void fill_(Tensor& x, double value) {
  CG_KERNEL(x.device(), fill, x.dtype(), x.raw(), x.numel(), value);
  x.bump_version();
}

}  // namespace cg
