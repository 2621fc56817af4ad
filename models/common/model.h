// The model interface every model implements (the role of the official BaseModel), and what they
// share: options, device, optimizers with their learning-rate schedules, the losses of the last
// step kept on the device, the captured step (nn/captured_step.h). The harness around it (the
// training loop, the tester, checkpoints, the pages, the flags) works with any model through this
// interface alone.
#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "data/dataset.h"
#include "data/loader.h"
#include "models/common/options.h"
#include "nn/adam.h"
#include "nn/captured_step.h"
#include "nn/lr_schedule.h"
#include "nn/module.h"
#include "nn/safetensors.h"
#include "nn/tiled.h"

namespace cg::models {

// The device --device names, after checking that this build and this machine can run it: an
// error that says which is missing otherwise.
Device options_device(const Options& opt);
// For the programs that run on one GPU (the tester, the CGAN sampler): with --device cuda, makes
// --gpu_ids' GPU this process's (GPU 0 when none is named). Throws naming a GPU that is not there.
void select_gpu(const Options& opt);

class Model {
 public:
  // Checks the options (validate_options) and picks the device; the derived model builds its
  // networks, losses and optimizers (add_optimizer).
  Model(const Options& opt, bool is_train);
  virtual ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  // ---- what the model is (the official names and orders) ----
  virtual std::string name() const = 0;                     // its --model (its ModelSpec's name)
  virtual std::vector<std::string> loss_names() const = 0;  // loss_names
  // visual_names: every name current_visuals can return, in its order
  virtual std::vector<std::string> visual_names() const = 0;
  // The networks as (name, module), the official model_names: what checkpoints save and load as
  // <label>_net_<name>. In testing only those the test needs (the generators).
  virtual std::vector<std::pair<std::string, nn::Module*>> networks() const = 0;
  // The training page's loss charts: (title, loss names); by default one chart of every loss.
  virtual std::vector<std::pair<std::string, std::vector<std::string>>> loss_charts() const;

  // ---- the work ----
  virtual void set_input(const data::Batch& batch) = 0;  // --direction BtoA swaps A and B
  virtual void forward() = 0;
  virtual void optimize_parameters() = 0;
  void test();  // forward without recording (the official test(): no_grad)
  // --tile_size: from now on the generators translate tile by tile (nn/tiled.h), equal to whole
  // images in memory bounded by the tile size; nothing turns it off. How many translations went
  // through it so far (the tester checks that the model's forward uses generate()).
  void set_tiling(const nn::TiledOptions& tiling) { tiling_ = tiling; }
  int64_t tiled_translations() const { return tiled_translations_; }

  // ---- what the harness reads ----
  // The losses of the last step by name, in loss_names' order: one copy from the device.
  std::vector<std::pair<std::string, double>> current_losses() const;
  // False once any loss of any step since the model was built was NaN or infinite. The check runs
  // on the device (no copy per step); asking copies one value.
  bool losses_finite() const;
  // The images of the last forward, by visual name, in visual_names' order (undefined ones left out).
  virtual std::vector<std::pair<std::string, Tensor>> current_visuals() const = 0;
  // The files of the current input (the official get_image_paths: A's, or B's under BtoA).
  const std::vector<std::string>& image_paths() const { return image_paths_; }

  // ---- optimizers and schedules: one schedule per optimizer, as the official setup ----
  struct Optimizer {
    std::string name;  // "G" for optimizer_G (saved as optimizer_G.* and scheduler_G)
    std::unique_ptr<nn::Adam> adam;
    std::unique_ptr<nn::LRSchedule> schedule;
  };
  std::vector<Optimizer>& optimizers() { return optimizers_; }
  const std::vector<Optimizer>& optimizers() const { return optimizers_; }
  nn::Adam& optimizer(const std::string& name) const;  // throws for an unknown name
  nn::LRSchedule& schedule(const std::string& name) const;
  // Steps every schedule (once per epoch) and sets its optimizer's rate; returns {old, new} of the first.
  std::pair<double, double> update_learning_rate();
  double lr() const;  // the first optimizer's rate

  // ---- the training state beyond weights, optimizers and schedules (image pools and their
  // random generator): written into a checkpoint's state file, and read back with every entry
  // checked (an error names the entry). Nothing by default. ----
  virtual void save_state(std::map<std::string, Tensor>& tensors, nlohmann::json& state) const;
  virtual void load_state(const safetensors::Contents& contents, const nlohmann::json& state);

  // ---- the captured step (cuda): on unless CG_CUDA_GRAPHS=0 or dropout is on; the trainer turns
  //      it off where data parallel cannot be captured ----
  void set_cuda_graphs(bool on) { step_.set_enabled(on); }
  int graph_replays() const { return step_.replays(); }

  const Options opt;
  const bool is_train;
  const Device device;

 protected:
  // Adam(--lr, (--beta1, beta2), eps) over `params` with the schedule of --lr_policy (beta2: the
  // official CycleGAN's fixed 0.999, or a model's flag such as CUT's --beta2).
  void add_optimizer(const std::string& name, std::vector<Tensor> params, double eps = 1e-8,
                     double beta2 = 0.999);
  // The step's losses, in loss_names' order, into one device tensor, and their health (call it
  // inside the step: it stays on the device).
  void record_losses(const std::vector<Tensor>& losses);
  // ---- the training step, as the official optimize_parameters, captured by the harness ----
  // One piece of a step: `body` is the official code (forward, backward, optimizer updates through
  // update()); `optimizers` those it updates; `written` the members it assigns (what a replay
  // points them back at); `before`, host work before the piece that is never captured (the image
  // pool's draws), whose results the piece reads through stage().
  struct StepPiece {
    std::function<void()> body;
    std::vector<nn::Adam*> optimizers;
    std::vector<Tensor*> written;
    std::function<void()> before = {};
  };
  // Runs one training step made of `pieces` on the model's `inputs` (the batch's tensors, which the
  // pieces read): eagerly the first time a shape is seen, then on cuda captured as one CUDA graph
  // per piece and replayed (nn/captured_step.h), on the CPU always eagerly. Under --amp the
  // convolutions run in bfloat16. The inputs are left as they were (the visuals show them).
  void run_step(const std::vector<Tensor*>& inputs, const std::vector<StepPiece>& pieces);
  // Inside a piece: the optimizer's update (queued while the piece is being captured).
  void update(nn::Adam& optimizer) const;
  // Inside a piece's `before`: `t` as the piece will read it (copied into a fixed buffer when the
  // piece is captured or replayed).
  Tensor stage(const Tensor& t);
  // Every address a captured step bakes in: the parameters of every network and the optimizers'
  // moments.
  std::vector<const void*> fingerprint() const;
  // Requires set_input to have been called; `what` names the caller in the error.
  void need_input(bool ok, const char* what) const;
  // A generator's translation of x, as models call it in forward(): net(x), or the tiled
  // evaluation of net after set_tiling.
  Tensor generate(nn::Module& net, const Tensor& x);

  nn::CapturedStep step_;
  bool capturing_ = false;  // a piece is being captured (run_step)
  std::vector<std::string> image_paths_;
  Tensor loss_values_;  // (number of losses): the last step's, written by record_losses
  std::optional<nn::TiledOptions> tiling_;
  int64_t tiled_translations_ = 0;

 private:
  std::vector<Optimizer> optimizers_;
  Tensor loss_health_;  // (): 0 while every loss so far was finite, NaN after
};

}  // namespace cg::models

#include "models/common/model_spec.h"  // create_model, default_options: the registry
