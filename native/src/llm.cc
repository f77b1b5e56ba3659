// Fused pieces of a Llama-style decoder layer, forward and backward:
//   rope        rotary position embeddings ("rotate half" pairs (i, i + D/2)) on [B, T, H, D]
//   swiglu      silu(g) * u, the gated MLP activation
//   loraLinear  x W + scale * (x A) B, a frozen linear layer with one low-rank adapter
//   softmaxXent weighted mean cross-entropy of logits rows against integer targets
// Each replaces several tfjs kernels (and their gradients) with one call per direction.
#include <cblas.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "fastexp.h"
#include "kernels.h"

namespace omni {

// rope(x, cos, sin, out, B, T, H, D, cosBatch, inverse)
//   x, out [B, T, H, D]; cos, sin [cosBatch, T, D/2] (cosBatch 1: the same positions for every row).
//   out[i] = x[i] c - x[i + D/2] s, out[i + D/2] = x[i + D/2] c + x[i] s (i < D/2).
//   inverse rotates by the opposite angle (s -> -s): the backward pass of the forward rotation.
napi_value rope(const Args& args) {
  View<float> x = args.f32(0), cs = args.f32(1), sn = args.f32(2), out = args.f32(3);
  const int64_t B = args.integer(4), T = args.integer(5), H = args.integer(6), D = args.integer(7);
  const int64_t CB = args.integer(8);
  const bool inverse = args.flag(9);
  require(B >= 0 && T >= 0 && H >= 0 && D >= 0 && D % 2 == 0, "rope: negative size or odd head dim");
  require(CB == 1 || CB == B, "rope: cos/sin batch must be 1 or B");
  const int64_t half = D / 2;
  requireLength(x, B * T * H * D, "rope x");
  requireLength(out, B * T * H * D, "rope out");
  requireLength(cs, CB * T * half, "rope cos");
  requireLength(sn, CB * T * half, "rope sin");
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t t = 0; t < T; ++t) {
      const float* c = cs.data + ((CB == 1 ? 0 : b) * T + t) * half;
      const float* s = sn.data + ((CB == 1 ? 0 : b) * T + t) * half;
      for (int64_t h = 0; h < H; ++h) {
        const float* x1 = x.data + ((b * T + t) * H + h) * D;
        const float* x2 = x1 + half;
        float* y1 = out.data + ((b * T + t) * H + h) * D;
        float* y2 = y1 + half;
        if (!inverse) {
#pragma omp simd
          for (int64_t i = 0; i < half; ++i) {
            const float a = x1[i], e = x2[i];
            y1[i] = a * c[i] - e * s[i];
            y2[i] = e * c[i] + a * s[i];
          }
        } else {
#pragma omp simd
          for (int64_t i = 0; i < half; ++i) {
            const float a = x1[i], e = x2[i];
            y1[i] = a * c[i] + e * s[i];
            y2[i] = e * c[i] - a * s[i];
          }
        }
      }
    }
  }
  return nullptr;
}

// swiglu(g, u, out): out = g * sigmoid(g) * u elementwise (n = out.length).
napi_value swiglu(const Args& args) {
  View<float> g = args.f32(0), u = args.f32(1), out = args.f32(2);
  const size_t n = out.length;
  requireLength(g, n, "swiglu g");
  requireLength(u, n, "swiglu u");
#pragma omp simd
  for (size_t i = 0; i < n; ++i) {
    const float sig = 1.f / (1.f + fastExp(-g.data[i]));
    out.data[i] = g.data[i] * sig * u.data[i];
  }
  return nullptr;
}

// swigluGrad(dy, g, u, dg, du): s = sigmoid(g); du = dy * g * s; dg = dy * u * s * (1 + g * (1 - s)).
napi_value swigluGrad(const Args& args) {
  View<float> dy = args.f32(0), g = args.f32(1), u = args.f32(2), dg = args.f32(3), du = args.f32(4);
  const size_t n = dy.length;
  requireLength(g, n, "swigluGrad g");
  requireLength(u, n, "swigluGrad u");
  requireLength(dg, n, "swigluGrad dg");
  requireLength(du, n, "swigluGrad du");
#pragma omp simd
  for (size_t i = 0; i < n; ++i) {
    const float x = g.data[i];
    const float sig = 1.f / (1.f + fastExp(-x));
    const float d = dy.data[i];
    du.data[i] = d * (x * sig);
    dg.data[i] = d * u.data[i] * (sig * (1.f + x * (1.f - sig)));
  }
  return nullptr;
}

// loraLinear(x, w, a, b, y, h, M, K, N, R, scale)
//   x [M, K], w [K, N], a [K, R], b [R, N]: h = x a [M, R] (kept for the backward pass),
//   y = x w + scale * h b [M, N].
napi_value loraLinear(const Args& args) {
  View<float> x = args.f32(0), w = args.f32(1), a = args.f32(2), b = args.f32(3), y = args.f32(4), h = args.f32(5);
  const int64_t M = args.integer(6), K = args.integer(7), N = args.integer(8), R = args.integer(9);
  const float scale = static_cast<float>(args.number(10));
  require(M >= 0 && K >= 0 && N >= 0 && R >= 0, "loraLinear: negative size");
  requireLength(x, M * K, "loraLinear x");
  requireLength(w, K * N, "loraLinear w");
  requireLength(a, K * R, "loraLinear a");
  requireLength(b, R * N, "loraLinear b");
  requireLength(y, M * N, "loraLinear y");
  requireLength(h, M * R, "loraLinear h");
  if (M * R > 0) {
    if (K == 0) std::memset(h.data, 0, M * R * sizeof(float));
    else cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, R, K, 1.f, x.data, K, a.data, R, 0.f, h.data, R);
  }
  if (M * N == 0) return nullptr;
  if (K == 0) std::memset(y.data, 0, M * N * sizeof(float));
  else cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.f, x.data, K, w.data, N, 0.f, y.data, N);
  if (R > 0) cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, R, scale, h.data, R, b.data, N, 1.f, y.data, N);
  return nullptr;
}

// loraLinearGrad(dy, x, w, a, b, h, dx|null, dw|null, da, db, M, K, N, R, scale)
//   The backward pass of loraLinear: dh = scale * dy b^T [M, R], da = x^T dh, db = scale * h^T dy,
//   dx = dy w^T + dh a^T, dw = x^T dy. dx null: x needs no gradient; dw null: w is frozen.
napi_value loraLinearGrad(const Args& args) {
  View<float> dy = args.f32(0), x = args.f32(1), w = args.f32(2), a = args.f32(3), b = args.f32(4), h = args.f32(5);
  View<float> dx = args.f32OrNull(6), dw = args.f32OrNull(7), da = args.f32(8), db = args.f32(9);
  const int64_t M = args.integer(10), K = args.integer(11), N = args.integer(12), R = args.integer(13);
  const float scale = static_cast<float>(args.number(14));
  require(M >= 0 && K >= 0 && N >= 0 && R >= 0, "loraLinearGrad: negative size");
  requireLength(dy, M * N, "loraLinearGrad dy");
  requireLength(x, M * K, "loraLinearGrad x");
  requireLength(w, K * N, "loraLinearGrad w");
  requireLength(a, K * R, "loraLinearGrad a");
  requireLength(b, R * N, "loraLinearGrad b");
  requireLength(h, M * R, "loraLinearGrad h");
  requireLength(da, K * R, "loraLinearGrad da");
  requireLength(db, R * N, "loraLinearGrad db");
  if (dx.data) requireLength(dx, M * K, "loraLinearGrad dx");
  if (dw.data) requireLength(dw, K * N, "loraLinearGrad dw");
  std::vector<float> dh(M * R, 0.f);
  if (M * R > 0 && N > 0) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, R, N, scale, dy.data, N, b.data, N, 0.f, dh.data(), R);
  }
  if (K * R > 0) {
    if (M == 0) std::memset(da.data, 0, K * R * sizeof(float));
    else cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, R, M, 1.f, x.data, K, dh.data(), R, 0.f, da.data, R);
  }
  if (R * N > 0) {
    if (M == 0) std::memset(db.data, 0, R * N * sizeof(float));
    else cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, R, N, M, scale, h.data, R, dy.data, N, 0.f, db.data, N);
  }
  if (dx.data && M * K > 0) {
    if (N == 0) std::memset(dx.data, 0, M * K * sizeof(float));
    else cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, K, N, 1.f, dy.data, N, w.data, N, 0.f, dx.data, K);
    if (R > 0) cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, K, R, 1.f, dh.data(), R, a.data, R, 1.f, dx.data, K);
  }
  if (dw.data && K * N > 0) {
    if (M == 0) std::memset(dw.data, 0, K * N * sizeof(float));
    else cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, N, M, 1.f, x.data, K, dy.data, N, 0.f, dw.data, N);
  }
  return nullptr;
}

// softmaxXent(logits, targets, weights|null, probs, loss, rows, cols, denom)
//   logits [rows, cols], targets int32 [rows] (in [0, cols) where the weight is not 0), weights [rows]
//   (null: all 1). probs = softmax(logits) per row (kept for the backward pass);
//   loss[0] = sum_r weight_r * -log softmax(logits_r)[target_r] / denom.
napi_value softmaxXent(const Args& args) {
  View<float> x = args.f32(0);
  View<int32_t> t = args.i32(1);
  View<float> w = args.f32OrNull(2), probs = args.f32(3), loss = args.f32(4);
  const int64_t rows = args.integer(5), cols = args.integer(6);
  const float denom = static_cast<float>(args.number(7));
  require(rows >= 0 && cols >= 0, "softmaxXent: negative size");
  requireLength(x, rows * cols, "softmaxXent logits");
  requireLength(t, rows, "softmaxXent targets");
  if (w.data) requireLength(w, rows, "softmaxXent weights");
  requireLength(probs, rows * cols, "softmaxXent probs");
  requireLength(loss, 1, "softmaxXent loss");
  double acc = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const float* s = x.data + r * cols;
    float* p = probs.data + r * cols;
    const float wr = w.data ? w.data[r] : 1.f;
    float m = -std::numeric_limits<float>::infinity();
    for (int64_t c = 0; c < cols; ++c) m = s[c] > m ? s[c] : m;
    float sum = 0.f;
#pragma omp simd reduction(+ : sum)
    for (int64_t c = 0; c < cols; ++c) {
      p[c] = fastExp(s[c] - m);
      sum += p[c];
    }
    const float inv = 1.f / sum;
#pragma omp simd
    for (int64_t c = 0; c < cols; ++c) p[c] *= inv;
    if (wr == 0.f) continue;
    const int32_t target = t.data[r];
    require(target >= 0 && target < cols, "softmaxXent: target out of range");
    const float nll = -((s[target] - m) - std::log(sum));
    acc += static_cast<double>(nll * wr);
  }
  loss.data[0] = static_cast<float>(acc) / denom;
  return nullptr;
}

// softmaxXentGrad(dloss, probs, targets, weights|null, dlogits, rows, cols, denom)
//   dlogits_r = (probs_r - onehot(target_r)) * weight_r * dloss / denom.
napi_value softmaxXentGrad(const Args& args) {
  const float dloss = static_cast<float>(args.number(0));
  View<float> probs = args.f32(1);
  View<int32_t> t = args.i32(2);
  View<float> w = args.f32OrNull(3), dx = args.f32(4);
  const int64_t rows = args.integer(5), cols = args.integer(6);
  const float denom = static_cast<float>(args.number(7));
  requireLength(probs, rows * cols, "softmaxXentGrad probs");
  requireLength(t, rows, "softmaxXentGrad targets");
  if (w.data) requireLength(w, rows, "softmaxXentGrad weights");
  requireLength(dx, rows * cols, "softmaxXentGrad dlogits");
  for (int64_t r = 0; r < rows; ++r) {
    const float* p = probs.data + r * cols;
    float* d = dx.data + r * cols;
    const float wr = w.data ? w.data[r] : 1.f;
    const float g = dloss / denom * wr;
    if (wr == 0.f) {
      std::fill(d, d + cols, 0.f);
      continue;
    }
#pragma omp simd
    for (int64_t c = 0; c < cols; ++c) d[c] = p[c] * g;
    const int32_t target = t.data[r];
    require(target >= 0 && target < cols, "softmaxXentGrad: target out of range");
    d[target] = (p[target] - 1.f) * g;
  }
  return nullptr;
}

}  // namespace omni
