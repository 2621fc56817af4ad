#include "apps/onnx_export.h"

#include <onnx/onnx_pb.h>

#include <functional>
#include <vector>

#include "models/networks/networks.h"
#include "nn/layers.h"

namespace cg::onnx_export {
namespace {

// Builds the graph by walking the module tree; every tensor name is the module path of the layer
// that makes it, so the graph reads like the network's listing.
class Builder {
 public:
  explicit Builder(onnx::GraphProto& g) : g_(g) {}

  // Emits module `m` (at `path`) applied to the value `x`; returns the name of its output.
  std::string emit(nn::Module& m, const std::string& path, const std::string& x) {
    const std::string type = m.type_name();
    if (type == "Sequential") {
      std::string h = x;
      for (auto& [name, child] : children(m)) h = emit(*child, join(path, name), h);
      return h;
    }
    if (type == "ResnetGenerator" || type == "UnetGenerator") return only_child(m, path, x);
    if (type == "ResnetBlock") return node("Add", path + ".add", {x, only_child(m, path, x)});
    if (type == "UnetSkipConnectionBlock") {
      const std::string y = only_child(m, path, x);
      if (static_cast<models::UnetSkipConnectionBlock&>(m).outermost()) return y;
      return node("Concat", path + ".cat", {x, y}, [](onnx::NodeProto& n) { attr_int(n, "axis", 1); });
    }
    if (type == "Dropout" || type == "Identity") return x;  // eval mode; --norm none
    if (type == "ReLU") return node("Relu", path, {x});
    if (type == "Tanh") return node("Tanh", path, {x});
    if (auto* l = dynamic_cast<nn::LeakyReLU*>(&m))
      return node("LeakyRelu", path, {x}, [&](onnx::NodeProto& n) { attr_float(n, "alpha", l->slope); });
    if (auto* c = dynamic_cast<nn::Conv2d*>(&m)) {
      std::vector<std::string> in = {x, weight(join(path, "weight"), c->weight)};
      if (c->bias.defined()) in.push_back(weight(join(path, "bias"), c->bias));
      const int64_t k = c->weight.size(2), p = c->padding;
      return node("Conv", path, in, [&](onnx::NodeProto& n) {
        attr_ints(n, "kernel_shape", {k, k});
        attr_ints(n, "strides", {c->stride, c->stride});
        attr_ints(n, "pads", {p, p, p, p});
      });
    }
    if (auto* c = dynamic_cast<nn::ConvTranspose2d*>(&m)) {
      // weight (in, out, k, k) is ONNX's (C, M, kH, kW) layout already
      std::vector<std::string> in = {x, weight(join(path, "weight"), c->weight)};
      if (c->bias.defined()) in.push_back(weight(join(path, "bias"), c->bias));
      const int64_t k = c->weight.size(2), p = c->padding;
      return node("ConvTranspose", path, in, [&](onnx::NodeProto& n) {
        attr_ints(n, "kernel_shape", {k, k});
        attr_ints(n, "strides", {c->stride, c->stride});
        attr_ints(n, "pads", {p, p, p, p});
        attr_ints(n, "output_padding", {c->output_padding, c->output_padding});
      });
    }
    if (auto* r = dynamic_cast<nn::ReflectionPad2d*>(&m)) {
      const int64_t p = r->pad;  // (N, C, H, W) begins, then ends
      const std::string pads = int64s(path + ".pads", {0, 0, p, p, 0, 0, p, p});
      return node("Pad", path, {x, pads}, [](onnx::NodeProto& n) { attr_string(n, "mode", "reflect"); });
    }
    if (auto* in = dynamic_cast<nn::InstanceNorm2d*>(&m))
      return instance_norm(path, x, in->channels, in->eps);
    if (auto* in = dynamic_cast<nn::InstanceNormAct*>(&m)) {  // the two layers it fuses, as ONNX has them
      const std::string y = instance_norm(path, x, in->channels, in->eps);
      if (in->slope == 0) return node("Relu", path + ".act", {y});
      return node("LeakyRelu", path + ".act", {y},
                  [&](onnx::NodeProto& n) { attr_float(n, "alpha", in->slope); });
    }
    if (auto* bn = dynamic_cast<nn::BatchNorm2d*>(&m)) {
      return node("BatchNormalization", path,
                  {x, weight(join(path, "weight"), bn->weight), weight(join(path, "bias"), bn->bias),
                   weight(join(path, "running_mean"), bn->running_mean),
                   weight(join(path, "running_var"), bn->running_var)},
                  [&](onnx::NodeProto& n) {
                    attr_float(n, "epsilon", bn->eps);
                    attr_float(n, "momentum", 1.0 - bn->momentum);  // ONNX's is PyTorch's 1 - m
                  });
    }
    throw Error("cannot export layer '" + path + "' (" + type + ") to ONNX");
  }

 private:
  std::string instance_norm(const std::string& path, const std::string& x, int64_t channels, double eps) {
    // affine=False: ONNX's scale and bias inputs are ones and zeros
    const Tensor one = Tensor::ones({channels}), zero = Tensor::zeros({channels});
    return node("InstanceNormalization", path,
                {x, weight(path + ".onnx_scale", one), weight(path + ".onnx_bias", zero)},
                [&](onnx::NodeProto& n) { attr_float(n, "epsilon", eps); });
  }

  static std::string join(const std::string& a, const std::string& b) { return a.empty() ? b : a + "." + b; }

  // The direct children of m, in order, from its module listing.
  static std::vector<std::pair<std::string, nn::Module*>> children(nn::Module& m) {
    std::vector<std::pair<std::string, nn::Module*>> out;
    for (auto& [p, sub] : m.named_modules())
      if (!p.empty() && p.find('.') == std::string::npos) out.emplace_back(p, sub);
    return out;
  }

  std::string only_child(nn::Module& m, const std::string& path, const std::string& x) {
    const auto ch = children(m);
    if (ch.size() != 1)
      throw Error("cannot export '" + path + "' (" + m.type_name() + "): expected one child");
    return emit(*ch[0].second, join(path, ch[0].first), x);
  }

  using Attrs = std::function<void(onnx::NodeProto&)>;
  std::string node(const char* op, const std::string& name, const std::vector<std::string>& inputs,
                   const Attrs& attrs = {}) {
    onnx::NodeProto* n = g_.add_node();
    n->set_op_type(op);
    n->set_name(name.empty() ? op : name);
    for (const auto& i : inputs) n->add_input(i);
    const std::string out = (name.empty() ? std::string(op) : name) + ".out";
    n->add_output(out);
    if (attrs) attrs(*n);
    return out;
  }

  // A float32 initializer with this name and the values of t.
  std::string weight(const std::string& name, const Tensor& t) {
    onnx::TensorProto* w = g_.add_initializer();
    w->set_name(name);
    w->set_data_type(onnx::TensorProto::FLOAT);
    for (int64_t d : t.shape()) w->add_dims(d);
    const std::vector<float> v = t.detach().to(Device::CPU).to_vector<float>();
    w->set_raw_data(std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float)));
    return name;
  }

  std::string int64s(const std::string& name, const std::vector<int64_t>& values) {
    onnx::TensorProto* w = g_.add_initializer();
    w->set_name(name);
    w->set_data_type(onnx::TensorProto::INT64);
    w->add_dims(static_cast<int64_t>(values.size()));
    for (int64_t v : values) w->add_int64_data(v);
    return name;
  }

  static void attr_int(onnx::NodeProto& n, const char* key, int64_t v) {
    auto* a = n.add_attribute();
    a->set_name(key);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(v);
  }
  static void attr_ints(onnx::NodeProto& n, const char* key, const std::vector<int64_t>& v) {
    auto* a = n.add_attribute();
    a->set_name(key);
    a->set_type(onnx::AttributeProto::INTS);
    for (int64_t x : v) a->add_ints(x);
  }
  static void attr_float(onnx::NodeProto& n, const char* key, double v) {
    auto* a = n.add_attribute();
    a->set_name(key);
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(static_cast<float>(v));
  }
  static void attr_string(onnx::NodeProto& n, const char* key, const std::string& v) {
    auto* a = n.add_attribute();
    a->set_name(key);
    a->set_type(onnx::AttributeProto::STRING);
    a->set_s(v);
  }

  onnx::GraphProto& g_;
};

// (N, channels, H, W) float32 with N, H and W named, i.e. any size.
void image_type(onnx::ValueInfoProto* v, const std::string& name, int channels) {
  v->set_name(name);
  auto* t = v->mutable_type()->mutable_tensor_type();
  t->set_elem_type(onnx::TensorProto::FLOAT);
  auto* s = t->mutable_shape();
  s->add_dim()->set_dim_param("N");
  s->add_dim()->set_dim_value(channels);
  s->add_dim()->set_dim_param("H");
  s->add_dim()->set_dim_param("W");
}

}  // namespace

std::string export_generator(nn::Module& generator, int input_nc, int output_nc, int opset) {
  // Pad takes its pads as an input (and mode reflect) from opset 11; Debian's ONNX 1.12 knows up to 17
  if (opset < 11 || opset > 17) throw Error("--opset must be in 11..17, got " + std::to_string(opset));
  onnx::ModelProto model;
  model.set_ir_version(opset >= 15 ? 8 : 7);
  model.set_producer_name("cyclegan-cpp");
  model.set_producer_version("0.1");
  auto* imp = model.add_opset_import();
  imp->set_domain("");
  imp->set_version(opset);
  onnx::GraphProto* g = model.mutable_graph();
  g->set_name(generator.type_name());
  image_type(g->add_input(), "input", input_nc);
  Builder b(*g);
  const std::string y = b.emit(generator, "", "input");
  // the last node's output becomes the graph's output, named as the input is
  for (auto& n : *g->mutable_node())
    for (auto& o : *n.mutable_output())
      if (o == y) o = "output";
  image_type(g->add_output(), "output", output_nc);
  std::string bytes;
  if (!model.SerializeToString(&bytes)) throw Error("serialising the ONNX model failed");
  return bytes;
}

}  // namespace cg::onnx_export
