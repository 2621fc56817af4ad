// The collectives (backend/comm.h, ops/all_reduce.h, distributed/) among real ranks: run under mpirun (ctest
// runs it with 2 and 3 ranks). Each rank checks what it sees; the job fails when any rank found a difference.
// The synchronised batch norm is checked in float64 against one process's batch norm on every rank's batch at
// once (forward, input and parameter gradients, running statistics) and by central differences of the loss
// summed over ranks.
//
// `dist_check --gpu` (where there is a GPU): the same collectives on GPU tensors. With 2 ranks on a
// machine of one GPU they share it, so they go through the host-staged path; with one rank the
// NCCL wrappers run on a communicator of one (all-reduce and broadcast are then copies, which still
// drives the bootstrap, the calls and the stream). Exit 77 (ctest's skip) without a GPU.
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "backend/comm.h"
#include "backend/device.h"
#include "cuda/device_api.h"  // NCCL itself, on one rank
#include "distributed/data_parallel.h"
#include "ops/all_reduce.h"
#include "ops/ops.h"
#define DOCTEST_CONFIG_DISABLE  // only the helpers: no test registry in this program
#include "helpers.h"

using namespace cg;

namespace {
int failures = 0;

void expect(bool ok, const std::string& what) {
  if (ok) return;
  ++failures;
  std::fprintf(stderr, "FAIL on rank %d: %s\n", comm::rank(), what.c_str());
}

void expect_close(const Tensor& a, const Tensor& e, double atol, double rtol, const std::string& what) {
  const std::string mm = test::mismatch(a, e, atol, rtol);
  expect(mm.empty(), what + ": " + mm);
}

// Rank r's tensor of `shape`, the same on whichever rank makes it (so every rank can build all).
Tensor of_rank(int r, const Shape& shape, uint64_t salt) {
  Generator g(1000 * salt + static_cast<uint64_t>(r));
  return test::randn64(shape, g);
}

// The float types of a device's tensors (the GPU backend has float32 only), and the tolerance of
// a mean or sum of a few values in each.
std::vector<DType> dtypes(Device dev) {
  return dev == Device::CPU ? std::vector<DType>{DType::F32, DType::F64} : std::vector<DType>{DType::F32};
}
double tolerance(DType dt) { return dt == DType::F32 ? 1e-6 : 1e-14; }

// all_reduce_sum_ and broadcast_ on tensors of `dev` (on the GPU: through whichever path setup_gpu
// chose), against what every rank can compute alone.
void tensor_collectives(Device dev) {
  const int n = comm::size(), r = comm::rank();
  for (DType dt : dtypes(dev)) {
    Tensor t = Tensor::full({1000}, r + 1.0, dt, dev);
    all_reduce_sum_(t);
    // exact on the host; NCCL averages and multiplies back
    expect_close(t.to(Device::CPU), Tensor::full({1000}, n * (n + 1) / 2.0, dt), 0,
                 dev == Device::CPU ? 0 : tolerance(dt),
                 std::string("all_reduce_sum_ on ") + device_name(dev));
    Tensor b = of_rank(r, {17}, 1).to(dt).to(dev);
    broadcast_(b, 0);
    expect(test::identical(b.to(Device::CPU), of_rank(0, {17}, 1).to(dt)),
           std::string("broadcast_ from rank 0 on ") + device_name(dev));
  }
}

// The collectives on host values alone.
void host_collectives() {
  const int n = comm::size(), r = comm::rank();
  expect(comm::all_reduce_max(r * 10) == (n - 1) * 10, "all_reduce_max");
  // ranks send strings of different lengths (rank 0: none)
  const auto all = comm::gather(std::string(static_cast<size_t>(r) * 1000, static_cast<char>('a' + r)));
  if (r == 0) {
    expect(static_cast<int>(all.size()) == n, "gather: one string per rank");
    for (int k = 0; k < n && k < static_cast<int>(all.size()); ++k)
      expect(all[static_cast<size_t>(k)] ==
                 std::string(static_cast<size_t>(k) * 1000, static_cast<char>('a' + k)),
             "gather: rank " + std::to_string(k) + "'s string");
  } else {
    expect(all.empty(), "gather: nothing on other ranks");
  }
}

void gradient_average(Device dev) {
  const int n = comm::size(), r = comm::rank();
  // buckets of 64 bytes (16 floats): the 40-value gradient is reduced where it lies, the small ones
  // share buckets, and a bucket closes when the next would not fit
  const std::vector<Shape> shapes = {{3}, {5}, {40}, {7, 2}, {1}, {16}, {2}};
  for (DType dt : dtypes(dev)) {
    std::vector<Tensor> grads, expected;
    for (size_t k = 0; k < shapes.size(); ++k) {
      const Tensor base = of_rank(0, shapes[k], 10 + k).to(dt);
      grads.push_back((base * (r + 1.0)).to(dev).detach());
      expected.push_back(base * ((n + 1) / 2.0));  // the mean of base * 1, ..., base * n
    }
    distributed::average_gradients(grads, 64);
    for (size_t k = 0; k < shapes.size(); ++k)
      expect_close(grads[k].to(Device::CPU), expected[k], 0, dt == DType::F32 ? 1e-6 : 1e-15,
                   std::string("average_gradients on ") + device_name(dev) + ", tensor " + std::to_string(k));
  }
}

// The differentiable all-reduce: y = sum over ranks of x, and the gradient at each rank's x is the
// sum over ranks of the gradients at y.
void differentiable_all_reduce(Device dev) {
  const int n = comm::size(), r = comm::rank();
  for (DType dt : dtypes(dev)) {
    const double tol = tolerance(dt);
    Tensor x = of_rank(r, {6}, 3).to(dt).to(dev).set_requires_grad();
    Tensor y = all_reduce_sum(x);
    Tensor sum_x = of_rank(0, {6}, 3);
    for (int k = 1; k < n; ++k) sum_x = sum_x + of_rank(k, {6}, 3);
    expect_close(y.to(Device::CPU), sum_x.to(dt), tol, tol,
                 std::string("all_reduce_sum forward on ") + device_name(dev));
    sum(y * of_rank(r, {6}, 4).to(dt).to(dev)).backward();
    Tensor sum_c = of_rank(0, {6}, 4);
    for (int k = 1; k < n; ++k) sum_c = sum_c + of_rank(k, {6}, 4);
    expect_close(x.grad().to(Device::CPU), sum_c.to(dt), tol, tol,
                 std::string("all_reduce_sum backward on ") + device_name(dev));
  }
}

// --norm syncbatch on (2, 3, 4, 4) per rank against batch norm on the (2n, 3, 4, 4) batch of all.
void sync_batch_norm() {
  const int n = comm::size(), r = comm::rank();
  const Shape shape = {2, 3, 4, 4};
  Generator g(77);
  const Tensor w0 = test::randn64({3}, g), b0 = test::randn64({3}, g);  // the same on every rank
  auto weights = [&](int k) { return of_rank(k, shape, 6); };           // the loss sum(y * c)

  Tensor x = of_rank(r, shape, 5).set_requires_grad();
  Tensor w = w0.clone().set_requires_grad(), b = b0.clone().set_requires_grad();
  Tensor rm = Tensor::zeros({3}, DType::F64), rv = Tensor::ones({3}, DType::F64);
  Tensor y = batch_norm2d(x, w, b, rm, rv, true, 0.1, 1e-5, true, /*sync_ranks=*/true);
  sum(y * weights(r)).backward();
  Tensor dw = w.grad().clone(), db = b.grad().clone();
  all_reduce_sum_(dw);  // the parameters' gradient of the loss summed over ranks
  all_reduce_sum_(db);

  std::vector<Tensor> xs, cs;
  for (int k = 0; k < n; ++k) {
    xs.push_back(of_rank(k, shape, 5));
    cs.push_back(weights(k));
  }
  Tensor X = cat0(xs).detach().set_requires_grad();
  Tensor W = w0.clone().set_requires_grad(), B = b0.clone().set_requires_grad();
  Tensor RM = Tensor::zeros({3}, DType::F64), RV = Tensor::ones({3}, DType::F64);
  Tensor Y = batch_norm2d(X, W, B, RM, RV, true);
  sum(Y * cat0(cs)).backward();
  expect_close(y, slice0(Y, 2 * r, 2), 1e-12, 1e-12, "syncbatch forward");
  expect_close(x.grad(), slice0(X.grad(), 2 * r, 2), 1e-12, 1e-10, "syncbatch input gradient");
  expect_close(dw, W.grad(), 1e-12, 1e-10, "syncbatch weight gradient");
  expect_close(db, B.grad(), 1e-12, 1e-10, "syncbatch bias gradient");
  expect_close(rm, RM, 1e-14, 1e-12, "syncbatch running_mean");
  expect_close(rv, RV, 1e-14, 1e-12, "syncbatch running_var (unbiased by the global count)");

  // central differences of J = sum over ranks of sum(y_r * c_r): rank 0's x elements, and w (which
  // every rank holds the same, so it is moved on every rank at once)
  NoGradGuard no_grad;
  auto J = [&](const Tensor& xx, const Tensor& ww) {
    Tensor m = Tensor::zeros({3}, DType::F64), v = Tensor::ones({3}, DType::F64);
    double l = sum(batch_norm2d(xx, ww, b0, m, v, true, 0.1, 1e-5, true, true) * weights(r)).item();
    comm::all_reduce_sum(&l, 1);
    return l;
  };
  const double eps = 1e-6;
  const Tensor x_now = of_rank(r, shape, 5);
  const std::vector<double> gx = x.grad().to_vector<double>(), gw = dw.to_vector<double>();
  for (int64_t i : {0, 7, 40, 95}) {
    std::vector<double> plus = x_now.to_vector<double>(), minus = plus;
    if (r == 0) {
      plus[static_cast<size_t>(i)] += eps;
      minus[static_cast<size_t>(i)] -= eps;
    }
    const double num =
        (J(Tensor::from_vector(plus, shape), w0) - J(Tensor::from_vector(minus, shape), w0)) / (2 * eps);
    if (r == 0)
      expect(std::abs(num - gx[static_cast<size_t>(i)]) <= 1e-6 + 1e-4 * std::abs(num),
             "syncbatch dJ/dx[" + std::to_string(i) + "]: numeric " + std::to_string(num) + ", analytic " +
                 std::to_string(gx[static_cast<size_t>(i)]));
  }
  for (int64_t i = 0; i < 3; ++i) {
    std::vector<double> plus = w0.to_vector<double>(), minus = plus;
    plus[static_cast<size_t>(i)] += eps;
    minus[static_cast<size_t>(i)] -= eps;
    const double num =
        (J(x_now, Tensor::from_vector(plus, {3})) - J(x_now, Tensor::from_vector(minus, {3}))) / (2 * eps);
    expect(std::abs(num - gw[static_cast<size_t>(i)]) <= 1e-6 + 1e-4 * std::abs(num),
           "syncbatch dJ/dw[" + std::to_string(i) + "]: numeric " + std::to_string(num) + ", analytic " +
               std::to_string(gw[static_cast<size_t>(i)]));
  }
}
#if CG_HAVE_CUDA  // the CUDA backend's functions exist in CUDA builds only
// One rank: NCCL on a communicator of one, called directly (training alone never calls NCCL).
void nccl_one_rank() {
  if (!cuda::nccl_available()) {
    std::printf("dist_check: this build has no NCCL\n");
    return;
  }
  cuda::nccl_init(cuda::nccl_unique_id(), 0, 1);
  Tensor t = of_rank(0, {1000}, 8).to(DType::F32).to(Device::CUDA);
  const Tensor before = t.to(Device::CPU);
  cuda::nccl_all_reduce(static_cast<float*>(t.raw()), 1000, true);
  cuda::nccl_broadcast(t.raw(), t.nbytes(), 0);
  backend::synchronize(Device::CUDA);
  expect(test::identical(t.to(Device::CPU), before), "NCCL all-reduce and broadcast on one rank");
  cuda::nccl_finalize();
}
#endif

}  // namespace

int main(int argc, char** argv) {
  try {
    comm::init(&argc, &argv);
    if (argc > 1 && std::string(argv[1]) == "--gpu") {
      if (!kHaveCuda || !cuda_available()) {
        std::printf("dist_check --gpu: no GPU here, skipped\n");
        return 77;
      }
#if CG_HAVE_CUDA
      const std::string line = comm::setup_gpu({}, "auto");
      std::printf("%s\n", line.c_str());
      if (comm::size() == 1) {
        nccl_one_rank();
      } else {
        tensor_collectives(Device::CUDA);
        gradient_average(Device::CUDA);
        differentiable_all_reduce(Device::CUDA);
      }
#endif
    } else if (comm::size() < 2) {
      std::fprintf(stderr, "dist_check: run me with mpirun -np 2 (or more)\n");
      return 2;
    } else {
      tensor_collectives(Device::CPU);
      host_collectives();
      gradient_average(Device::CPU);
      differentiable_all_reduce(Device::CPU);
      sync_batch_norm();
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error on %s: %s\n", comm::describe_rank().c_str(), e.what());
    comm::abort_job(1);
    return 1;
  }
  const int worst = comm::all_reduce_max(failures);
  if (comm::rank() == 0)
    std::printf("dist_check: %d ranks, %s\n", comm::size(),
                worst ? "FAILED (see above)" : "every check passed");
  comm::finalize();
  return worst ? 1 : 0;
}
