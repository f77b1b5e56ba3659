// Fused layer normalisation and RMS normalisation over the last axis, forward and backward.
// Forward saves per-row statistics (mean, 1/std) so that the backward pass is one sweep.
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels.h"

namespace omni {

// layerNorm(x, gamma|null, beta|null, out, mean, rstd, rows, cols, eps)
napi_value layerNorm(const Args& args) {
  View<float> x = args.f32(0), gamma = args.f32OrNull(1), beta = args.f32OrNull(2);
  View<float> out = args.f32(3), mean = args.f32(4), rstd = args.f32(5);
  const int64_t rows = args.integer(6), cols = args.integer(7);
  const double eps = args.number(8);
  requireLength(x, rows * cols, "layerNorm x");
  requireLength(out, rows * cols, "layerNorm out");
  requireLength(mean, rows, "layerNorm mean");
  requireLength(rstd, rows, "layerNorm rstd");
  if (gamma.data) requireLength(gamma, cols, "layerNorm gamma");
  if (beta.data) requireLength(beta, cols, "layerNorm beta");
  for (int64_t r = 0; r < rows; ++r) {
    const float* s = x.data + r * cols;
    float* o = out.data + r * cols;
    double sum = 0;
#pragma omp simd reduction(+ : sum)
    for (int64_t c = 0; c < cols; ++c) sum += s[c];
    const float mu = static_cast<float>(sum / cols);
    double sq = 0;
#pragma omp simd reduction(+ : sq)
    for (int64_t c = 0; c < cols; ++c) {
      const double d = s[c] - mu;
      sq += d * d;
    }
    const float rs = static_cast<float>(1.0 / std::sqrt(sq / cols + eps));
    mean.data[r] = mu;
    rstd.data[r] = rs;
    const float* g = gamma.data;
    const float* b = beta.data;
#pragma omp simd
    for (int64_t c = 0; c < cols; ++c) {
      float v = (s[c] - mu) * rs;
      if (g) v *= g[c];
      if (b) v += b[c];
      o[c] = v;
    }
  }
  return nullptr;
}

// layerNormGrad(dy, x, gamma|null, mean, rstd, dx, dgamma|null, dbeta|null, rows, cols)
//   xhat = (x - mean) * rstd, g = dy * gamma
//   dx = rstd * (g - mean(g) - xhat * mean(g * xhat)); dgamma = sum_rows(dy * xhat); dbeta = sum_rows(dy)
napi_value layerNormGrad(const Args& args) {
  View<float> dy = args.f32(0), x = args.f32(1), gamma = args.f32OrNull(2);
  View<float> mean = args.f32(3), rstd = args.f32(4), dx = args.f32(5);
  View<float> dgamma = args.f32OrNull(6), dbeta = args.f32OrNull(7);
  const int64_t rows = args.integer(8), cols = args.integer(9);
  requireLength(dy, rows * cols, "layerNormGrad dy");
  requireLength(x, rows * cols, "layerNormGrad x");
  requireLength(dx, rows * cols, "layerNormGrad dx");
  requireLength(mean, rows, "layerNormGrad mean");
  requireLength(rstd, rows, "layerNormGrad rstd");
  if (gamma.data) requireLength(gamma, cols, "layerNormGrad gamma");
  std::vector<double> dg(dgamma.data ? cols : 0, 0.0), db(dbeta.data ? cols : 0, 0.0);
  if (dgamma.data) requireLength(dgamma, cols, "layerNormGrad dgamma");
  if (dbeta.data) requireLength(dbeta, cols, "layerNormGrad dbeta");
  std::vector<float> g(cols), xh(cols);
  for (int64_t r = 0; r < rows; ++r) {
    const float* d = dy.data + r * cols;
    const float* s = x.data + r * cols;
    const float mu = mean.data[r], rs = rstd.data[r];
    double sumG = 0, sumGX = 0;
    for (int64_t c = 0; c < cols; ++c) {
      xh[c] = (s[c] - mu) * rs;
      g[c] = gamma.data ? d[c] * gamma.data[c] : d[c];
      sumG += g[c];
      sumGX += g[c] * xh[c];
    }
    const float mG = static_cast<float>(sumG / cols), mGX = static_cast<float>(sumGX / cols);
    float* o = dx.data + r * cols;
#pragma omp simd
    for (int64_t c = 0; c < cols; ++c) o[c] = rs * (g[c] - mG - xh[c] * mGX);
    if (dgamma.data) {
#pragma omp simd
      for (int64_t c = 0; c < cols; ++c) dg[c] += d[c] * xh[c];
    }
    if (dbeta.data) {
#pragma omp simd
      for (int64_t c = 0; c < cols; ++c) db[c] += d[c];
    }
  }
  for (int64_t c = 0; dgamma.data && c < cols; ++c) dgamma.data[c] = static_cast<float>(dg[c]);
  for (int64_t c = 0; dbeta.data && c < cols; ++c) dbeta.data[c] = static_cast<float>(db[c]);
  return nullptr;
}

// rmsNorm(x, gamma|null, out, rstd, rows, cols, eps): out = x / sqrt(mean(x^2) + eps) * gamma
napi_value rmsNorm(const Args& args) {
  View<float> x = args.f32(0), gamma = args.f32OrNull(1), out = args.f32(2), rstd = args.f32(3);
  const int64_t rows = args.integer(4), cols = args.integer(5);
  const double eps = args.number(6);
  requireLength(x, rows * cols, "rmsNorm x");
  requireLength(out, rows * cols, "rmsNorm out");
  requireLength(rstd, rows, "rmsNorm rstd");
  if (gamma.data) requireLength(gamma, cols, "rmsNorm gamma");
  for (int64_t r = 0; r < rows; ++r) {
    const float* s = x.data + r * cols;
    float* o = out.data + r * cols;
    double sq = 0;
#pragma omp simd reduction(+ : sq)
    for (int64_t c = 0; c < cols; ++c) sq += static_cast<double>(s[c]) * s[c];
    const float rs = static_cast<float>(1.0 / std::sqrt(sq / cols + eps));
    rstd.data[r] = rs;
    const float* g = gamma.data;
#pragma omp simd
    for (int64_t c = 0; c < cols; ++c) o[c] = g ? s[c] * rs * g[c] : s[c] * rs;
  }
  return nullptr;
}

// rmsNormGrad(dy, x, gamma|null, rstd, dx, dgamma|null, rows, cols)
//   xhat = x * rstd, g = dy * gamma: dx = rstd * (g - xhat * mean(g * xhat)); dgamma = sum_rows(dy * xhat)
napi_value rmsNormGrad(const Args& args) {
  View<float> dy = args.f32(0), x = args.f32(1), gamma = args.f32OrNull(2), rstd = args.f32(3);
  View<float> dx = args.f32(4), dgamma = args.f32OrNull(5);
  const int64_t rows = args.integer(6), cols = args.integer(7);
  requireLength(dy, rows * cols, "rmsNormGrad dy");
  requireLength(x, rows * cols, "rmsNormGrad x");
  requireLength(dx, rows * cols, "rmsNormGrad dx");
  requireLength(rstd, rows, "rmsNormGrad rstd");
  if (gamma.data) requireLength(gamma, cols, "rmsNormGrad gamma");
  if (dgamma.data) requireLength(dgamma, cols, "rmsNormGrad dgamma");
  std::vector<double> dg(dgamma.data ? cols : 0, 0.0);
  for (int64_t r = 0; r < rows; ++r) {
    const float* d = dy.data + r * cols;
    const float* s = x.data + r * cols;
    const float rs = rstd.data[r];
    double sumGX = 0;
    for (int64_t c = 0; c < cols; ++c) {
      const float g = gamma.data ? d[c] * gamma.data[c] : d[c];
      sumGX += g * (s[c] * rs);
    }
    const float mGX = static_cast<float>(sumGX / cols);
    float* o = dx.data + r * cols;
    for (int64_t c = 0; c < cols; ++c) {
      const float g = gamma.data ? d[c] * gamma.data[c] : d[c];
      o[c] = rs * (g - s[c] * rs * mGX);
    }
    if (dgamma.data) {
      for (int64_t c = 0; c < cols; ++c) dg[c] += d[c] * (s[c] * rs);
    }
  }
  for (int64_t c = 0; dgamma.data && c < cols; ++c) dgamma.data[c] = static_cast<float>(dg[c]);
  return nullptr;
}

}  // namespace omni
