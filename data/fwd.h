// The Fréchet Wavelet Distance (FWD; Veeramacheneni et al. 2023, arXiv 2312.15289), as pytorchfwd
// (NeuralHPC/PyTorch-FWD, src/pytorchfwd/fwd.py and freq_math.py) computes it with `--wavelet haar`:
// a score of two image sets as distributions, needing no downloaded network (FID needs Inception).
//
//   - images are RGB scaled to [0, 1] (torchvision's ToTensor);
//   - each channel gets a full 2-D Haar wavelet packet tree to `level` (ptwt's WaveletPacket2D, whose
//     default boundary mode 'reflect' pads an odd side with its last-but-one sample): 4^level
//     packets of (ceil(H / 2^level), ceil(W / 2^level)) coefficients per channel;
//   - for each packet the coefficients of all channels form one vector per image (D = C h w), and
//     each set gets its mean and covariance over its images (torch.cov: divisor N - 1);
//   - per packet the Fréchet distance of the two Gaussians,
//       |mu1 - mu2|^2 + tr(C1) + tr(C2) - 2 tr(sqrtm(C1 C2)),
//     where pytorchfwd (scipy's sqrtm) adds 1e-6 to both covariances' diagonals inside the square
//     root when its result is not finite; FWD is the mean over the packets.
//
// Memory: a set holds its coefficients as exact integers, 4 bytes per pixel and channel (1098
// tiles of 256x256 RGB: 864 MB). Time: per packet one symmetric eigenvalue problem of size
// min(N1, N2, D) (see trace_sqrt_product), OpenMP over the packets.
//
// For a training loop: WaveletPackets::add takes in-memory images, or a batch of (N, C, H, W)
// tensors in [-1, 1] quantized as the tester saves them (from_tensor), so that a score taken in
// memory equals the score of the saved files.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/image.h"
#include "tensor/tensor.h"

namespace cg::data {

// pytorchfwd's fallback: added to both covariances' diagonals when a distance is not finite.
constexpr double kFrechetEps = 1e-6;

// The Haar wavelet packet coefficients of a set of images of one size. `what` names the set in
// errors (e.g. "results in 'DIR'").
class WaveletPackets {
 public:
  explicit WaveletPackets(int level = 4, std::string what = "the images");

  // Adds one image (gray or RGB; gray counts as RGB with equal channels, as PIL's convert('RGB')).
  // Throws naming `name` and the set's first image when its size differs from theirs, or when a
  // side is too small for `level` (an odd side of 1 cannot be padded by reflection).
  void add(const Image& img, const std::string& name);
  // Adds each image of x, (N, C, H, W) or (C, H, W) in [-1, 1] on any device, C = 1 or 3, as
  // from_tensor quantizes it (the tester's saved images).
  void add(const Tensor& x, const std::string& name = "tensor");
  // Reads and adds the files (as RGB), several at once. Errors name the file.
  void add_files(const std::vector<std::string>& files);

  int level() const { return level_; }
  int64_t images() const { return images_; }
  int64_t packets() const { return int64_t{1} << (2 * level_); }
  int64_t packet_size() const { return int64_t{channels_} * band_h_ * band_w_; }  // D
  int width() const { return width_; }
  int height() const { return height_; }
  const std::string& what() const { return what_; }
  const std::string& first() const { return first_; }
  // Image n's coefficients of packet p (D values, channel-major), as integers: multiply by scale().
  const int32_t* coefficients(int64_t n, int64_t p) const {
    return coef_.data() + (n * packets() + p) * packet_size();
  }
  // Haar coefficients of 8-bit pixels are integer sums over 4^level pixels divided by 2^level (the
  // orthonormal 2-D step halves); ToTensor's 1/255 on top.
  double scale() const { return 1.0 / (255.0 * static_cast<double>(int64_t{1} << level_)); }

 private:
  void set_size(const Image& img, const std::string& name);
  void transform(const Image& img, int32_t* out) const;  // (P, C, h, w)

  int level_;
  std::string what_, first_;
  int width_ = 0, height_ = 0, channels_ = 3, band_h_ = 0, band_w_ = 0;
  int64_t images_ = 0;
  std::vector<int32_t> coef_;  // (N, P, C, h, w)
};

// FWD of two sets (same level, same image size): the mean over packets of their Fréchet
// distances. Throws naming both sets when the sizes or levels differ, and naming the set that has
// fewer than 2 images (a covariance needs 2). `offset` > 0 adds it to both covariances inside the
// square root for every packet (pytorchfwd's fallback, forced: for tests); with 0, a packet whose
// distance is not finite is computed again with kFrechetEps, as pytorchfwd does.
double fwd(const WaveletPackets& a, const WaveletPackets& b, double offset = 0);
// The same for in-memory images, or for files.
double fwd(const std::vector<Image>& a, const std::vector<Image>& b, int level = 4);
double fwd_files(const std::vector<std::string>& a, const std::string& what_a,
                 const std::vector<std::string>& b, const std::string& what_b, int level = 4);

// --- the linear algebra, exposed for tests -------------------------------------------------------

// The Fréchet distance between the Gaussians fitted to the rows of x (n1, d) and of y (n2, d)
// (means; covariances with divisor n - 1), `offset` added to both covariances inside the square
// root only. NaN when the eigenvalue iteration did not converge. n1, n2 >= 2.
double frechet_distance(const double* x, int64_t n1, const double* y, int64_t n2, int64_t d,
                        double offset = 0);

// tr(sqrtm(Fx Fx^T Fy Fy^T)) for factors given as rows: fx (rx, d), fy (ry, d), i.e. covariances
// C = F^T F of the row-stacked factors. NaN when the eigenvalue iteration did not converge.
double trace_sqrt_product(const double* fx, int64_t rx, const double* fy, int64_t ry, int64_t d);

// The eigenvalues of the symmetric matrix a (n, n) (both triangles given; destroyed), in no
// particular order; false when the QL iteration did not converge.
bool symmetric_eigenvalues(std::vector<double>& a, int64_t n, std::vector<double>& eigenvalues);

}  // namespace cg::data
