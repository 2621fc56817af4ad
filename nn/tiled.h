// Tiled evaluation: a generator's output for an image of any size, in memory bounded by a tile
// size, equal to evaluating the whole image at once (to float rounding: the statistics of every
// normalisation are the whole image's, never a tile's).
//
// The network is read as a graph of layers (Module::structure(): chains, residual additions,
// channel concatenations; leaves Conv2d, ConvTranspose2d, ReflectionPad2d, InstanceNorm2d,
// InstanceNormAct, BatchNorm2d, ReLU, LeakyReLU, Tanh, Dropout, identities) and evaluated in
// stages. A stage computes one value that must be kept whole: the input of a normalisation that
// needs statistics (instance norm; batch norm in training mode), a value read by two later layers
// that is not a cheap function of one kept value (a ResNet block's input), or the output. It runs
// tile by tile over that value; each tile computes what it needs from values kept earlier,
// recursively, with the halo its convolutions need: reflection padding is reflected only at the
// image's border, zero padding is zero only outside the image, and strided and transposed
// convolutions map tile rows to input rows exactly, so any tile size works. While a stage writes a
// normalisation's input, it sums each channel's values (in double, around a shift taken from the
// first tile) over every tile; the normalisation then applies the whole image's mean and variance.
// Kept values live in memory up to a budget and in unlinked temporary files beyond it; each is
// dropped after the last stage that reads it.
//
// Batch norm in eval mode is pointwise (its running statistics); in training mode it uses the
// whole batch's statistics and updates its running statistics and count as the whole-image call
// does. Dropout in training mode draws, for each dropout layer in the order the whole-image forward
// reaches them, one number per element in (N, C, H, W) order from the layer's generator, exactly
// as ops/dropout.cpp does: the masks, and the generator's state afterwards, are the whole-image
// call's. The masks are kept as bits until their last reader has run.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "nn/module.h"

namespace cg::nn {

struct TiledProgress {
  int stage = 0, stages = 0;    // the stage running (1-based), of how many
  int64_t tile = 0, tiles = 0;  // tiles of this stage done, of how many
  double fraction = 0;          // of the whole work (the convolutions' FLOPs), done
  double elapsed_s = 0;         // since the evaluation started
  double eta_s = -1;            // seconds left, estimated (-1 before the first tile)
  int64_t temp_file_bytes = 0;  // the most the temporary files hold at once (planned)
  std::string temp_dir;         // where they are
  std::string what;             // the value this stage computes: "model.1 (Conv2d) [1, 64, 4096, 4096]"
};

struct TiledOptions {
  int64_t tile_size =
      512;               // tile side, in pixels of the input; deeper values get proportionally smaller tiles
  std::string temp_dir;  // where the kept values that do not fit in memory go (required when any does)
  // Bytes of kept values held in memory at once; more goes to files. < 0: 256 values of a
  // tile_size x tile_size float plane (256 MiB at tile 512). 0: every kept value in a file.
  int64_t memory_budget = -1;
  std::function<void(const TiledProgress&)> progress;  // after every tile (the callee decides what to print)
  // How the free space under temp_dir is asked: statvfs when empty (tests give their own).
  std::function<int64_t(const std::string& dir)> free_space;
};

// What an evaluation will hold, from the network and the input's shape alone.
struct TiledPlan {
  int stages = 0;
  int64_t temp_file_bytes = 0;  // the most held in temporary files at once
  int64_t memory_bytes = 0;     // the most held in memory at once by kept values and dropout masks
  int64_t file_values = 0;      // how many kept values go to files
  double flops = 0;             // the convolutions' FLOPs, halos included
};
TiledPlan plan_tiled(Module& net, const Shape& x, const TiledOptions& opt);

// net.forward(x), x (N, C, H, W) float32 on any device, computed tile by tile as above. Throws
// cg::Error naming the layer for a module it cannot walk, and before any work when the temporary
// files would not fit in opt.temp_dir's free space (statvfs), saying how much is needed and free.
// Runs without recording (NoGradGuard).
Tensor tiled_forward(Module& net, const Tensor& x, const TiledOptions& opt);

}  // namespace cg::nn
