// Module: named parameters and submodules, giving state-dict names exactly as PyTorch would
// ("model.10.conv_block.1.weight"), train/eval mode, device moves and state-dict IO.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "tensor/tensor.h"

namespace cg::nn {

// How a module's forward() combines its children, for programs that walk a network layer by layer
// instead of calling forward() (the tiled evaluator, nn/tiled.h): kLayer, a layer of its own whose
// forward() is all there is; kChain, the children applied in order (Sequential, and wrappers around
// one child); kResidual, x + chain(x) (a ResNet block); kConcat, cat(x, chain(x)) along the
// channels (a U-Net skip block).
enum class Structure { kLayer, kChain, kResidual, kConcat };

class Module {
 public:
  virtual ~Module() = default;
  virtual Tensor forward(const Tensor& x) = 0;
  Tensor operator()(const Tensor& x) { return forward(x); }
  // The class name PyTorch would print ("Conv2d", "ResnetBlock"...): init and printing use it.
  virtual std::string type_name() const = 0;
  // How many of PyTorch's layers this one is, i.e. how many indices it takes in a Sequential
  // (2 for a fused pair such as InstanceNormAct).
  virtual int sequential_places() const { return 1; }
  // How forward() uses the children (above), and the children in order: what a walker needs.
  virtual Structure structure() const { return Structure::kLayer; }
  std::vector<std::pair<std::string, Module*>> named_children() const;
  // Throws, as forward() would, when an input of this shape cannot be taken (a walker that never
  // calls forward() asks here first). Nothing by default.
  virtual void check_input(const Shape& /*x*/) const {}

  // Every parameter with its full dotted name, depth first in registration order (PyTorch's order).
  std::vector<std::pair<std::string, Tensor>> named_parameters() const;
  std::vector<Tensor> parameters() const;
  // Every module below (and including) this one, with its dotted path ("" for this one).
  std::vector<std::pair<std::string, Module*>> named_modules();
  int64_t num_parameters() const;

  // Buffers: state that is saved and moved with the parameters but not trained (batch norm's
  // running statistics), named as PyTorch names them.
  std::vector<std::pair<std::string, Tensor>> named_buffers() const;

  // Parameters and buffers by name.
  std::map<std::string, Tensor> state_dict() const;
  // The buffers PyTorch keeps as integers (batch norm's num_batches_tracked, an int64), by their
  // state-dict names: files write them as I64, as PyTorch does (nn/safetensors.h).
  std::set<std::string> integer_buffers() const;
  // Copies values into the existing parameters (on their device). Throws, naming every missing,
  // unexpected and mis-shaped key, before changing anything; `what` names the source in errors.
  void load_state_dict(const std::map<std::string, Tensor>& sd, const std::string& what = "state dict");

  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }
  void to(Device dev);              // moves every parameter and buffer in place
  void to(DType dt);                // converts them in place (float64: for exact comparisons)
  void set_requires_grad(bool on);  // freezes or unfreezes every parameter

 protected:
  // Registers a parameter (requires_grad on) under `name`; returns the handle the layer keeps.
  Tensor register_parameter(const std::string& name, Tensor t);
  // Registers a buffer (no gradient); the layer updates it in place (copy_), so handles stay valid.
  // `integer`: PyTorch keeps it as an int64 (held here as a float, whose whole numbers are exact
  // to 2^24 in float32).
  Tensor register_buffer(const std::string& name, Tensor t, bool integer = false);
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> m) {
    children_.emplace_back(name, m);
    return m;
  }
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& children() const { return children_; }

 private:
  void collect(const std::string& prefix, bool buffers,
               std::vector<std::pair<std::string, Tensor>>& out) const;
  std::vector<std::pair<std::string, Tensor>> named_tensors() const;  // parameters, then buffers
  std::vector<std::pair<std::string, Tensor>> params_, buffers_;
  std::set<std::string> integer_buffers_;  // names (in buffers_) of the integer ones
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

// Children named by their index in PyTorch's nn.Sequential ("0", "1", ...), applied in order. Index
// names count parameter-free layers, and a fused layer counts as the layers it replaces, so the
// state-dict keys line up with PyTorch's.
class Sequential : public Module {
 public:
  Sequential& add(std::shared_ptr<Module> m);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Sequential"; }
  Structure structure() const override { return Structure::kChain; }

 private:
  int next_index_ = 0;
};

// A short PyTorch-style listing of the module tree, with parameter counts.
std::string describe(Module& m);

}  // namespace cg::nn
