// A generator as an ONNX model (the protobuf classes of Debian's libonnx-dev): standard ops only
// (Conv, ConvTranspose, Pad reflect, InstanceNormalization, BatchNormalization, Relu, LeakyRelu,
// Tanh, Add, Concat), the weights as initializers under their official state-dict names, input
// "input" and output "output" as NCHW float32 in [-1, 1] with dynamic N, H and W. The network is
// exported in eval mode: batch norms use their running statistics, dropout is off.
#pragma once

#include <string>

#include "nn/module.h"

namespace cg::onnx_export {

// The serialized ModelProto. Throws cg::Error naming the layer it cannot express.
std::string export_generator(nn::Module& generator, int input_nc, int output_nc, int opset);

}  // namespace cg::onnx_export
