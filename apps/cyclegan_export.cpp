// cyclegan_export: writes a trained generator as an ONNX model, to run outside this program (for
// example with onnxruntime). The network flags are cyclegan_test's; see README.md ("ONNX export").
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>

#include "apps/onnx_export.h"
#include "data/files.h"
#include "models/common/checkpoint.h"
#include "models/common/cli.h"
#include "models/common/model.h"
#include "models/networks/networks.h"

namespace fs = std::filesystem;
using namespace cg;
using namespace cg::models;

int main(int argc, char** argv) {
  Options o = default_options("test", false);
  o.no_dropout = true;  // dropout is off in eval mode; its layer would only move ResNet keys
  std::string output;
  int opset = 17;
  CLI::App app(
      "Writes a trained generator as an ONNX model: input 'input' and output 'output', NCHW float32 in "
      "[-1, 1], any batch size, height and width (as the generator allows).",
      "cyclegan_export");
  app.add_option("--name", o.name, "experiment name")->capture_default_str();
  app.add_option("--checkpoints_dir", o.checkpoints_dir, "where experiments keep their checkpoints")
      ->capture_default_str();
  app.add_option("--epoch", o.epoch, "which checkpoint: 'latest', an epoch number, or iter_<N>")
      ->capture_default_str();
  app.add_option("--load_iter", o.load_iter, "when > 0, load checkpoint iter_<load_iter> instead of --epoch")
      ->capture_default_str();
  app.add_option(
         "--model_suffix", std::get<std::string>(o.own.at("model_suffix")),
         "loads <epoch>_net_G<model_suffix>: '_A' for G_A, '_B' for G_B of a cycle_gan experiment; '' "
         "for a pix2pix experiment's G")
      ->capture_default_str();
  app.add_option("--netG", o.netG, "resnet_9blocks | resnet_6blocks | resnet_<N>blocks | unet_256 | unet_128")
      ->capture_default_str();
  app.add_option("--ngf", o.ngf, "filters in the generator's first convolution")->capture_default_str();
  app.add_option("--norm", o.norm, "instance | batch | none")->capture_default_str();
  app.add_option("--input_nc", o.input_nc, "channels of the input images")->capture_default_str();
  app.add_option("--output_nc", o.output_nc, "channels of the output images")->capture_default_str();
  app.add_option("--output", output, "the .onnx file to write")->required();
  app.add_option("--opset", opset, "ONNX opset version (11 to 17)")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  try {
    const std::string label = load_label(o), dir = experiment_dir(o);
    const std::string file =
        committed_file(dir, label, net_file(o, label, "G" + o.get<std::string>("model_suffix")));
    Generator gen(0);  // the weights are replaced by the checkpoint's
    auto G = define_G(o.input_nc, o.output_nc, o.ngf, o.netG, o.norm, false, "normal", 0.02, gen);
    if (!fs::exists(file))
      throw Error("checkpoint file '" + file + "' does not exist (checkpoints in " + dir + ": " +
                  available_checkpoints(dir) + ")");
    load_network(*G, file);
    G->eval();  // batch norms use their running statistics; dropout is off
    const std::string bytes = onnx_export::export_generator(*G, o.input_nc, o.output_nc, opset);
    data::write_file_atomically(output, bytes);  // a failure leaves no partial file under the name
    std::printf("wrote %s (%s from %s, opset %d, %zu bytes)\n", output.c_str(), o.netG.c_str(), file.c_str(),
                opset, bytes.size());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
