// Elementwise kernels: binary ops with numpy broadcasting, comparisons, unary ops, AddN.
//
// Broadcasting is described by JS as an output shape plus one stride per dim for each input
// (stride 0 on a broadcast dim), after merging adjacent dims; here an odometer walks all dims but the
// last, and the last dim runs a vectorisable loop specialised on the inner strides.
#include <cmath>
#include <cstring>

#include "activation.h"
#include "kernels.h"

namespace omni {
namespace {

enum BinOp : int { kAdd = 0, kSub, kMul, kDiv, kMax, kMin, kSqDiff, kPow };
enum CmpOp : int { kEq = 0, kNe, kLt, kLe, kGt, kGe };

// Math.max/Math.min semantics: NaN if either input is NaN.
inline float jsMax(float x, float y) { return (x != x || y != y) ? NAN : (x > y ? x : y); }
inline float jsMin(float x, float y) { return (x != x || y != y) ? NAN : (x < y ? x : y); }

struct Add { static float f(float x, float y) { return x + y; } };
struct Sub { static float f(float x, float y) { return x - y; } };
struct Mul { static float f(float x, float y) { return x * y; } };
struct Div { static float f(float x, float y) { return x / y; } };
struct Max { static float f(float x, float y) { return jsMax(x, y); } };
struct Min { static float f(float x, float y) { return jsMin(x, y); } };
struct SqDiff { static float f(float x, float y) { float d = x - y; return d * d; } };
// Math.pow semantics: NaN exponent gives NaN, and (+-1) ** (+-Infinity) is NaN (C's pow gives 1).
struct Pow {
  static float f(float x, float y) {
    if (y != y || (std::isinf(y) && std::fabs(x) == 1.f)) return NAN;
    return std::pow(x, y);
  }
};

struct Eq { static uint8_t f(float x, float y) { return x == y; } };
struct Ne { static uint8_t f(float x, float y) { return x != y; } };
struct Lt { static uint8_t f(float x, float y) { return x < y; } };
struct Le { static uint8_t f(float x, float y) { return x <= y; } };
struct Gt { static uint8_t f(float x, float y) { return x > y; } };
struct Ge { static uint8_t f(float x, float y) { return x >= y; } };

// One innermost row: n outputs, input strides sa, sb (usually 0 or 1).
template <typename Op, typename T>
inline void row(const float* a, int64_t sa, const float* b, int64_t sb, T* o, int64_t n) {
  if (sa == 1 && sb == 1) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) o[i] = Op::f(a[i], b[i]);
  } else if (sa == 1 && sb == 0) {
    const float y = b[0];
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) o[i] = Op::f(a[i], y);
  } else if (sa == 0 && sb == 1) {
    const float x = a[0];
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) o[i] = Op::f(x, b[i]);
  } else {
    for (int64_t i = 0; i < n; ++i) o[i] = Op::f(a[i * sa], b[i * sb]);
  }
}

template <typename Op, typename T>
void broadcastLoop(const float* a, const float* b, T* out, const std::vector<int64_t>& shape,
                   const std::vector<int64_t>& sa, const std::vector<int64_t>& sb) {
  const size_t r = shape.size();
  const int64_t inner = shape[r - 1];
  int64_t outer = 1;
  for (size_t d = 0; d + 1 < r; ++d) outer *= shape[d];
  if (inner == 0 || outer == 0) return;
  std::vector<int64_t> idx(r, 0);
  int64_t offA = 0, offB = 0;
  for (int64_t o = 0; o < outer; ++o) {
    row<Op>(a + offA, sa[r - 1], b + offB, sb[r - 1], out + o * inner, inner);
    // Advance the odometer over dims r-2 .. 0.
    for (int64_t d = static_cast<int64_t>(r) - 2; d >= 0; --d) {
      if (++idx[d] < shape[d]) {
        offA += sa[d];
        offB += sb[d];
        break;
      }
      offA -= sa[d] * (shape[d] - 1);
      offB -= sb[d] * (shape[d] - 1);
      idx[d] = 0;
    }
  }
}

struct Broadcast {
  std::vector<int64_t> shape, sa, sb;
  size_t total = 1;
};

Broadcast readBroadcast(const Args& args, size_t first, size_t aLen, size_t bLen) {
  Broadcast bc{args.dims(first), args.dims(first + 1), args.dims(first + 2)};
  require(!bc.shape.empty() && bc.sa.size() == bc.shape.size() && bc.sb.size() == bc.shape.size(),
          "binary: shape and strides must have the same rank >= 1");
  size_t lastA = 0, lastB = 0;
  for (size_t d = 0; d < bc.shape.size(); ++d) {
    require(bc.shape[d] >= 0, "binary: negative dim");
    bc.total *= bc.shape[d];
    if (bc.shape[d] > 0) {
      lastA += bc.sa[d] * (bc.shape[d] - 1);
      lastB += bc.sb[d] * (bc.shape[d] - 1);
    }
  }
  if (bc.total > 0) {
    require(lastA < aLen && lastB < bLen, "binary: strides reach past an input");
  }
  return bc;
}

}  // namespace

// binary(op, a, b, out, shape, aStrides, bStrides)
napi_value binary(const Args& args) {
  const int op = static_cast<int>(args.integer(0));
  View<float> a = args.f32(1), b = args.f32(2), out = args.f32(3);
  Broadcast bc = readBroadcast(args, 4, a.length, b.length);
  requireLength(out, bc.total, "binary out");
  if (bc.total == 0) return nullptr;
  switch (op) {
    case kAdd: broadcastLoop<Add>(a.data, b.data, out.data, bc.shape, bc.sa, bc.sb); break;
    case kSub: broadcastLoop<Sub>(a.data, b.data, out.data, bc.shape, bc.sa, bc.sb); break;
    case kMul: broadcastLoop<Mul>(a.data, b.data, out.data, bc.shape, bc.sa, bc.sb); break;
    case kDiv: broadcastLoop<Div>(a.data, b.data, out.data, bc.shape, bc.sa, bc.sb); break;
    case kMax: broadcastLoop<Max>(a.data, b.data, out.data, bc.shape, bc.sa, bc.sb); break;
    case kMin: broadcastLoop<Min>(a.data, b.data, out.data, bc.shape, bc.sa, bc.sb); break;
    case kSqDiff: broadcastLoop<SqDiff>(a.data, b.data, out.data, bc.shape, bc.sa, bc.sb); break;
    case kPow: broadcastLoop<Pow>(a.data, b.data, out.data, bc.shape, bc.sa, bc.sb); break;
    default: throw ArgError("binary: unknown op");
  }
  return nullptr;
}

// compare(op, a, b, out: Uint8Array, shape, aStrides, bStrides): tfjs bool tensors are Uint8Arrays.
napi_value compare(const Args& args) {
  const int op = static_cast<int>(args.integer(0));
  View<float> a = args.f32(1), b = args.f32(2);
  View<uint8_t> out = args.u8(3);
  Broadcast bc = readBroadcast(args, 4, a.length, b.length);
  requireLength(out, bc.total, "compare out");
  if (bc.total == 0) return nullptr;
  switch (op) {
    case kEq: broadcastLoop<Eq>(a.data, b.data, out.data, bc.shape, bc.sa, bc.sb); break;
    case kNe: broadcastLoop<Ne>(a.data, b.data, out.data, bc.shape, bc.sa, bc.sb); break;
    case kLt: broadcastLoop<Lt>(a.data, b.data, out.data, bc.shape, bc.sa, bc.sb); break;
    case kLe: broadcastLoop<Le>(a.data, b.data, out.data, bc.shape, bc.sa, bc.sb); break;
    case kGt: broadcastLoop<Gt>(a.data, b.data, out.data, bc.shape, bc.sa, bc.sb); break;
    case kGe: broadcastLoop<Ge>(a.data, b.data, out.data, bc.shape, bc.sa, bc.sb); break;
    default: throw ArgError("compare: unknown op");
  }
  return nullptr;
}

namespace {

enum UnOp : int {
  kExp = 0, kLog, kSqrt, kRsqrt, kNeg, kAbs, kSquare, kReciprocal, kTanh, kSigmoidU, kReluU, kRelu6U,
  kLeakyReluU, kEluU, kStep, kSoftplus, kErf, kSin, kCos, kClip, kSign, kLog1p, kExpm1, kFloor, kCeil,
  kSelu, kGeluTanh, kGeluErf, kSilu, kGeluTanhGrad, kGeluErfGrad, kSiluGrad
};

// Softplus as tfjs computes it: thresholds avoid overflow of exp for large |x|.
inline float softplus(float x) {
  const float epsilon = 1.1920928955078125e-7f;
  const float threshold = std::log(epsilon) + 2.0f;
  if (x > -threshold) return x;
  if (x < threshold) return std::exp(x);
  return std::log(std::exp(x) + 1.0f);
}

inline float sign(float x) { return x < 0.f ? -1.f : (x > 0.f ? 1.f : 0.f); }

constexpr float kSqrt2OverPi = 0.7978845608028654f;
inline float geluTanh(float x) { return 0.5f * x * (1.f + std::tanh(kSqrt2OverPi * (x + 0.044715f * x * x * x))); }
inline float geluErf(float x) { return 0.5f * x * (1.f + std::erf(x * 0.7071067811865476f)); }
// Derivatives (d out / d x) of the three gated activations, for their fused backward passes.
inline float geluTanhGrad(float x) {
  const float t = std::tanh(kSqrt2OverPi * (x + 0.044715f * x * x * x));
  return 0.5f * (1.f + t) + 0.5f * x * (1.f - t * t) * kSqrt2OverPi * (1.f + 3.f * 0.044715f * x * x);
}
inline float geluErfGrad(float x) {
  return 0.5f * (1.f + std::erf(x * 0.7071067811865476f)) + x * std::exp(-0.5f * x * x) * 0.3989422804014327f;
}
inline float siluGrad(float x) {
  const float s = 1.f / (1.f + std::exp(-x));
  return s * (1.f + x * (1.f - s));
}

template <typename F>
inline void map(const float* x, float* o, int64_t n, F f) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) o[i] = f(x[i]);
}

}  // namespace

// unary(op, x, out, p0, p1): p0/p1 carry attributes (alpha for LeakyRelu/Step, min/max for Clip).
napi_value unary(const Args& args) {
  const int op = static_cast<int>(args.integer(0));
  View<float> x = args.f32(1), out = args.f32(2);
  const float p0 = static_cast<float>(args.number(3)), p1 = static_cast<float>(args.number(4));
  requireLength(out, x.length, "unary out");
  const float* s = x.data;
  float* o = out.data;
  const int64_t n = x.length;
  switch (op) {
    case kExp: map(s, o, n, [](float v) { return std::exp(v); }); break;
    case kLog: map(s, o, n, [](float v) { return std::log(v); }); break;
    case kSqrt: map(s, o, n, [](float v) { return std::sqrt(v); }); break;
    case kRsqrt: map(s, o, n, [](float v) { return 1.f / std::sqrt(v); }); break;
    case kNeg: map(s, o, n, [](float v) { return -v; }); break;
    case kAbs: map(s, o, n, [](float v) { return std::fabs(v); }); break;
    case kSquare: map(s, o, n, [](float v) { return v * v; }); break;
    case kReciprocal: map(s, o, n, [](float v) { return 1.f / v; }); break;
    case kTanh: map(s, o, n, [](float v) { return std::tanh(v); }); break;
    case kSigmoidU: map(s, o, n, [](float v) { return 1.f / (1.f + std::exp(-v)); }); break;
    case kReluU: map(s, o, n, [](float v) { return v < 0.f ? 0.f : v; }); break;
    case kRelu6U: map(s, o, n, [](float v) { return v < 0.f ? 0.f : (v > 6.f ? 6.f : v); }); break;
    case kLeakyReluU: map(s, o, n, [p0](float v) { return v < 0.f ? p0 * v : v; }); break;
    case kEluU: map(s, o, n, [](float v) { return v >= 0.f ? v : std::exp(v) - 1.f; }); break;
    case kStep: map(s, o, n, [p0](float v) { return v != v ? v : (v > 0.f ? 1.f : p0); }); break;
    case kSoftplus: map(s, o, n, [](float v) { return softplus(v); }); break;
    case kErf: map(s, o, n, [](float v) { return std::erf(v); }); break;
    case kSin: map(s, o, n, [](float v) { return std::sin(v); }); break;
    case kCos: map(s, o, n, [](float v) { return std::cos(v); }); break;
    case kClip: map(s, o, n, [p0, p1](float v) { return v != v ? v : (v < p0 ? p0 : (v > p1 ? p1 : v)); }); break;
    case kSign: map(s, o, n, [](float v) { return sign(v); }); break;
    case kLog1p: map(s, o, n, [](float v) { return std::log1p(v); }); break;
    case kExpm1: map(s, o, n, [](float v) { return std::expm1(v); }); break;
    case kFloor: map(s, o, n, [](float v) { return std::floor(v); }); break;
    case kCeil: map(s, o, n, [](float v) { return std::ceil(v); }); break;
    case kSelu: map(s, o, n, [](float v) {
        const float scale = 1.0507009873554805f, alpha = 1.6732632423543772f;
        return v >= 0.f ? scale * v : scale * alpha * (std::exp(v) - 1.f); }); break;
    case kGeluTanh: map(s, o, n, [](float v) { return geluTanh(v); }); break;
    case kGeluErf: map(s, o, n, [](float v) { return geluErf(v); }); break;
    case kSilu: map(s, o, n, [](float v) { return v / (1.f + std::exp(-v)); }); break;
    case kGeluTanhGrad: map(s, o, n, [](float v) { return geluTanhGrad(v); }); break;
    case kGeluErfGrad: map(s, o, n, [](float v) { return geluErfGrad(v); }); break;
    case kSiluGrad: map(s, o, n, [](float v) { return siluGrad(v); }); break;
    default: throw ArgError("unary: unknown op");
  }
  return nullptr;
}

// addN(out, x0, x1, ...): sum of same-sized arrays (AddN kernel, used by autodiff to merge grads).
napi_value addN(const Args& args) {
  View<float> out = args.f32(0);
  require(args.count() >= 2, "addN: needs at least one input");
  View<float> first = args.f32(1);
  requireLength(first, out.length, "addN input");
  std::memcpy(out.data, first.data, out.length * sizeof(float));
  for (size_t k = 2; k < args.count(); ++k) {
    View<float> x = args.f32(k);
    requireLength(x, out.length, "addN input");
    float* o = out.data;
    const float* s = x.data;
#pragma omp simd
    for (size_t i = 0; i < out.length; ++i) o[i] += s[i];
  }
  return nullptr;
}

}  // namespace omni
