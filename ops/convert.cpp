// The Tensor methods that copy or view and record a gradient: device and dtype moves, reshape and
// clone. Members of Tensor (tensor/tensor.h), defined here because they are ops: each one's
// backward sits beside it, as everywhere in ops/.
#include "autograd/tape.h"
#include "backend/dispatch.h"
#include "tensor/tensor.h"

namespace cg {

Tensor Tensor::to(Device dev) const {
  if (device() == dev) return *this;
  Tensor out = empty(shape(), dtype(), dev);
  backend::copy_bytes(out.raw(), dev, raw(), device(), nbytes());
  const Device from = device();
  record("to_device", {*this}, out, [from](const Tensor& dy, const Need&) { return Grads{dy.to(from)}; });
  return out;
}

Tensor Tensor::to(DType dt) const {
  if (dtype() == dt) return *this;
  Tensor out = empty(shape(), dt, device());
  CG_KERNEL(device(), cast, dtype(), raw(), dt, out.raw(), numel());
  const DType from = dtype();
  record("to_dtype", {*this}, out, [from](const Tensor& dy, const Need&) { return Grads{dy.to(from)}; });
  return out;
}

Tensor Tensor::reshape(const Shape& new_shape) const {
  Shape s = new_shape;
  int64_t known = 1;
  int infer = -1;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == -1) {
      if (infer >= 0) throw Error("reshape: more than one -1 in " + shape_str(new_shape));
      infer = static_cast<int>(i);
    } else {
      known *= s[i];
    }
  }
  if (infer >= 0 && known > 0) s[static_cast<size_t>(infer)] = numel() / known;
  if (shape_numel(s) != numel())
    throw Error("reshape: cannot view " + describe() + " as " + shape_str(new_shape));
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = checked().storage;  // contiguous: a reshape is a new shape over the same bytes
  impl->shape = s;
  impl->dtype = dtype();
  impl->device = device();
  Tensor out(std::move(impl));
  const Shape from = shape();
  record("reshape", {*this}, out, [from](const Tensor& dy, const Need&) { return Grads{dy.reshape(from)}; });
  return out;
}

Tensor Tensor::clone() const {
  Tensor out = empty(shape(), dtype(), device());
  backend::copy_bytes(out.raw(), device(), raw(), device(), nbytes());
  record("clone", {*this}, out, [](const Tensor& dy, const Need&) { return Grads{dy}; });
  return out;
}

}  // namespace cg
