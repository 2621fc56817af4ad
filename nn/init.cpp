#include "nn/init.h"

#include <cmath>
#include <vector>

#include "autograd/tape.h"
#include "nn/layers.h"
#include "ops/elementwise.h"

namespace cg::nn {
namespace {

// Values of a (rows x cols) matrix with orthonormal rows (or columns, if rows > cols): the Q of a
// QR factorisation of a Gaussian matrix, by modified Gram-Schmidt in double. Gram-Schmidt gives R a
// positive diagonal, which is what PyTorch's sign correction of Q achieves.
std::vector<double> orthogonal(int64_t rows, int64_t cols, Generator& gen) {
  const bool tall = rows >= cols;
  const int64_t n = tall ? rows : cols, k = tall ? cols : rows;  // orthonormalise k vectors of length n
  std::vector<double> a(static_cast<size_t>(n * k));             // (k, n): vector j at a[j*n ...]
  for (double& x : a) x = gen.normal();
  for (int64_t j = 0; j < k; ++j) {
    double* vj = a.data() + j * n;
    for (int64_t i = 0; i < j; ++i) {
      const double* vi = a.data() + i * n;
      double d = 0;
      for (int64_t t = 0; t < n; ++t) d += vi[t] * vj[t];
      for (int64_t t = 0; t < n; ++t) vj[t] -= d * vi[t];
    }
    double norm = 0;
    for (int64_t t = 0; t < n; ++t) norm += vj[t] * vj[t];
    norm = std::sqrt(norm);
    for (int64_t t = 0; t < n; ++t) vj[t] /= norm;
  }
  std::vector<double> out(static_cast<size_t>(rows * cols));  // (rows, cols)
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      out[static_cast<size_t>(r * cols + c)] =
          tall ? a[static_cast<size_t>(c * n + r)] : a[static_cast<size_t>(r * n + c)];
  return out;
}

void init_weight(Tensor& w, const std::string& type, double gain, Generator& gen) {
  const int64_t receptive = w.ndim() == 4 ? w.size(2) * w.size(3) : 1;  // a Linear's (out, in): 1
  const double fan_in = static_cast<double>(w.size(1) * receptive),
               fan_out = static_cast<double>(w.size(0) * receptive);
  std::vector<double> v(static_cast<size_t>(w.numel()));
  if (type == "normal" || type == "xavier" || type == "kaiming") {
    const double std = type == "normal"   ? gain
                       : type == "xavier" ? gain * std::sqrt(2.0 / (fan_in + fan_out))
                                          : std::sqrt(2.0) / std::sqrt(fan_in);
    for (double& x : v) x = std * gen.normal();
  } else if (type == "orthogonal") {
    v = orthogonal(w.size(0), w.numel() / w.size(0), gen);
    for (double& x : v) x *= gain;
  } else {
    throw Error("--init_type '" + type + "': unknown init_type '" + type +
                "' (expected normal, xavier, kaiming or orthogonal)");
  }
  copy_(w, Tensor::from_vector(v, w.shape()));
}

}  // namespace

bool known_init_type(const std::string& type) {
  return type == "normal" || type == "xavier" || type == "kaiming" || type == "orthogonal";
}

void init_weights(Module& net, const std::string& type, double gain, Generator& gen) {
  NoGradGuard no_grad;
  for (auto& [path, m] : net.named_modules()) {
    Tensor* w = nullptr;
    Tensor* b = nullptr;
    if (auto* c = dynamic_cast<Conv2d*>(m)) {
      w = &c->weight;
      b = &c->bias;
    } else if (auto* t = dynamic_cast<ConvTranspose2d*>(m)) {
      w = &t->weight;
      b = &t->bias;
    } else if (auto* l = dynamic_cast<Linear*>(m)) {  // the official init_func takes 'Linear' too
      w = &l->weight;
      b = &l->bias;
    } else if (auto* bn = dynamic_cast<BatchNorm2d*>(m)) {
      // the official: batch norm weights ~ N(1, gain) whatever init_type says, biases 0
      std::vector<double> v(static_cast<size_t>(bn->weight.numel()));
      for (double& x : v) x = 1.0 + gain * gen.normal();
      copy_(bn->weight, Tensor::from_vector(v, bn->weight.shape()));
      fill_(bn->bias, 0.0);
      continue;
    }
    if (!w) continue;
    init_weight(*w, type, gain, gen);
    if (b->defined()) fill_(*b, 0.0);
  }
}

}  // namespace cg::nn

namespace cg::nn {

void init_keras(Module& net, Generator& gen) {
  NoGradGuard no_grad;
  auto uniform = [&](Tensor& t, double limit) {
    std::vector<double> v(static_cast<size_t>(t.numel()));
    for (double& x : v) x = limit * (2.0 * gen.uniform() - 1.0);
    copy_(t, Tensor::from_vector(v, t.shape()));
  };
  // glorot_uniform: U(-l, l), l = sqrt(6 / (fan_in + fan_out)), the fans of PyTorch's layouts
  // (their sum is Keras's for every one of these layers, transposed convolutions included)
  auto glorot = [&](Tensor& w) {
    const int64_t receptive = w.ndim() == 4 ? w.size(2) * w.size(3) : 1;
    uniform(w, std::sqrt(6.0 / static_cast<double>((w.size(0) + w.size(1)) * receptive)));
  };
  auto zero = [](Tensor& b) {
    if (b.defined()) fill_(b, 0.0);
  };
  for (auto& [path, m] : net.named_modules()) {
    if (auto* c = dynamic_cast<Conv2d*>(m)) {
      glorot(c->weight);
      zero(c->bias);
    } else if (auto* t = dynamic_cast<ConvTranspose2d*>(m)) {
      glorot(t->weight);
      zero(t->bias);
    } else if (auto* l = dynamic_cast<Linear*>(m)) {
      glorot(l->weight);
      zero(l->bias);
    } else if (auto* e = dynamic_cast<Embedding*>(m)) {
      uniform(e->weight, 0.05);  // Keras's Embedding: RandomUniform(-0.05, 0.05)
    } else if (auto* bn = dynamic_cast<BatchNorm2d*>(m)) {
      fill_(bn->weight, 1.0);
      fill_(bn->bias, 0.0);
    }
  }
}

}  // namespace cg::nn
