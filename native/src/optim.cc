// Fused Adam / AdamW update: one pass over a parameter instead of ~12 tfjs kernels, and the same
// update over a whole list of parameters in one call.
#include <cmath>

#include "kernels.h"

namespace omni {
namespace {

//   g = grad * gradScale (global-norm clipping); m' = b1 m + (1-b1) g; v' = b2 v + (1-b2) g^2
//   p' = p - lr * weightDecay * p - lr * (m' / bc1) / (sqrt(v' / bc2) + eps)
//   bc1 = 1 - b1^t and bc2 = 1 - b2^t are the bias corrections; weightDecay = 0 gives plain Adam.
void adamUpdate(const float* p, const float* g, const float* m, const float* v, float* po, float* mo, float* vo, size_t n,
                float lr, float b1, float b2, float eps, float wd, float scale, float bc1, float bc2) {
  const float inv1 = 1.f / bc1, inv2 = 1.f / bc2, decay = 1.f - lr * wd;
#pragma omp simd
  for (size_t i = 0; i < n; ++i) {
    const float gi = g[i] * scale;
    const float mi = b1 * m[i] + (1.f - b1) * gi;
    const float vi = b2 * v[i] + (1.f - b2) * gi * gi;
    mo[i] = mi;
    vo[i] = vi;
    po[i] = p[i] * decay - lr * (mi * inv1) / (std::sqrt(vi * inv2) + eps);
  }
}

}  // namespace

// adam(param, grad, m, v, outParam, outM, outV, lr, beta1, beta2, eps, weightDecay, gradScale, bc1, bc2)
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
  adamUpdate(p.data, g.data, m.data, v.data, po.data, mo.data, vo.data, n, lr, b1, b2, eps, wd, scale, bc1, bc2);
  return nullptr;
}

// adamMulti(lr, beta1, beta2, eps, weightDecay, gradScale, bc1, bc2, [param, grad, m, v, outParam, outM, outV]...)
//   The update of `adam` applied to every parameter of a list at once (one call per optimizer step):
//   after the 8 hyper-parameters come 7 Float32Arrays per parameter.
napi_value adamMulti(const Args& args) {
  require(args.count() >= 8 && (args.count() - 8) % 7 == 0, "adamMulti: 7 arrays per parameter after 8 numbers");
  const float lr = args.number(0), b1 = args.number(1), b2 = args.number(2), eps = args.number(3);
  const float wd = args.number(4), scale = args.number(5), bc1 = args.number(6), bc2 = args.number(7);
  for (size_t i = 8; i < args.count(); i += 7) {
    View<float> p = args.f32(i), g = args.f32(i + 1), m = args.f32(i + 2), v = args.f32(i + 3);
    View<float> po = args.f32(i + 4), mo = args.f32(i + 5), vo = args.f32(i + 6);
    const size_t n = p.length;
    requireLength(g, n, "adamMulti grad");
    requireLength(m, n, "adamMulti m");
    requireLength(v, n, "adamMulti v");
    requireLength(po, n, "adamMulti outParam");
    requireLength(mo, n, "adamMulti outM");
    requireLength(vo, n, "adamMulti outV");
    adamUpdate(p.data, g.data, m.data, v.data, po.data, mo.data, vo.data, n, lr, b1, b2, eps, wd, scale, bc1, bc2);
  }
  return nullptr;
}

}  // namespace omni
