#include "autograd/gradcheck.h"

#include <cmath>
#include <ostream>
#include <sstream>

#include "autograd/tape.h"
#include "backend/dispatch.h"

namespace cg {

// L = sum(y * v), computed on the host (no ops/ dependency; f64 throughout).
static double project(const Tensor& y, const std::vector<double>& v) {
  const std::vector<double> yv = y.to_vector<double>();
  double acc = 0;
  for (size_t i = 0; i < yv.size(); ++i) acc += yv[i] * v[i];
  return acc;
}

static std::string index_str(const Shape& s, int64_t flat) {
  Shape idx(s.size());
  for (size_t d = s.size(); d-- > 0;) {
    idx[d] = flat % s[d];
    flat /= s[d];
  }
  return shape_str(idx);
}

GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f,
                          const std::vector<Tensor>& inputs, const GradcheckOptions& opt) {
  // Private leaf copies, so the caller's tensors and gradients stay untouched.
  std::vector<Tensor> xs;
  for (const Tensor& t : inputs) {
    if (t.dtype() != DType::F64 || t.device() != Device::CPU)
      throw Error("gradcheck: inputs must be float64 on the cpu, got " + t.describe());
    Tensor c = t.detach().clone();
    c.set_requires_grad(t.requires_grad());
    xs.push_back(c);
  }
  Tensor y = f(xs);
  if (!y.requires_grad())
    throw Error("gradcheck: the output " + y.describe() + " does not depend on any checked input");
  Generator gen(opt.seed);
  std::vector<double> v(static_cast<size_t>(y.numel()));
  for (double& e : v) e = gen.normal();
  y.backward(Tensor::from_vector(v, y.shape()));

  GradcheckResult res;
  std::ostringstream worst;
  for (size_t k = 0; k < xs.size(); ++k) {
    if (!xs[k].requires_grad()) continue;
    const Tensor g = xs[k].grad();
    const std::vector<double> analytic =
        g.defined() ? g.to_vector<double>() : std::vector<double>(static_cast<size_t>(xs[k].numel()), 0.0);
    NoGradGuard no_grad;
    for (int64_t i = 0; i < xs[k].numel(); ++i) {
      std::vector<Tensor> probe = xs;
      Tensor p = xs[k].detach().clone();
      double* pd = p.data<double>();
      const double x0 = pd[i];
      probe[k] = p;
      pd[i] = x0 + opt.eps;
      const double lp = project(f(probe), v);
      pd[i] = x0 - opt.eps;
      const double lm = project(f(probe), v);
      const double numeric = (lp - lm) / (2 * opt.eps);
      const double a = analytic[static_cast<size_t>(i)];
      const double err = std::abs(a - numeric) / (opt.atol + opt.rtol * std::abs(numeric));
      ++res.checked;
      // the first element too: the report names one even when every difference is exactly 0
      if (res.checked == 1 || err > res.worst || (std::isnan(err) && !std::isnan(res.worst))) {
        res.worst = err;
        worst.str("");
        worst << "input " << k << " (" << xs[k].describe() << ") element " << index_str(xs[k].shape(), i)
              << ": analytic " << a << ", numeric " << numeric << ", |diff| " << std::abs(a - numeric)
              << " (allowed " << opt.atol + opt.rtol * std::abs(numeric) << ")";
      }
    }
  }
  res.ok = res.worst <= 1.0 && !std::isnan(res.worst);
  std::ostringstream os;
  os << (res.ok ? "gradcheck passed" : "gradcheck FAILED") << ": " << res.checked
     << " input elements, each element of v^T J against its central difference\nworst: " << worst.str();
  res.report = os.str();
  return res;
}

std::ostream& operator<<(std::ostream& os, const GradcheckResult& r) { return os << r.report; }

}  // namespace cg
