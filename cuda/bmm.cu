// Batched GEMM on the GPU: cuBLAS's strided-batched SGEMM in full float32 (no TF32, as PyTorch's
// default for matmul: torch.backends.cuda.matmul.allow_tf32 = False). cuBLAS is column-major, so
// the row-major product c = op(a) op(b) is computed as its transpose, c^T = op(b)^T op(a)^T: a
// row-major matrix read column-major is its own transpose, so no copy is made.
//
// cuBLAS is opened at its first use (dlopen), not linked: loading libcublas and libcublasLt costs
// every process of a CUDA build about 200 MiB of resident memory at start-up (their relocations),
// CPU runs and --help included, and only CUT's PatchNCE on the GPU needs it.
#include <cublas_v2.h>
#include <dlfcn.h>

#include <string>

#include "cuda/kernels.h"
#include "cuda/runtime.h"

namespace cg::cuda {
namespace {

#define CG_NAME2(x) #x
#define CG_NAME(x) CG_NAME2(x)  // the exported name: cublasCreate is a macro for cublasCreate_v2

// The cuBLAS functions this file calls, looked up once in the library opened at first use.
struct Cublas {
  std::string path;  // the file opened
  decltype(&cublasCreate) create = nullptr;
  decltype(&cublasSetStream) set_stream = nullptr;
  decltype(&cublasSetMathMode) set_math_mode = nullptr;
  decltype(&cublasSetWorkspace) set_workspace = nullptr;
  decltype(&cublasSgemmStridedBatched) sgemm_strided_batched = nullptr;
};

Cublas open_cublas() {
  // its soname on the library path first, else the file CMake found in the toolkit
  const std::string soname = "libcublas.so." + std::to_string(CUBLAS_VER_MAJOR);
  Cublas c;
  void* lib = nullptr;
  std::string why;
  for (const std::string& path : {soname, std::string(CG_CUBLAS_FILE)}) {
    lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);  // kept open for the life of the process
    if (lib) {
      c.path = path;
      break;
    }
    why += std::string(why.empty() ? "" : "; ") + dlerror();
  }
  if (!lib)
    throw Error("cannot open cuBLAS (" + soname + " on the library path, or " + CG_CUBLAS_FILE + "): " + why +
                "; batched matrix products on the GPU need it");
  auto find = [&](auto& slot, const char* name) {
    slot = reinterpret_cast<std::remove_reference_t<decltype(slot)>>(dlsym(lib, name));
    if (!slot) throw Error("cuBLAS (" + c.path + ") has no " + name);
  };
  find(c.create, CG_NAME(cublasCreate));
  find(c.set_stream, CG_NAME(cublasSetStream));
  find(c.set_math_mode, CG_NAME(cublasSetMathMode));
  find(c.set_workspace, CG_NAME(cublasSetWorkspace));
  find(c.sgemm_strided_batched, CG_NAME(cublasSgemmStridedBatched));
  return c;
}

const Cublas& cublas() {
  static const Cublas c = open_cublas();
  return c;
}

void cublas_check(cublasStatus_t st, const char* what) {
  if (st != CUBLAS_STATUS_SUCCESS)
    throw Error(std::string("cuBLAS error ") + std::to_string(static_cast<int>(st)) + " in " + what);
}
#define CG_CUBLAS(call) cublas_check((call), #call)

// One handle on the framework's stream, with a workspace of its own made once (so that a captured
// graph never asks cuBLAS to allocate).
cublasHandle_t handle() {
  static cublasHandle_t h = [] {
    cublasHandle_t hh;
    const Cublas& lib = cublas();
    CG_CUBLAS(lib.create(&hh));
    CG_CUBLAS(lib.set_stream(hh, stream()));
    CG_CUBLAS(lib.set_math_mode(hh, CUBLAS_DEFAULT_MATH));
    constexpr size_t kWorkspace = size_t(32) << 20;  // cuBLAS's recommendation for Hopper
    void* ws = nullptr;
    CG_CUDA_CHECK(cudaMalloc(&ws, kWorkspace));  // kept for the life of the process
    CG_CUBLAS(lib.set_workspace(hh, ws, kWorkspace));
    return hh;
  }();
  return h;
}

}  // namespace

std::string cublas_library() { return cublas().path; }

void batched_gemm(DType dt, const void* a, const void* b, void* c, int64_t batch, int64_t M, int64_t N,
                  int64_t K, bool trans_a, bool trans_b) {
  require_f32(dt, "batched_gemm");
  if (batch == 0 || M == 0 || N == 0) return;
  const int64_t limit = 2147483647;
  if (M > limit || N > limit || K > limit || batch > limit)
    throw Error("cuda::batched_gemm: dims (" + std::to_string(batch) + ", " + std::to_string(M) + ", " +
                std::to_string(N) + ", " + std::to_string(K) + ") exceed cuBLAS's int range");
  const float one = 1.f, zero = 0.f;
  const int m = static_cast<int>(M), n = static_cast<int>(N), k = static_cast<int>(K);
  // column-major: c^T (N x M) = op(b)^T (N x K) op(a)^T (K x M); b read column-major is (N x K) as
  // stored (K, N), or needs CUBLAS_OP_T when stored (N, K); likewise a
  CG_CUBLAS(cublas().sgemm_strided_batched(
      handle(), trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, n, m, k, &one,
      static_cast<const float*>(b), trans_b ? k : n, K * N, static_cast<const float*>(a), trans_a ? m : k,
      M * K, &zero, static_cast<float*>(c), n, M * N, static_cast<int>(batch)));
}

}  // namespace cg::cuda
