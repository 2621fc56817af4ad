#include "tensor/tensor.h"

#include <algorithm>
#include <functional>
#include <iomanip>
#include <ostream>
#include <sstream>

#include "autograd/tape.h"  // only for printing: the name of the record that made a tensor
#include "backend/device.h"
#include "backend/dispatch.h"

namespace cg {

std::string shape_str(const Shape& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + "]";
}

int64_t shape_numel(const Shape& s) {
  // Shapes also come from files (safetensors headers): a negative or overflowing product must be an
  // error, never a wrapped size that passes a later byte-count check.
  int64_t n = 1;
  for (int64_t d : s) {
    if (d < 0) throw Error("shape " + shape_str(s) + " has a negative dimension");
    if (__builtin_mul_overflow(n, d, &n))
      throw Error("shape " + shape_str(s) + " has more than 2^63 elements");
  }
  return n;
}

// ---- Storage ----

Storage::Storage(size_t nbytes, Device dev) : bytes(nbytes), device(dev) {
  data = backend::alloc(dev, nbytes);
}

Storage::~Storage() {
  if (data) backend::free(device, data);
}

// ---- factories ----

Tensor Tensor::empty(const Shape& shape, DType dt, Device dev) {
  const int64_t numel = shape_numel(shape);  // throws for negative or overflowing shapes
  // Bounded far above any real tensor so that numel * size and the allocator's rounding cannot wrap.
  if (static_cast<uint64_t>(numel) > (uint64_t{1} << 60) / dtype_size(dt))
    throw Error("Tensor::empty: shape " + shape_str(shape) + " is too large to allocate");
  if (dt == DType::F64 && dev == Device::CUDA)
    throw Error("float64 tensors live on the CPU only (asked for float64" + shape_str(shape) + " on cuda)");
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(static_cast<size_t>(numel) * dtype_size(dt), dev);
  impl->shape = shape;
  impl->dtype = dt;
  impl->device = dev;
  return Tensor(std::move(impl));
}

Tensor Tensor::full(const Shape& shape, double value, DType dt, Device dev) {
  Tensor t = empty(shape, dt, dev);
  CG_KERNEL(dev, fill, dt, t.raw(), t.numel(), value);
  return t;
}

Tensor Tensor::zeros(const Shape& shape, DType dt, Device dev) { return full(shape, 0.0, dt, dev); }
Tensor Tensor::ones(const Shape& shape, DType dt, Device dev) { return full(shape, 1.0, dt, dev); }

template <class T>
static Tensor from_host(const std::vector<T>& v, const Shape& shape, DType dt, Device dev) {
  if (static_cast<int64_t>(v.size()) != shape_numel(shape))
    throw Error("Tensor::from_vector: " + std::to_string(v.size()) + " values do not fill shape " +
                shape_str(shape));
  Tensor t = Tensor::empty(shape, dt, dev);
  backend::copy_bytes(t.raw(), dev, v.data(), Device::CPU, t.nbytes());
  return t;
}

Tensor Tensor::from_vector(const std::vector<float>& v, const Shape& shape, Device dev) {
  return from_host(v, shape, DType::F32, dev);
}

Tensor Tensor::from_vector(const std::vector<double>& v, const Shape& shape, Device dev) {
  return from_host(v, shape, DType::F64, dev);
}

template <class Draw>
static Tensor random_tensor(const Shape& shape, DType dt, Device dev, Draw draw) {
  std::vector<double> v(static_cast<size_t>(shape_numel(shape)));
  for (double& x : v) x = draw();
  Tensor t = Tensor::from_vector(v, shape, Device::CPU);
  return t.to(dt).to(dev);
}

Tensor Tensor::randn(const Shape& shape, DType dt, Device dev, Generator* gen) {
  Generator& g = gen ? *gen : default_generator(dev);
  return random_tensor(shape, dt, dev, [&] { return g.normal(); });
}

Tensor Tensor::rand(const Shape& shape, DType dt, Device dev, Generator* gen) {
  Generator& g = gen ? *gen : default_generator(dev);
  return random_tensor(shape, dt, dev, [&] { return g.uniform(); });
}

// ---- properties and data ----

const TensorImpl& Tensor::checked() const {
  if (!impl_) throw Error("use of an undefined tensor");
  return *impl_;
}

const Shape& Tensor::shape() const { return checked().shape; }
DType Tensor::dtype() const { return checked().dtype; }
Device Tensor::device() const { return checked().device; }

int64_t Tensor::size(int dim) const {
  const int nd = ndim();
  const int d = dim < 0 ? dim + nd : dim;
  if (d < 0 || d >= nd)
    throw Error("dim " + std::to_string(dim) + " out of range for shape " + shape_str(shape()));
  return shape()[d];
}

std::string Tensor::describe() const {
  if (!impl_) return "undefined tensor";
  return std::string(dtype_name(dtype())) + shape_str(shape()) + " on " + device_name(device());
}

const void* Tensor::raw() const { return checked().storage->data; }
void* Tensor::raw() {
  Storage& s = *checked().storage;
  ++s.version;  // the caller may write: a Saved copy of this tensor must see it (tensor.h)
  return s.data;
}

template <class T>
static constexpr DType dtype_of() {
  return std::is_same_v<T, float> ? DType::F32 : DType::F64;
}

template <class T>
const T* Tensor::data() const {
  if (dtype() != dtype_of<T>())
    throw Error(std::string("data<") + dtype_name(dtype_of<T>()) + ">() on a " + describe());
  return static_cast<const T*>(raw());
}
template <class T>
T* Tensor::data() {
  if (dtype() != dtype_of<T>())
    throw Error(std::string("data<") + dtype_name(dtype_of<T>()) + ">() on a " + describe());
  return static_cast<T*>(raw());
}
template const float* Tensor::data<float>() const;
template const double* Tensor::data<double>() const;
template float* Tensor::data<float>();
template double* Tensor::data<double>();

void Tensor::bump_version() { ++checked().storage->version; }

template <class T>
std::vector<T> Tensor::to_vector() const {
  const Tensor host = detach().to(Device::CPU);
  std::vector<T> out(static_cast<size_t>(numel()));
  if (dtype() == DType::F32) {
    const float* p = host.data<float>();
    std::copy(p, p + numel(), out.begin());
  } else {
    const double* p = host.data<double>();
    std::transform(p, p + numel(), out.begin(), [](double x) { return static_cast<T>(x); });
  }
  return out;
}
template std::vector<float> Tensor::to_vector<float>() const;
template std::vector<double> Tensor::to_vector<double>() const;

double Tensor::item() const {
  if (numel() != 1) throw Error("item() needs a one-element tensor, got " + describe());
  return to_vector<double>()[0];
}

// ---- conversions: to(), reshape() and clone() record gradients, so they live in ops/convert.cpp ----

Tensor Tensor::detach() const {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = checked().storage;
  impl->shape = shape();
  impl->dtype = dtype();
  impl->device = device();
  return Tensor(std::move(impl));
}

// ---- autograd slot ----

bool Tensor::requires_grad() const { return checked().requires_grad; }

Tensor& Tensor::set_requires_grad(bool on) {
  if (!is_leaf())
    throw Error("set_requires_grad on a non-leaf tensor (" + describe() +
                "); detach() it first to make a new leaf");
  impl_->requires_grad = on;
  return *this;
}

bool Tensor::is_leaf() const { return checked().record == nullptr; }

Tensor Tensor::grad() const { return Tensor(checked().grad); }

void Tensor::set_grad(const Tensor& g) {
  if (g.defined() && (g.shape() != shape() || g.dtype() != dtype() || g.device() != device()))
    throw Error("set_grad: gradient " + g.describe() + " does not match tensor " + describe());
  checked();
  impl_->grad = g.impl_ptr();
}

// ---- printing ----

std::ostream& operator<<(std::ostream& os, const Tensor& t) {
  if (!t.defined()) return os << "Tensor(undefined)";
  const std::vector<double> v = t.to_vector<double>();
  const Shape& s = t.shape();
  const int nd = t.ndim();
  // PyTorch-like nesting; dims longer than 6 show their first and last 3 entries.
  std::function<void(int, int64_t)> rec = [&](int d, int64_t off) {
    if (d == nd) {
      os << std::setprecision(t.dtype() == DType::F32 ? 6 : 10) << v[static_cast<size_t>(off)];
      return;
    }
    int64_t stride = 1;
    for (int k = d + 1; k < nd; ++k) stride *= s[static_cast<size_t>(k)];
    const int64_t n = s[static_cast<size_t>(d)];
    os << "[";
    for (int64_t i = 0; i < n; ++i) {
      if (n > 6 && i == 3) {
        os << "..., ";
        i = n - 3;
      }
      rec(d + 1, off + i * stride);
      if (i + 1 < n) os << (d + 1 == nd ? ", " : ",\n" + std::string(static_cast<size_t>(d + 1), ' '));
    }
    os << "]";
  };
  os << "Tensor(";
  rec(0, 0);
  os << ", " << t.describe();
  if (t.requires_grad())
    os << (t.is_leaf() ? ", requires_grad" : std::string(", record=") + t.impl()->record->op);
  return os << ")";
}

void check_same_device(const char* op, std::initializer_list<const Tensor*> ts) {
  const Tensor* first = nullptr;
  for (const Tensor* t : ts) {
    if (!t->defined()) throw Error(std::string(op) + ": undefined input tensor");
    if (!first)
      first = t;
    else if (t->device() != first->device())
      throw Error(std::string(op) + ": inputs on different devices (" + first->describe() + " and " +
                  t->describe() + "); move one with .to(device)");
  }
}

void check_same_dtype(const char* op, std::initializer_list<const Tensor*> ts) {
  const Tensor* first = nullptr;
  for (const Tensor* t : ts) {
    if (!first)
      first = t;
    else if (t->dtype() != first->dtype())
      throw Error(std::string(op) + ": inputs of different dtypes (" + first->describe() + " and " +
                  t->describe() + ")");
  }
}

void set_cuda_allow_tf32(bool allow) { backend::set_allow_tf32(allow); }

bool cuda_available() { return backend::gpu_count() > 0; }

}  // namespace cg
