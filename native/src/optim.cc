// Fused Adam / AdamW update: one pass over a parameter instead of ~12 tfjs kernels.
#include <cmath>

#include "kernels.h"

namespace omni {

// adam(param, grad, m, v, outParam, outM, outV, lr, beta1, beta2, eps, weightDecay, gradScale, bc1, bc2)
//   g = grad * gradScale (global-norm clipping); m' = b1 m + (1-b1) g; v' = b2 v + (1-b2) g^2
//   p' = p - lr * weightDecay * p - lr * (m' / bc1) / (sqrt(v' / bc2) + eps)
//   bc1 = 1 - b1^t and bc2 = 1 - b2^t are the bias corrections; weightDecay = 0 gives plain Adam.
napi_value adam(const Args& args) {
  View<float> p = args.f32(0), g = args.f32(1), m = args.f32(2), v = args.f32(3);
  View<float> po = args.f32(4), mo = args.f32(5), vo = args.f32(6);
  const float lr = args.number(7), b1 = args.number(8), b2 = args.number(9), eps = args.number(10);
  const float wd = args.number(11), scale = args.number(12);
  const float bc1 = args.number(13), bc2 = args.number(14);
  const size_t n = p.length;
  requireLength(g, n, "adam grad");
  requireLength(m, n, "adam m");
  requireLength(v, n, "adam v");
  requireLength(po, n, "adam outParam");
  requireLength(mo, n, "adam outM");
  requireLength(vo, n, "adam outV");
  const float inv1 = 1.f / bc1, inv2 = 1.f / bc2, decay = 1.f - lr * wd;
#pragma omp simd
  for (size_t i = 0; i < n; ++i) {
    const float gi = g.data[i] * scale;
    const float mi = b1 * m.data[i] + (1.f - b1) * gi;
    const float vi = b2 * v.data[i] + (1.f - b2) * gi * gi;
    mo.data[i] = mi;
    vo.data[i] = vi;
    po.data[i] = p.data[i] * decay - lr * (mi * inv1) / (std::sqrt(vi * inv2) + eps);
  }
  return nullptr;
}

}  // namespace omni
