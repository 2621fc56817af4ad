// Resuming: the learning-rate schedule rule (exact resume, changed schedule flags, weights only),
// checkpoint sets that stay whole through a crash at any point of a save (kill -9 included), and
// the messages that list which checkpoints exist.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <random>

#include "helpers.h"
#include "models/common/checkpoint.h"
#include "models/common/cli.h"
#include "models/common/trainer.h"
#include "models/cyclegan/cycle_gan_model.h"
#include "nn/safetensors.h"

using namespace cg;
using namespace cg::models;
using namespace cg::cyclegan;
using cg::test::make_dataset;
using cg::test::read_file;
using cg::test::scratch;
namespace fs = std::filesystem;

namespace {

Options small_options(const std::string& root, const std::string& ckpt) {
  Options o = test::tiny_experiment(root, ckpt);
  o.pool_size = 3;
  o.print_freq = 2;
  o.display_freq = 1000;
  o.save_latest_freq = 1000;
  o.num_threads = 1;
  o.seed = 11;
  return o;
}

// The options cyclegan_test would have for the experiment `o` trained.
Options test_side(const Options& o) {
  Options t = default_options("test", false);
  t.no_dropout = true;  // a cycle_gan run's generators (the official: pass --no_dropout)
  t.checkpoints_dir = o.checkpoints_dir;
  t.name = o.name;
  t.ngf = o.ngf;
  t.netG = o.netG;
  return t;
}

// The saved training state's JSON (metadata of <label>_train_state.safetensors).
std::string state_json(const Options& o, const std::string& label) {
  return safetensors::load(state_file(o, label)).metadata.at("train_state");
}

// Every tensor of the four networks, bit for bit.
bool same_networks(const Options& a, const Options& b, const std::string& label) {
  for (const char* net : {"G_A", "G_B", "D_A", "D_B"})
    if (!test::first_difference(net_file(a, label, net), net_file(b, label, net)).empty()) return false;
  return true;
}

}  // namespace

TEST_CASE("the linear schedule never goes below zero past its last epoch") {
  nn::LRSchedule s({"linear", 2e-4, 3, 3, 1, 50});
  CHECK(s.lr_at(5) ==
        doctest::Approx(2e-4 * (1 - 3.0 / 4)).epsilon(1e-12).scale(0));  // epoch 6, the last: 1/4 of the rate
  CHECK(s.lr_at(6) == 0.0);                                              // 4/4
  CHECK(s.lr_at(7) == 0.0);                                              // would be -1/4 unclamped
  CHECK(s.lr_at(20) == 0.0);
  nn::LRSchedule late({"linear", 2e-4, 3, 3, 5, 50});  // a weights-only resume at epoch 5
  CHECK(late.lr_at(1) == doctest::Approx(2e-4 * (1 - 3.0 / 4)).epsilon(1e-12).scale(0));
  CHECK(late.lr_at(4) == 0.0);
}

TEST_CASE("the official resume recipe (--epoch 2 --epoch_count 3) continues the schedule exactly") {
  const std::string dir = scratch("resume_recipe");
  const std::string data = make_dataset(dir + "/data", 2, 2, 36, 36, 21);
  Options straight = small_options(data, dir + "/straight");
  straight.n_epochs = 3;
  straight.n_epochs_decay = 3;
  straight.save_epoch_freq = 1;
  Options split = straight;
  split.checkpoints_dir = dir + "/split";
  REQUIRE(run_training(straight, {nullptr, true}) == 0);
  // stopped in epoch 3 (2 samples per epoch) after checkpoint 2 was saved, then resumed the official way
  REQUIRE(run_training(split, {[](int64_t n) { return n == 5; }, true}) == 0);
  split.continue_train = true;
  split.epoch = "2";
  split.epoch_count = 3;
  REQUIRE(run_training(split, {nullptr, true}) == 0);
  CHECK(same_networks(straight, split, "latest"));
  // rates 1, 1, 0.75, 0.5, 0.25 and 0 of 2e-4 in epochs 1-6 (the schedule steps as each epoch
  // starts); with the resumed run's --epoch_count added to the saved position they would have gone
  // 0.25, 0, -0.25, -0.5 and the networks would differ
  for (const auto& o : {straight, split}) {
    const std::string st = state_json(o, "latest");
    CHECK(st.find("\"last_epoch\":6") != std::string::npos);
    CHECK(st.find("\"epoch_count\":1") != std::string::npos);  // the run's first epoch, kept
  }
  CycleGANModel m(split, true);
  const auto r = load_checkpoint(m, "latest");
  REQUIRE(r.has_value());
  CHECK(m.lr() == 0.0);
  // the unused --epoch_count is named in a note; nothing else changed
  REQUIRE(r->notes.size() == 1);
  CHECK(r->notes[0].find("--epoch_count 3 is not used") != std::string::npos);
}

TEST_CASE("a plateau schedule resumed with a new --lr keeps its reductions - scaled to the new base rate") {
  const std::string dir = scratch("resume_plateau_lr");
  Options o = small_options(make_dataset(dir + "/data", 2, 2, 36, 36, 23), dir + "/ckpt");
  o.lr_policy = "plateau";
  o.n_epochs = 4;
  o.n_epochs_decay = 4;  // 8 epochs: the constant metric has cut the rate once, to 0.2 x 2e-4
  REQUIRE(run_training(o, {nullptr, true}) == 0);
  {
    CycleGANModel same(o, true);
    REQUIRE(load_checkpoint(same, "latest").has_value());
    CHECK(same.lr() == doctest::Approx(0.2 * 2e-4).epsilon(1e-12).scale(0));
  }
  Options faster = o;
  faster.lr = 4e-4;  // twice the base rate: the reduced rate doubles too (not 4e-4, not 4e-5)
  CycleGANModel m(faster, true);
  const auto r = load_checkpoint(m, "latest");
  REQUIRE(r.has_value());
  REQUIRE(r->notes.size() == 1);
  CHECK(r->notes[0].find("--lr 0.0002 -> 0.0004") != std::string::npos);
  CHECK(m.lr() == doctest::Approx(0.2 * 4e-4).epsilon(1e-12).scale(0));
  CHECK(m.schedule("D").lr() == m.lr());
}

TEST_CASE("changed schedule flags on an exact resume: the new schedule takes over and a note says so") {
  const std::string dir = scratch("resume_changed");
  Options o = small_options(make_dataset(dir + "/data", 2, 2, 36, 36, 22), dir + "/ckpt");
  o.n_epochs = 1;
  o.n_epochs_decay = 1;  // finished: 2 steps taken, rate 2e-4 * (1 - 2/2)
  REQUIRE(run_training(o, {nullptr, true}) == 0);
  {
    CycleGANModel same(o, true);
    const auto r = load_checkpoint(same, "latest");
    REQUIRE(r.has_value());
    CHECK(r->notes.empty());
    CHECK(same.lr() == 0.0);
  }
  {  // --lr_decay_iters alone, under the step policy: the new step length takes over
    Options step = o;
    step.checkpoints_dir = dir + "/step";
    step.lr_policy = "step";  // 2 steps of 50: still the base rate
    REQUIRE(run_training(step, {nullptr, true}) == 0);
    step.lr_decay_iters = 1;  // the rate after 2 steps of 1: 2e-4 * 0.1^2
    CycleGANModel s(step, true);
    const auto r = load_checkpoint(s, "latest");
    REQUIRE(r.has_value());
    REQUIRE(r->notes.size() == 1);
    CHECK(r->notes[0].find("--lr_decay_iters 50 -> 1") != std::string::npos);
    CHECK(s.lr() == doctest::Approx(2e-4 * 0.01).epsilon(1e-12).scale(0));
  }
  Options longer = o;
  longer.n_epochs_decay = 3;  // extended: at step 2 the new schedule gives 2e-4 * (1 - 2/4)
  longer.lr = 4e-4;           // and a new base rate: 4e-4 * 0.5
  CycleGANModel m(longer, true);
  const auto r = load_checkpoint(m, "latest");
  REQUIRE(r.has_value());
  REQUIRE(r->notes.size() == 1);
  CHECK(r->notes[0].find("--n_epochs_decay 1 -> 3") != std::string::npos);
  CHECK(r->notes[0].find("--lr 0.0002 -> 0.0004") != std::string::npos);
  CHECK(m.lr() == doctest::Approx(4e-4 * 0.5).epsilon(1e-12).scale(0));
  CHECK(m.schedule("D").lr() == m.lr());
  // the extended run trains two more epochs, at 4e-4 * (1 - 3/4) and 4e-4 * 0
  longer.continue_train = true;
  REQUIRE(run_training(longer, {nullptr, true}) == 0);
  CycleGANModel after(longer, true);
  REQUIRE(load_checkpoint(after, "latest").has_value());
  CHECK(after.lr() == 0.0);
  CHECK(state_json(longer, "latest").find("\"last_epoch\":4") != std::string::npos);
}

TEST_CASE("a weights-only resume follows the official formula from --epoch_count") {
  const std::string dir = scratch("resume_weights_only");
  Options o = small_options(make_dataset(dir + "/data", 2, 2, 36, 36, 23), dir + "/ckpt");
  o.n_epochs = 1;
  o.n_epochs_decay = 0;
  REQUIRE(run_training(o, {nullptr, true}) == 0);
  fs::remove(state_file(o, "latest"));
  o.continue_train = true;
  o.n_epochs = 2;
  o.n_epochs_decay = 2;
  o.epoch_count = 3;
  CycleGANModel m(o, true);
  CHECK_FALSE(load_checkpoint(m, "latest").has_value());
  m.update_learning_rate();  // the first epoch's step: epoch 3 of n_epochs 2 + decay 2
  CHECK(m.lr() == doctest::Approx(2e-4 * (1 - 2.0 / 3)).epsilon(1e-12).scale(0));
  REQUIRE(run_training(o, {nullptr, true}) == 0);
  CHECK(state_json(o, "latest").find("\"epoch\":4") != std::string::npos);
}

TEST_CASE("an interrupted save leaves a whole checkpoint: the old set before the commit - the new after") {
  const std::string dir = scratch("atomic_set");
  Options o = small_options(make_dataset(dir + "/data", 2, 2, 36, 36, 24), dir + "/ckpt");
  o.n_epochs = 1;
  o.n_epochs_decay = 0;
  REQUIRE(run_training(o, {nullptr, true}) == 0);
  const std::string exp = experiment_dir(o);
  const std::string old_id = safetensors::load(net_file(o, "latest", "G_A")).metadata.at("checkpoint");
  // A second, different save to copy "new" files from.
  Options other = o;
  other.checkpoints_dir = dir + "/other";
  other.seed = 99;
  REQUIRE(run_training(other, {nullptr, true}) == 0);
  const std::vector<std::string> files = {"latest_net_G_A.safetensors", "latest_net_G_B.safetensors",
                                          "latest_net_D_A.safetensors", "latest_net_D_B.safetensors",
                                          "latest_train_state.safetensors"};
  auto stage = [&](size_t count) {  // the first `count` new files written as .new
    for (size_t i = 0; i < count; ++i)
      fs::copy_file(experiment_dir(other) + "/" + files[i], exp + "/" + files[i] + ".new",
                    fs::copy_options::overwrite_existing);
  };
  const std::string new_id = safetensors::load(net_file(other, "latest", "G_A")).metadata.at("checkpoint");

  SUBCASE("killed while writing the new files: the old set loads and the partial files go") {
    stage(3);
    std::ofstream(exp + "/latest_net_D_B.safetensors.new.tmp") << "half a file";
    CycleGANModel m(o, true);
    REQUIRE(load_checkpoint(m, "latest").has_value());
    CHECK(safetensors::load(net_file(o, "latest", "G_A")).metadata.at("checkpoint") == old_id);
    for (const auto& f : files) {
      CHECK_FALSE(fs::exists(exp + "/" + f + ".new"));
      CHECK(fs::exists(exp + "/" + f));
    }
    CHECK_FALSE(fs::exists(exp + "/latest_net_D_B.safetensors.new.tmp"));
  }
  SUBCASE("killed while writing the journal: the old set loads and the half journal goes") {
    stage(5);
    std::ofstream(exp + "/latest_checkpoint.commit.tmp") << "latest_net_G_A.safetensors\n";
    CycleGANModel m(o, true);
    REQUIRE(load_checkpoint(m, "latest").has_value());
    CHECK(safetensors::load(net_file(o, "latest", "G_A")).metadata.at("checkpoint") == old_id);
    for (const auto& f : files) CHECK_FALSE(fs::exists(exp + "/" + f + ".new"));
    CHECK_FALSE(fs::exists(exp + "/latest_checkpoint.commit.tmp"));
  }
  SUBCASE(
      "killed after the commit, two files already renamed: readers see the new set, resume completes it") {
    stage(files.size());
    {
      std::ofstream j(exp + "/latest_checkpoint.commit");
      for (const auto& f : files) j << f << "\n";
    }
    for (size_t i = 0; i < 2; ++i) fs::rename(exp + "/" + files[i] + ".new", exp + "/" + files[i]);
    // a reader that changes nothing (cyclegan_test) takes the new files
    CycleGANModel g(test_side(o), false);
    CHECK_NOTHROW(load_networks(g, "latest"));
    CHECK(fs::exists(exp + "/latest_checkpoint.commit"));
    // the trainer finishes the commit and loads one whole new set
    CycleGANModel m(o, true);
    REQUIRE(load_checkpoint(m, "latest").has_value());
    for (const auto& f : files) {
      CAPTURE(f);
      CHECK_FALSE(fs::exists(exp + "/" + f + ".new"));
      if (f.find("train_state") == std::string::npos)
        CHECK(safetensors::load(exp + "/" + f).metadata.at("checkpoint") == new_id);
    }
    CHECK_FALSE(fs::exists(exp + "/latest_checkpoint.commit"));
  }
}

TEST_CASE("networks from different saves are refused - listing the checkpoints that exist") {
  const std::string dir = scratch("mixed_saves");
  Options o = small_options(make_dataset(dir + "/data", 2, 2, 36, 36, 25), dir + "/ckpt");
  o.n_epochs = 2;
  o.n_epochs_decay = 0;
  o.save_epoch_freq = 1;
  REQUIRE(run_training(o, {nullptr, true}) == 0);
  fs::copy_file(net_file(o, "1", "G_A"), net_file(o, "latest", "G_A"), fs::copy_options::overwrite_existing);
  CycleGANModel m(o, true);
  CHECK_THROWS_WITH_AS(load_checkpoint(m, "latest"), doctest::Contains("checkpoints there: latest, 1, 2"),
                       Error);
  CHECK_THROWS_WITH_AS(load_checkpoint(m, "7"),
                       doctest::Contains(("checkpoints in " + experiment_dir(o) + ": latest, 1, 2").c_str()),
                       Error);
  // cyclegan_test refuses the mixed pair too
  CycleGANModel g(test_side(o), false);
  CHECK_THROWS_WITH_AS(load_networks(g, "latest"), doctest::Contains("different saves"), Error);
  CHECK_NOTHROW(load_networks(g, "2"));
}

TEST_CASE(
    "kill -9 at random moments while latest is saved every iteration: --continue_train always resumes") {
  const std::string dir = scratch("kill9");
  const std::string data = make_dataset(dir + "/data", 3, 3, 36, 36, 26);
  const std::vector<std::string> base =
      test::tiny_train_command(data, dir + "/ckpt", {"--save_latest_freq", "1", "--num_threads", "0"});
  std::vector<std::string> resume = base;
  resume.insert(resume.end(), {"--continue_train", "--n_epochs", "1"});  // ends at once: a load and a save
  std::mt19937 rng(5);
  const std::string first = dir + "/ckpt/tiny/latest_train_state.safetensors";
  int kills = 0;
  for (int trial = 0; trial < 6; ++trial) {
    CAPTURE(trial);
    fs::remove_all(dir + "/ckpt");
    const pid_t pid = test::spawn(base, dir + "/train.log");
    REQUIRE(pid > 0);
    // wait for the first save, then a random moment within the next ~0.4 s of saving every step
    for (int i = 0; i < 1500 && !fs::exists(first); ++i) usleep(20000);
    usleep(std::uniform_int_distribution<int>(0, 400000)(rng));
    if (kill(pid, SIGKILL) == 0) ++kills;
    test::wait_exit(pid);
    const pid_t again = test::spawn(resume, dir + "/resume.log");
    const int rc = test::wait_exit(again);
    CHECK_MESSAGE(rc == 0, read_file(dir + "/resume.log"));
    std::vector<std::string> leftovers;
    for (const auto& e : fs::directory_iterator(dir + "/ckpt/tiny")) {
      const std::string f = e.path().filename().string();
      if (f.ends_with(".new") || f.ends_with(".tmp") || f.ends_with(".commit")) leftovers.push_back(f);
    }
    CHECK_MESSAGE(leftovers.empty(), (leftovers.empty() ? std::string() : leftovers[0]));
  }
  CHECK(kills == 6);
}

TEST_CASE("a corrupt or foreign training state is refused naming the file and the entry - nothing changes") {
  const std::string dir = scratch("bad_state");
  Options o = small_options(make_dataset(dir + "/data", 2, 2, 36, 36, 27), dir + "/ckpt");
  o.n_epochs = 2;
  o.n_epochs_decay = 0;
  REQUIRE(run_training(o, {nullptr, true}) == 0);
  const std::string spath = state_file(o, "latest");
  const safetensors::Contents good = safetensors::load(spath);
  const nlohmann::json st = nlohmann::json::parse(good.metadata.at("train_state"));
  const std::string id = st.at("checkpoint").get<std::string>();
  {  // the untouched state restores (the cases below fail for their change alone)
    CycleGANModel m(o, true);
    CHECK(restore_train_state(m, good, "'x'", id).pos.epoch == st.at("epoch").get<int>());
  }
  struct Case {
    const char* what;
    std::function<void(nlohmann::json&, std::map<std::string, Tensor>&)> change;
    const char* error;
  };
  const Tensor nan = Tensor::full({}, NAN, DType::F64);
  const std::vector<Case> cases = {
      {"a newer version", [](auto& j, auto&) { j["version"] = 4; }, "'version' is 4, outside [1, 3]"},
      {"another format", [](auto& j, auto&) { j["format"] = "something else"; }, "unknown format"},
      {"a fractional epoch", [](auto& j, auto&) { j["epoch"] = 1e300; }, "'epoch' is not a whole number"},
      {"a negative position", [](auto& j, auto&) { j["epoch_iter"] = -5; }, "'epoch_iter' is -5, outside"},
      {"epoch_done not a bool", [](auto& j, auto&) { j["epoch_done"] = 1; },
       "'epoch_done' is not true or false"},
      {"a pool larger than --pool_size", [](auto& j, auto&) { j["fake_A_pool"] = 99; },
       "'fake_A_pool' is 99, outside [0, 3]"},
      {"a pool image of the wrong shape",
       [](auto&, auto& t) {
         t["fake_B_pool.0"] = Tensor::zeros({1, 1, 32, 32});
       },
       "entry 'fake_B_pool.0' has shape [1, 1, 32, 32], not (1, 3, H, W)"},
      {"a pool image outside tanh's range",
       [](auto&, auto& t) {
         t["fake_A_pool.0"] = Tensor::full({1, 3, 32, 32}, 2.0);
       },
       "entry 'fake_A_pool.0' holds 2.0"},
      {"a pool image holding NaN",
       [](auto&, auto& t) {
         t["fake_B_pool.1"] = Tensor::full({1, 3, 32, 32}, NAN);
       },
       "entry 'fake_B_pool.1' holds nan"},
      {"a NaN step count", [&](auto&, auto& t) { t["optimizer_G.0.step"] = nan; },
       "optimizer entry 'optimizer_G.0.step' is nan"},
      {"a fractional step count",
       [](auto&, auto& t) { t["optimizer_D.2.step"] = Tensor::full({}, 2.5, DType::F64); },
       "'optimizer_D.2.step' is 2.5"},
      {"a negative second moment",
       [](auto&, auto& t) {
         Tensor& v = t["optimizer_G.1.exp_avg_sq"];
         v = Tensor::full(v.shape(), -1.0);
       },
       "'optimizer_G.1.exp_avg_sq' holds -1.0"},
      {"an infinite first moment",
       [](auto&, auto& t) {
         Tensor& v = t["optimizer_D.0.exp_avg"];
         v = Tensor::full(v.shape(), INFINITY);
       },
       "'optimizer_D.0.exp_avg' holds inf"},
      {"a moment of the wrong shape", [](auto&, auto& t) { t["optimizer_G.0.exp_avg"] = Tensor::zeros({3}); },
       "'optimizer_G.0.exp_avg' has shape [3]"},
      {"state for a parameter the network lacks",
       [](auto&, auto& t) { t["optimizer_G.999.step"] = Tensor::full({}, 1.0, DType::F64); },
       "'optimizer_G.999.step' does not belong to any of the"},
      {"state for the parameter after the network's last",
       [](auto&, auto& t) {
         int n = 0;  // the generators' parameter count: every one has a step after training
         while (t.count("optimizer_G." + std::to_string(n) + ".step")) ++n;
         t["optimizer_G." + std::to_string(n) + ".step"] = Tensor::full({}, 1.0, DType::F64);
       },
       "does not belong to any of the"},
      {"a missing step", [](auto&, auto& t) { t.erase("optimizer_D.1.step"); },
       "'optimizer_D.1.step' is missing"},
      {"a malformed generator", [](auto& j, auto&) { j["generators"]["cpu"] = "12 x"; },
       "malformed generator state"},
      {"a learning rate that is a string", [](auto& j, auto&) { j["scheduler_G"]["lr"] = "fast"; },
       "'lr' is not a finite number"},
      {"an unknown schedule policy", [](auto& j, auto&) { j["schedule"]["policy"] = "zigzag"; },
       "unknown lr_policy 'zigzag'"},
      {"another save's state", [](auto& j, auto&) { j["checkpoint"] = "0-deadbeef"; },
       "belongs to another save"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.what);
    nlohmann::json j = st;
    std::map<std::string, Tensor> t = good.tensors;
    c.change(j, t);
    CycleGANModel m(o, true);
    try {
      restore_train_state(m, {t, {{"train_state", j.dump()}}, {}}, "'" + spath + "'", id);
      FAIL("restored a bad training state");
    } catch (const Error& e) {
      const std::string msg = e.what();
      CHECK_MESSAGE(msg.rfind("'" + spath + "'", 0) == 0, msg);  // the file comes first
      CHECK_MESSAGE(msg.find(c.error) != std::string::npos, msg);
    }
  }
  {  // a version-1 state has no "schedule": the run's first epoch follows from its position and steps
    nlohmann::json v1 = st;
    REQUIRE(v1.contains("schedule"));
    v1.erase("schedule");
    v1["version"] = 1;
    CycleGANModel now(o, true), old(o, true);
    restore_train_state(now, good, "'x'", id);
    const Restored r = restore_train_state(old, {good.tensors, {{"train_state", v1.dump()}}, {}}, "'x'", id);
    CHECK(r.notes.empty());
    CHECK(old.schedule("G").options().epoch_count == 1);
    CHECK(old.schedule("D").options().epoch_count == 1);
    CHECK(old.schedule("G").last_epoch() == now.schedule("G").last_epoch());
    CHECK(old.lr() == now.lr());
  }
  CycleGANModel m(o, true);
  CHECK_THROWS_WITH_AS(restore_train_state(m, {good.tensors, {}, {}}, "'f'", id),
                       doctest::Contains("no 'train_state' metadata"), Error);

  // Through the program: --continue_train stops with the file's name, and writes nothing.
  safetensors::Contents bad = good;
  nlohmann::json j = st;
  j["version"] = 7;
  bad.metadata["train_state"] = j.dump();
  safetensors::save(spath, bad.tensors, bad.metadata);
  std::map<std::string, std::string> before;
  for (const auto& e : fs::directory_iterator(experiment_dir(o)))
    if (e.is_regular_file()) before[e.path().string()] = read_file(e.path().string());
  o.continue_train = true;
  o.n_epochs = 3;
  CHECK_THROWS_WITH_AS(
      run_training(o, {nullptr, true}),
      doctest::Contains(("'" + spath + "' is not a training state this program can read").c_str()), Error);
  std::map<std::string, std::string> after;
  for (const auto& e : fs::directory_iterator(experiment_dir(o)))
    if (e.is_regular_file()) after[e.path().string()] = read_file(e.path().string());
  CHECK(before == after);
}

TEST_CASE(
    "a gray-to-colour run (--input_nc 1 --output_nc 3) saves and resumes both pools with their channels") {
  const std::string dir = scratch("gray_to_rgb");
  Options o = small_options(make_dataset(dir + "/data", 2, 2, 36, 36, 31), dir + "/ckpt");
  o.input_nc = 1;  // fake_A (from G_B) has 1 channel, fake_B (from G_A) 3
  o.set("lambda_identity", 0);
  o.n_epochs = 1;
  o.n_epochs_decay = 0;
  REQUIRE(run_training(o, {nullptr, true}) == 0);
  const safetensors::Contents c = safetensors::load(state_file(o, "latest"));
  REQUIRE(c.tensors.count("fake_A_pool.0"));
  REQUIRE(c.tensors.count("fake_B_pool.0"));
  CHECK(c.tensors.at("fake_A_pool.0").shape()[1] == 1);
  CHECK(c.tensors.at("fake_B_pool.0").shape()[1] == 3);
  CycleGANModel m(o, true);
  REQUIRE(load_checkpoint(m, "latest").has_value());
  CHECK(m.fake_A_pool.images().size() == 2);
  CHECK(m.fake_B_pool.images().size() == 2);
  CHECK(m.fake_B_pool.images()[0].shape() == c.tensors.at("fake_B_pool.0").shape());
}
