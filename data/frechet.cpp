// The Fréchet distance between two sets of vectors (their means and covariances), and the linear
// algebra under it, in double: FWD's per-packet distance (data/fwd.cpp).
#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "backend/types.h"
#include "data/fwd.h"

namespace cg::data {

namespace {

constexpr double kMachineEps = std::numeric_limits<double>::epsilon();

// --- small dense kernels (double, row-major) ------------------------------------------------------

double dot(const double* a, const double* b, int64_t k) {
  double s = 0;
#pragma omp simd reduction(+ : s)
  for (int64_t t = 0; t < k; ++t) s += a[t] * b[t];
  return s;
}

// s (4, 4) = four rows of A times four rows of B, each loaded value serving four products.
void dot_block4(const double* A, const double* B, int64_t k, double s[4][4]) {
  const double *a0 = A, *a1 = A + k, *a2 = A + 2 * k, *a3 = A + 3 * k;
  const double *b0 = B, *b1 = B + k, *b2 = B + 2 * k, *b3 = B + 3 * k;
  double c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
  double c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
#pragma omp simd reduction(+ : c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33)
  for (int64_t t = 0; t < k; ++t) {
    const double x0 = a0[t], x1 = a1[t], x2 = a2[t], x3 = a3[t];
    const double y0 = b0[t], y1 = b1[t], y2 = b2[t], y3 = b3[t];
    c00 += x0 * y0, c01 += x0 * y1, c02 += x0 * y2, c03 += x0 * y3;
    c10 += x1 * y0, c11 += x1 * y1, c12 += x1 * y2, c13 += x1 * y3;
    c20 += x2 * y0, c21 += x2 * y1, c22 += x2 * y2, c23 += x2 * y3;
    c30 += x3 * y0, c31 += x3 * y1, c32 += x3 * y2, c33 += x3 * y3;
  }
  const double c[4][4] = {
      {c00, c01, c02, c03}, {c10, c11, c12, c13}, {c20, c21, c22, c23}, {c30, c31, c32, c33}};
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) s[i][j] = c[i][j];
}

// C (na, nb) = A (na, k) B (nb, k)^T: the dot products of rows. `sym` (A is B): only the blocks on
// and above the diagonal are computed, then mirrored, so C is exactly symmetric.
void dot_rows(const double* A, int64_t na, const double* B, int64_t nb, int64_t k, double* C, bool sym) {
  for (int64_t i0 = 0; i0 < na; i0 += 4) {
    const int64_t ni = std::min<int64_t>(4, na - i0);
    for (int64_t j0 = sym ? i0 : 0; j0 < nb; j0 += 4) {
      const int64_t nj = std::min<int64_t>(4, nb - j0);
      double s[4][4];
      if (ni == 4 && nj == 4) {
        dot_block4(A + i0 * k, B + j0 * k, k, s);
      } else {
        for (int64_t i = 0; i < ni; ++i)
          for (int64_t j = 0; j < nj; ++j) s[i][j] = dot(A + (i0 + i) * k, B + (j0 + j) * k, k);
      }
      for (int64_t i = 0; i < ni; ++i)
        for (int64_t j = 0; j < nj; ++j) {
          C[(i0 + i) * nb + j0 + j] = s[i][j];
          if (sym) C[(j0 + j) * nb + i0 + i] = s[i][j];
        }
    }
  }
}

std::vector<double> transpose(const double* a, int64_t rows, int64_t cols) {
  std::vector<double> t(static_cast<size_t>(rows * cols));  // (cols, rows)
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) t[static_cast<size_t>(j * rows + i)] = a[i * cols + j];
  return t;
}

// Cholesky with complete pivoting of the positive semidefinite c (d, d): c ~ L L^T with L (d, r),
// stopping when the largest remaining pivot is at most d * eps * max(diag(c)) (LAPACK dpstrf's
// default tolerance): the rank-revealing factor of a covariance of fewer images than dimensions,
// or with coefficients that never vary. Returns r; ft (r, d) holds L^T (rows in c's own order).
int64_t pivoted_cholesky(const std::vector<double>& c, int64_t d, std::vector<double>& ft) {
  std::vector<double> L(static_cast<size_t>(d * d), 0.0);  // (d, d): L[i][k], i in c's order
  std::vector<double> rest(static_cast<size_t>(d));        // (d): the Schur complement's diagonal
  std::vector<char> done(static_cast<size_t>(d), 0);
  double top = 0;
  for (int64_t i = 0; i < d; ++i) top = std::max(top, rest[i] = c[i * d + i]);
  const double tol = static_cast<double>(d) * kMachineEps * top;
  int64_t r = 0;
  for (; r < d; ++r) {
    int64_t p = -1;
    for (int64_t i = 0; i < d; ++i)
      if (!done[i] && (p < 0 || rest[i] > rest[p])) p = i;
    if (rest[p] <= tol) break;
    const double lpp = std::sqrt(rest[p]);
    done[p] = 1;
    L[p * d + r] = lpp;
    const double* lp = &L[p * d];
    for (int64_t i = 0; i < d; ++i) {
      if (done[i]) continue;
      double* li = &L[i * d];
      li[r] = (c[i * d + p] - dot(li, lp, r)) / lpp;
      rest[i] -= li[r] * li[r];
    }
  }
  ft.assign(static_cast<size_t>(r * d), 0.0);
  for (int64_t i = 0; i < d; ++i)
    for (int64_t k = 0; k < r; ++k) ft[k * d + i] = L[i * d + k];
  return r;
}

// A factor of the covariance of the centred rows xc (n, d): rows ft (r, d) with ft^T ft = cov +
// offset I. With no offset and n - 1 <= d, from the rows themselves (r = n - 1, no d x d matrix);
// otherwise the covariance and its pivoted Cholesky factor (r <= d).
//
// The centred rows sum to zero, so they span at most n - 1 dimensions: taken as they are, that
// zero direction would come back from the eigenvalues of M M^T (trace_sqrt_product) as rounding,
// about sqrt(eps) |M| under the square root. An orthogonal change of rows whose first row is the
// mean direction removes it exactly: the Householder reflector H = I - 2 u u^T / (u . u) with
// u = e1 - 1/sqrt(n) maps e1 onto the unit mean direction, so rows 1..n-1 of H xc are n - 1 rows
// with the same scatter matrix, and row 0 (sqrt(n) times the mean of xc, zero) is dropped.
int64_t covariance_factor(const std::vector<double>& xc, int64_t n, int64_t d, double offset,
                          std::vector<double>& ft) {
  const double inv = 1.0 / static_cast<double>(n - 1);
  if (offset == 0 && n - 1 <= d) {
    const double rn = 1.0 / std::sqrt(static_cast<double>(n)), uu = 2.0 - 2.0 * rn;
    std::vector<double> s(static_cast<size_t>(d), 0.0);  // (d) = u^T xc
    for (int64_t i = 0; i < n; ++i) {
      const double ui = i == 0 ? 1.0 - rn : -rn;
      for (int64_t j = 0; j < d; ++j) s[j] += ui * xc[i * d + j];
    }
    const double scale = std::sqrt(inv);
    ft.resize(static_cast<size_t>((n - 1) * d));  // (n - 1, d)
    for (int64_t i = 1; i < n; ++i)
      for (int64_t j = 0; j < d; ++j) ft[(i - 1) * d + j] = (xc[i * d + j] + (2.0 / uu) * rn * s[j]) * scale;
    return n - 1;
  }
  const std::vector<double> xt = transpose(xc.data(), n, d);  // (d, n)
  std::vector<double> cov(static_cast<size_t>(d * d));        // (d, d)
  dot_rows(xt.data(), d, xt.data(), d, n, cov.data(), true);
  for (double& v : cov) v *= inv;
  for (int64_t i = 0; i < d; ++i) cov[i * d + i] += offset;
  return pivoted_cholesky(cov, d, ft);
}

}  // namespace

// --- symmetric eigenvalues: Householder to tridiagonal, then implicit QL with Wilkinson shifts ----

bool symmetric_eigenvalues(std::vector<double>& a, int64_t n, std::vector<double>& eig) {
  eig.assign(static_cast<size_t>(n), 0.0);
  if (n == 0) return true;
  if (n == 1) {
    eig[0] = a[0];
    return std::isfinite(eig[0]);
  }
  std::vector<double> off(static_cast<size_t>(n - 1)), v, w;  // off: the sub-diagonal
  // Householder: step k maps row k right of the diagonal, x (m), onto alpha e1 with the reflector
  // P = I - beta v v^T, v = x - alpha e1, and updates the trailing block S (m, m) to P S P as
  // S - v w^T - w v^T, with p = beta S v and w = p - (beta / 2)(v . p) v.
  for (int64_t k = 0; k + 2 < n; ++k) {
    const int64_t m = n - k - 1;
    const double* x = &a[k * n + k + 1];
    eig[k] = a[k * n + k];
    const double norm2 = dot(x, x, m);
    if (norm2 == 0) {
      off[k] = 0;
      continue;
    }
    const double alpha = -std::copysign(std::sqrt(norm2), x[0]);  // the sign that avoids cancellation
    v.assign(x, x + m);
    v[0] -= alpha;
    const double beta = 2.0 / dot(v.data(), v.data(), m);
    double* S = &a[(k + 1) * n + k + 1];  // (m, m), leading dimension n
    w.resize(static_cast<size_t>(m));
    for (int64_t i = 0; i < m; ++i) w[i] = beta * dot(S + i * n, v.data(), m);
    const double K = 0.5 * beta * dot(v.data(), w.data(), m);
    for (int64_t i = 0; i < m; ++i) w[i] -= K * v[i];
    for (int64_t i = 0; i < m; ++i) {
      double* row = S + i * n;
      const double vi = v[i], wi = w[i];
#pragma omp simd
      for (int64_t j = 0; j < m; ++j) row[j] -= vi * w[j] + wi * v[j];
    }
    off[k] = alpha;
  }
  eig[n - 2] = a[(n - 2) * n + n - 2];
  eig[n - 1] = a[(n - 1) * n + n - 1];
  off[n - 2] = a[(n - 1) * n + n - 2];

  // The tridiagonal (eig, off): implicit shifted QR steps (Golub & Van Loan, algorithm 8.3.2) on
  // the bottom unreduced block [l, m], the shift the eigenvalue of its trailing 2x2 nearer the last
  // diagonal entry. Each step chases a bulge down with Givens rotations.
  double anorm = 0;
  for (int64_t i = 0; i < n; ++i)
    anorm = std::max(
        anorm, std::abs(eig[i]) + (i > 0 ? std::abs(off[i - 1]) : 0) + (i + 1 < n ? std::abs(off[i]) : 0));
  const int64_t max_steps = 30 * n;  // LAPACK's limit
  for (int64_t steps = 0;;) {
    for (int64_t i = 0; i + 1 < n; ++i)
      if (std::abs(off[i]) <= kMachineEps * (std::abs(eig[i]) + std::abs(eig[i + 1])) ||
          std::abs(off[i]) <= kMachineEps * anorm)
        off[i] = 0;  // changes eigenvalues by at most eps |T|, the reduction's own error
    int64_t m = n - 1;
    while (m > 0 && off[m - 1] == 0) --m;
    if (m == 0) break;
    int64_t l = m - 1;
    while (l > 0 && off[l - 1] != 0) --l;
    if (++steps > max_steps) return false;
    const double dd = (eig[m - 1] - eig[m]) / 2, bm = off[m - 1];
    const double mu = eig[m] - bm * bm / (dd + std::copysign(std::hypot(dd, bm), dd));
    double x = eig[l] - mu, z = off[l];
    for (int64_t k = l; k < m; ++k) {
      // the rotation [c s; -s c] that maps (x, z) to (r, 0), applied to rows and columns k, k + 1
      const double r = std::hypot(x, z);
      const double c = r == 0 ? 1.0 : x / r, s = r == 0 ? 0.0 : z / r;
      if (k > l) off[k - 1] = r;
      const double ak = eig[k], ak1 = eig[k + 1], bk = off[k];
      eig[k] = c * c * ak + 2 * c * s * bk + s * s * ak1;
      eig[k + 1] = s * s * ak - 2 * c * s * bk + c * c * ak1;
      off[k] = c * s * (ak1 - ak) + (c * c - s * s) * bk;
      if (k + 1 < m) {  // the bulge at (k, k + 2), chased by the next rotation
        z = s * off[k + 1];
        off[k + 1] *= c;
        x = off[k];
      }
    }
  }
  for (double e : eig)
    if (!std::isfinite(e)) return false;
  return true;
}

// tr(sqrtm(Cx Cy)) with Cx = Fx^T Fx and Cy = Fy^T Fy (rows fx (rx, d), fy (ry, d)).
//
// The choice: Cx Cy is similar to the positive semidefinite Cx^(1/2) Cy Cx^(1/2), so its
// eigenvalues are real and >= 0 and tr(sqrtm(Cx Cy)) is the sum of their square roots (what
// scipy's sqrtm approximates). The non-zero eigenvalues of Fx^T Fx Fy^T Fy are those of
// (Fx Fy^T)(Fx Fy^T)^T, the squared singular values of M = Fx Fy^T (rx, ry): the trace is M's
// nuclear norm. We take the eigenvalues of the smaller of M M^T and M^T M (symmetric, values only,
// in double) and sum the square roots of their positive parts (rounding leaves the zero ones at
// about -eps |M|^2). This is the symmetric route sqrt(Cx) Cy sqrt(Cx) without eigenvectors, on a
// matrix of size min(rx, ry) <= min(N1, N2, D) instead of D.
double trace_sqrt_product(const double* fx, int64_t rx, const double* fy, int64_t ry, int64_t d) {
  if (rx == 0 || ry == 0) return 0;
  if (rx > ry) {
    std::swap(fx, fy);
    std::swap(rx, ry);
  }
  std::vector<double> m(static_cast<size_t>(rx * ry));  // (rx, ry) = fx fy^T
  dot_rows(fx, rx, fy, ry, d, m.data(), false);
  std::vector<double> h(static_cast<size_t>(rx * rx));  // (rx, rx) = m m^T
  dot_rows(m.data(), rx, m.data(), rx, ry, h.data(), true);
  std::vector<double> eig;
  if (!symmetric_eigenvalues(h, rx, eig)) return std::numeric_limits<double>::quiet_NaN();
  double t = 0;
  for (double e : eig) t += std::sqrt(std::max(e, 0.0));
  return t;
}

double frechet_distance(const double* x, int64_t n1, const double* y, int64_t n2, int64_t d, double offset) {
  if (n1 < 2 || n2 < 2)
    throw Error("frechet_distance: a covariance needs 2 or more rows, got " + std::to_string(n1) + " and " +
                std::to_string(n2));
  // centred rows, their means and the covariances' traces
  auto centre = [d](const double* rows, int64_t n, std::vector<double>& xc, std::vector<double>& mean) {
    mean.assign(static_cast<size_t>(d), 0.0);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < d; ++j) mean[j] += rows[i * d + j];
    for (double& v : mean) v /= static_cast<double>(n);
    xc.resize(static_cast<size_t>(n * d));  // (n, d)
    double tr = 0;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < d; ++j) {
        const double v = rows[i * d + j] - mean[j];
        xc[i * d + j] = v;
        tr += v * v;
      }
    return tr / static_cast<double>(n - 1);
  };
  std::vector<double> xc, yc, mx, my, fx, fy;
  const double trx = centre(x, n1, xc, mx), try_ = centre(y, n2, yc, my);
  double diff2 = 0;
  for (int64_t j = 0; j < d; ++j) diff2 += (mx[j] - my[j]) * (mx[j] - my[j]);
  const int64_t rx = covariance_factor(xc, n1, d, offset, fx), ry = covariance_factor(yc, n2, d, offset, fy);
  return diff2 + trx + try_ - 2 * trace_sqrt_product(fx.data(), rx, fy.data(), ry, d);
}

}  // namespace cg::data
