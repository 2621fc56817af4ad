#include "ops/checkpoint.h"

#include <memory>
#include <string>

#include "autograd/tape.h"
#include "ops/elementwise.h"

namespace cg {

namespace {
// Grad mode on for a scope (the rule runs under backward's NoGradGuard).
class GradOn {
 public:
  GradOn() : prev_(grad_enabled()) { set_grad_enabled(true); }
  ~GradOn() { set_grad_enabled(prev_); }
  GradOn(const GradOn&) = delete;
  GradOn& operator=(const GradOn&) = delete;

 private:
  bool prev_;
};
}  // namespace

Tensor checkpoint(const std::function<Tensor(const Tensor&)>& f, const Tensor& x,
                  const std::vector<Tensor>& params, const std::vector<Tensor>& state) {
  std::vector<Tensor> inputs{x};
  inputs.insert(inputs.end(), params.begin(), params.end());
  if (!needs_record(inputs)) return f(x);
  const Device dev = x.device();
  const std::string rng = default_generator(dev).state();  // what f's draws start from
  Tensor y;
  {
    NoGradGuard no_grad;  // f records nothing: its intermediate tensors go when it returns
    y = f(x.detach());
  }
  // y may share its memory with x (f the identity): the record must hang on a handle of its own
  y = y.detach();
  record("checkpoint", inputs, y,
         [f, xs = Saved(x, "checkpoint"), params, state, rng, dev](const Tensor& dy, const Need& need) {
           const Tensor& xv = xs.get();
           Generator& gen = default_generator(dev);
           const std::string now = gen.state();
           std::vector<Tensor> before;  // f's side effects, as they are now
           for (const Tensor& s : state) before.push_back(s.detach().clone());
           Tensor xi = xv.detach();  // a leaf of the rerun: its .grad becomes x's gradient
           if (need[0]) xi.set_requires_grad(true);
           // each parameter's .grad set aside, so the rerun's backward leaves only its own there
           std::vector<std::shared_ptr<TensorImpl>> kept;
           for (const Tensor& p : params) kept.push_back(std::move(p.impl()->grad));
           Tensor yi;
           gen.set_state(rng);
           {
             GradOn grad;
             yi = f(xi);
           }
           gen.set_state(now);
           for (size_t i = 0; i < state.size(); ++i) {
             Tensor s = state[i];
             copy_(s, before[i]);
           }
           if (yi.requires_grad()) yi.backward(dy);
           Grads g{need[0] ? xi.grad() : Tensor()};
           for (size_t i = 0; i < params.size(); ++i) {
             TensorImpl& p = *params[i].impl();
             g.push_back(need[i + 1] && p.grad ? Tensor(std::move(p.grad)) : Tensor());
             p.grad = std::move(kept[i]);
           }
           return g;
         });
  return y;
}

}  // namespace cg
