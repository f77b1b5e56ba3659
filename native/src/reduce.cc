// Reductions over one contiguous block of axes, arg-max/min, softmax / log-softmax, sum of squares.
//
// JS reshapes every reduction to [outer, red, inner] (transposing first when the reduced axes are not
// adjacent). Sums accumulate in double, like the tfjs cpu kernels that accumulate in JS numbers.
#include <cmath>
#include <limits>
#include <vector>

#include "kernels.h"

namespace omni {
namespace {

enum RedOp : int { kSum = 0, kMean, kMax, kMin, kProd };

inline float pickMax(float m, float v) { return (v != v || v > m) ? v : m; }
inline float pickMin(float m, float v) { return (v != v || v < m) ? v : m; }

void reduceInner1(int op, const float* x, float* out, int64_t outer, int64_t red) {
  for (int64_t o = 0; o < outer; ++o) {
    const float* s = x + o * red;
    if (op == kSum || op == kMean) {
      double acc = 0;
#pragma omp simd reduction(+ : acc)
      for (int64_t r = 0; r < red; ++r) acc += s[r];
      out[o] = static_cast<float>(op == kMean ? acc / red : acc);
    } else if (op == kProd) {
      double acc = 1;
      for (int64_t r = 0; r < red; ++r) acc *= s[r];
      out[o] = static_cast<float>(acc);
    } else {
      float m = s[0];
      if (op == kMax) {
        for (int64_t r = 1; r < red; ++r) { if (m != m) break; m = pickMax(m, s[r]); }
      } else {
        for (int64_t r = 1; r < red; ++r) { if (m != m) break; m = pickMin(m, s[r]); }
      }
      out[o] = m;
    }
  }
}

void reduceStrided(int op, const float* x, float* out, int64_t outer, int64_t red, int64_t inner) {
  std::vector<double> acc(inner);
  for (int64_t o = 0; o < outer; ++o) {
    const float* base = x + o * red * inner;
    float* dst = out + o * inner;
    if (op == kSum || op == kMean || op == kProd) {
      const double init = op == kProd ? 1.0 : 0.0;
      for (int64_t i = 0; i < inner; ++i) acc[i] = init;
      for (int64_t r = 0; r < red; ++r) {
        const float* s = base + r * inner;
        double* a = acc.data();
        if (op == kProd) {
          for (int64_t i = 0; i < inner; ++i) a[i] *= s[i];
        } else {
#pragma omp simd
          for (int64_t i = 0; i < inner; ++i) a[i] += s[i];
        }
      }
      const double scale = op == kMean ? 1.0 / red : 1.0;
      for (int64_t i = 0; i < inner; ++i) dst[i] = static_cast<float>(acc[i] * scale);
    } else {
      for (int64_t i = 0; i < inner; ++i) dst[i] = base[i];
      for (int64_t r = 1; r < red; ++r) {
        const float* s = base + r * inner;
        if (op == kMax) {
          for (int64_t i = 0; i < inner; ++i) dst[i] = dst[i] != dst[i] ? dst[i] : pickMax(dst[i], s[i]);
        } else {
          for (int64_t i = 0; i < inner; ++i) dst[i] = dst[i] != dst[i] ? dst[i] : pickMin(dst[i], s[i]);
        }
      }
    }
  }
}

}  // namespace

// reduce(op, x, out, outer, red, inner): out[o, i] = op over r of x[o, r, i].
napi_value reduce(const Args& args) {
  const int op = static_cast<int>(args.integer(0));
  View<float> x = args.f32(1), out = args.f32(2);
  const int64_t outer = args.integer(3), red = args.integer(4), inner = args.integer(5);
  require(op >= kSum && op <= kProd, "reduce: unknown op");
  require(outer >= 0 && red >= 0 && inner >= 0, "reduce: negative size");
  requireLength(x, outer * red * inner, "reduce x");
  requireLength(out, outer * inner, "reduce out");
  if (outer * inner == 0) return nullptr;
  if (red == 0) {
    // Empty reduction, as the tfjs cpu kernels give it: 0 for sum and mean, 1 for prod, NaN for max/min.
    float v = op == kSum || op == kMean ? 0.f : op == kProd ? 1.f : NAN;
    for (int64_t i = 0; i < outer * inner; ++i) out.data[i] = v;
    return nullptr;
  }
  if (inner == 1) reduceInner1(op, x.data, out.data, outer, red);
  else reduceStrided(op, x.data, out.data, outer, red, inner);
  return nullptr;
}

// argReduce(x, out: Int32Array, outer, red, inner, isMax): index of the first max (or min).
napi_value argReduce(const Args& args) {
  View<float> x = args.f32(0);
  View<int32_t> out = args.i32(1);
  const int64_t outer = args.integer(2), red = args.integer(3), inner = args.integer(4);
  const bool isMax = args.flag(5);
  require(outer >= 0 && red >= 1 && inner >= 0, "argReduce: bad sizes");
  requireLength(x, outer * red * inner, "argReduce x");
  requireLength(out, outer * inner, "argReduce out");
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      const float* s = x.data + o * red * inner + i;
      float best = s[0];
      int32_t at = 0;
      for (int64_t r = 1; r < red; ++r) {
        const float v = s[r * inner];
        if (isMax ? v > best : v < best) { best = v; at = static_cast<int32_t>(r); }
      }
      out.data[o * inner + i] = at;
    }
  }
  return nullptr;
}

// softmax(x, out, rows, cols, log): softmax (or log-softmax) of each row.
napi_value softmax(const Args& args) {
  View<float> x = args.f32(0), out = args.f32(1);
  const int64_t rows = args.integer(2), cols = args.integer(3);
  const bool log = args.flag(4);
  require(rows >= 0 && cols >= 0, "softmax: negative size");
  requireLength(x, rows * cols, "softmax x");
  requireLength(out, rows * cols, "softmax out");
  for (int64_t r = 0; r < rows; ++r) {
    const float* s = x.data + r * cols;
    float* o = out.data + r * cols;
    float m = -std::numeric_limits<float>::infinity();
    for (int64_t c = 0; c < cols; ++c) m = s[c] > m ? s[c] : m;
    float sum = 0.f;
#pragma omp simd reduction(+ : sum)
    for (int64_t c = 0; c < cols; ++c) {
      o[c] = std::exp(s[c] - m);
      sum += o[c];
    }
    if (log) {
      const float ls = std::log(sum);
#pragma omp simd
      for (int64_t c = 0; c < cols; ++c) o[c] = (s[c] - m) - ls;
    } else {
      const float inv = 1.f / sum;
#pragma omp simd
      for (int64_t c = 0; c < cols; ++c) o[c] *= inv;
    }
  }
  return nullptr;
}

// sumSquares(x) -> number: sum of x^2 in double (global-norm gradient clipping).
napi_value sumSquares(const Args& args) {
  View<float> x = args.f32(0);
  double acc = 0;
#pragma omp simd reduction(+ : acc)
  for (size_t i = 0; i < x.length; ++i) acc += static_cast<double>(x.data[i]) * x.data[i];
  return makeNumber(args.env(), acc);
}

}  // namespace omni
