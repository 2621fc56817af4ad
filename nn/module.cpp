#include "nn/module.h"

#include <sstream>

#include "autograd/tape.h"
#include "ops/elementwise.h"

namespace cg::nn {

Tensor Module::register_parameter(const std::string& name, Tensor t) {
  t.set_requires_grad(true);
  params_.emplace_back(name, t);
  return t;
}

Tensor Module::register_buffer(const std::string& name, Tensor t, bool integer) {
  buffers_.emplace_back(name, t);
  if (integer) integer_buffers_.insert(name);
  return t;
}

std::set<std::string> Module::integer_buffers() const {
  std::set<std::string> out(integer_buffers_.begin(), integer_buffers_.end());
  for (const auto& [name, child] : children_)
    for (const std::string& k : child->integer_buffers()) out.insert(name + "." + k);
  return out;
}

void Module::collect(const std::string& prefix, bool buffers,
                     std::vector<std::pair<std::string, Tensor>>& out) const {
  for (const auto& [name, t] : buffers ? buffers_ : params_) out.emplace_back(prefix + name, t);
  for (const auto& [name, child] : children_) child->collect(prefix + name + ".", buffers, out);
}

std::vector<std::pair<std::string, Tensor>> Module::named_parameters() const {
  std::vector<std::pair<std::string, Tensor>> out;
  collect("", false, out);
  return out;
}

std::vector<std::pair<std::string, Tensor>> Module::named_buffers() const {
  std::vector<std::pair<std::string, Tensor>> out;
  collect("", true, out);
  return out;
}

std::vector<std::pair<std::string, Tensor>> Module::named_tensors() const {
  auto out = named_parameters();
  for (auto& b : named_buffers()) out.push_back(b);
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& [name, t] : named_parameters()) out.push_back(t);
  return out;
}

std::vector<std::pair<std::string, Module*>> Module::named_modules() {
  std::vector<std::pair<std::string, Module*>> out{{"", this}};
  for (auto& [name, child] : children_)
    for (auto& [sub, m] : child->named_modules()) out.emplace_back(sub.empty() ? name : name + "." + sub, m);
  return out;
}

std::vector<std::pair<std::string, Module*>> Module::named_children() const {
  std::vector<std::pair<std::string, Module*>> out;
  for (const auto& [name, child] : children_) out.emplace_back(name, child.get());
  return out;
}

int64_t Module::num_parameters() const {
  int64_t n = 0;
  for (auto& [name, t] : named_parameters()) n += t.numel();
  return n;
}

std::map<std::string, Tensor> Module::state_dict() const {
  std::map<std::string, Tensor> sd;
  for (auto& [name, t] : named_tensors()) sd.emplace(name, t.detach());
  return sd;
}

void Module::load_state_dict(const std::map<std::string, Tensor>& sd, const std::string& what) {
  const auto params = named_tensors();
  std::vector<std::string> missing, unexpected, misshaped;
  std::map<std::string, const Tensor*> mine;
  for (const auto& [name, t] : params) {
    mine[name] = &t;
    auto it = sd.find(name);
    if (it == sd.end())
      missing.push_back(name);
    else if (it->second.shape() != t.shape())
      misshaped.push_back(name + " (expected " + shape_str(t.shape()) + ", found " +
                          shape_str(it->second.shape()) + ")");
  }
  for (const auto& [name, t] : sd)
    if (!mine.count(name)) unexpected.push_back(name);
  if (!missing.empty() || !unexpected.empty() || !misshaped.empty()) {
    std::ostringstream os;
    os << "cannot load " << what << " into " << type_name() << ":";
    auto list = [&](const char* label, const std::vector<std::string>& v) {
      if (v.empty()) return;
      os << "\n  " << label << " (" << v.size() << "):";
      for (size_t i = 0; i < v.size() && i < 20; ++i) os << (i ? ", " : " ") << v[i];
      if (v.size() > 20) os << ", ...";
    };
    list("missing keys", missing);
    list("unexpected keys", unexpected);
    list("mis-shaped keys", misshaped);
    throw Error(os.str());
  }
  NoGradGuard no_grad;
  for (const auto& [name, t] : params) {
    Tensor dst = t;
    copy_(dst, sd.at(name));
  }
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [name, child] : children_) child->train(on);
}

void Module::to(Device dev) {
  for (auto& [name, t] : named_tensors()) {
    if (t.device() == dev) continue;
    TensorImpl* impl = t.impl();
    Tensor moved = t.detach().to(dev);
    impl->storage = moved.impl()->storage;  // every handle to this parameter now sees the new device
    impl->device = dev;
    impl->grad.reset();
  }
}

void Module::to(DType dt) {
  for (auto& [name, t] : named_tensors()) {
    if (t.dtype() == dt) continue;
    TensorImpl* impl = t.impl();
    Tensor converted = t.detach().to(dt);
    impl->storage = converted.impl()->storage;
    impl->dtype = dt;
    impl->grad.reset();
  }
}

void Module::set_requires_grad(bool on) {
  for (auto& [name, t] : named_parameters()) t.impl()->requires_grad = on;
}

Sequential& Sequential::add(std::shared_ptr<Module> m) {
  const int places = m->sequential_places();
  register_module(std::to_string(next_index_), std::move(m));
  next_index_ += places;
  return *this;
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor h = x;
  for (const auto& [name, child] : children()) h = child->forward(h);
  return h;
}

std::string describe(Module& m) {
  std::ostringstream os;
  for (auto& [path, mod] : m.named_modules()) {
    const int depth = path.empty() ? 0 : 1 + static_cast<int>(std::count(path.begin(), path.end(), '.'));
    os << std::string(static_cast<size_t>(2 * depth), ' ') << (path.empty() ? "" : path + ": ")
       << mod->type_name();
    if (mod->named_parameters().size() && mod->named_modules().size() == 1)
      os << " (" << mod->num_parameters() << ")";
    os << "\n";
  }
  os << "total parameters: " << m.num_parameters() << "\n";
  return os.str();
}

}  // namespace cg::nn
