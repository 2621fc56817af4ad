// Tensor: shared storage + shape + dtype + device + an autograd slot. Contiguous, row-major (NCHW).
// A Tensor is a cheap handle (one shared_ptr); copying it shares the data, like PyTorch's.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "backend/types.h"
#include "tensor/random.h"

namespace cg {

using Shape = std::vector<int64_t>;
std::string shape_str(const Shape& s);  // "[1, 3, 256, 256]"
int64_t shape_numel(const Shape& s);

// Bytes on one device. `version` counts in-place writes (and the mutable pointers handed out, which
// may be written through) so that a tensor saved for backward and then overwritten is caught (see
// Saved in autograd/tape.h).
struct Storage {
  Storage(size_t bytes, Device device);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  void* data = nullptr;
  size_t bytes = 0;
  Device device = Device::CPU;
  uint64_t version = 0;
};

struct Record;  // a tape record, autograd/tape.h

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape shape;
  DType dtype = DType::F32;
  Device device = Device::CPU;
  // The autograd slot.
  bool requires_grad = false;
  std::shared_ptr<TensorImpl> grad;  // accumulated gradient (leaves only)
  std::shared_ptr<Record> record;    // the record that produced this tensor; null for leaves
};

class Tensor {
 public:
  Tensor() = default;  // an undefined tensor (no storage); defined() is false
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // ---- factories ----
  static Tensor empty(const Shape& shape, DType dt = DType::F32, Device dev = Device::CPU);
  static Tensor zeros(const Shape& shape, DType dt = DType::F32, Device dev = Device::CPU);
  static Tensor ones(const Shape& shape, DType dt = DType::F32, Device dev = Device::CPU);
  static Tensor full(const Shape& shape, double value, DType dt = DType::F32, Device dev = Device::CPU);
  static Tensor from_vector(const std::vector<float>& v, const Shape& shape, Device dev = Device::CPU);
  static Tensor from_vector(const std::vector<double>& v, const Shape& shape, Device dev = Device::CPU);
  // N(0, 1) and U[0, 1), drawn from `gen` (default: the device's default generator).
  static Tensor randn(const Shape& shape, DType dt = DType::F32, Device dev = Device::CPU,
                      Generator* gen = nullptr);
  static Tensor rand(const Shape& shape, DType dt = DType::F32, Device dev = Device::CPU,
                     Generator* gen = nullptr);

  // ---- properties ----
  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const;
  int64_t size(int dim) const;  // negative dims count from the end
  int ndim() const { return static_cast<int>(shape().size()); }
  int64_t numel() const { return shape_numel(shape()); }
  DType dtype() const;
  Device device() const;
  bool is_cuda() const { return device() == Device::CUDA; }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype()); }
  std::string describe() const;  // "float32[2, 3] on cpu"

  // ---- data access ----
  // A mutable pointer counts as a write: raw() and data<T>() on a non-const handle bump the
  // storage's version when they hand the pointer out, so a tensor saved for backward and then
  // written through one makes backward throw instead of using the new values. Read through a const
  // handle (std::as_const(t).data<T>(), to_vector, item) to leave the version alone. A pointer taken
  // before a tensor was saved and written through after escapes the check: take it where you write.
  const void* raw() const;
  void* raw();
  template <class T>
  const T* data() const;
  template <class T>
  T* data();
  double item() const;  // the value of a one-element tensor, on any device
  template <class T>
  std::vector<T> to_vector() const;  // copies to the host, converting to T
  void bump_version();

  // ---- conversions (differentiable: they record on the tape) ----
  Tensor to(Device dev) const;
  Tensor to(DType dt) const;
  Tensor reshape(const Shape& shape) const;  // one dim may be -1; shares storage
  Tensor clone() const;
  // Same storage, no autograd history: gradients stop here.
  Tensor detach() const;

  // ---- autograd ----
  bool requires_grad() const;
  Tensor& set_requires_grad(bool on = true);  // leaves only
  bool is_leaf() const;
  Tensor grad() const;  // undefined until a backward() reaches this leaf
  void set_grad(const Tensor& g);
  void zero_grad() { set_grad(Tensor()); }  // drops the gradient (PyTorch's set_to_none)
  // Reverse-mode sweep from this tensor (a scalar, unless `seed` gives d(this)).
  void backward(const Tensor& seed = Tensor(), bool retain_graph = false) const;

  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }

 private:
  const TensorImpl& checked() const;
  std::shared_ptr<TensorImpl> impl_;
};

std::ostream& operator<<(std::ostream& os, const Tensor& t);

// Throws unless every tensor is defined and on `dev`, naming the op and the culprit.
void check_same_device(const char* op, std::initializer_list<const Tensor*> ts);
void check_same_dtype(const char* op, std::initializer_list<const Tensor*> ts);

// True when this build has CUDA and a device is present.
bool cuda_available();
// TF32 tensor cores for float32 convolutions on the GPU: allowed by default, as in PyTorch.
// Turning them off gives full float32 precision at a cost in speed. No effect without CUDA.
void set_cuda_allow_tf32(bool allow);

}  // namespace cg
