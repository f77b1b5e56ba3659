// Fused scaled dot-product attention, forward and backward, one (batch, head) slice at a time:
//   S = scale * Q K^T (+ mask) (causal: key j visible from query i iff j <= i + Tk - Tq)
//   P = softmax(S) per row, O = P V.
// The forward returns P ([B, H, Tq, Tk], contiguous), which the backward needs; a fully masked row
// gives P = 0 (not NaN).
//
// Q, K, V and O are addressed through (offset, batch stride, head stride, row stride) so that one
// kernel serves [B, H, T, D] tensors, [B, T, H, D] tensors (no transposes around attention) and a
// packed [B, T, 3, H, D] projection (Q, K, V read straight out of one matmul output). Rows must be
// contiguous (element stride 1 along D); OpenBLAS takes the row stride as its leading dimension.
//
// Grouped-query attention: with `groups` > 1 (an optional last argument, default 1) query head h
// reads key/value head h / groups, so K and V (and dK, dV) have H / groups heads; the backward pass
// sums each key/value head's gradient over its group (as repeat_interleave's gradient does).
#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "fastexp.h"
#include "kernels.h"

namespace omni {
namespace {

struct Layout {
  int64_t offset, sb, sh, st;
  int64_t at(int64_t b, int64_t h) const { return offset + b * sb + h * sh; }
  // Index of the last element of a [B, H, T, cols] view, to check it stays inside the array.
  int64_t last(int64_t B, int64_t H, int64_t T, int64_t cols) const {
    if (B == 0 || H == 0 || T == 0 || cols == 0) return -1;
    return offset + (B - 1) * sb + (H - 1) * sh + (T - 1) * st + cols - 1;
  }
};

struct Geometry {
  int64_t B, H, Tq, Tk, D, Dv;
  // Query heads per key/value head (1: plain multi-head attention).
  int64_t groups;
  Layout q, k, v, o;
  int64_t kvHeads() const { return groups > 0 ? H / groups : 0; }
};

Geometry readGeometry(const Args& args, size_t first, size_t stridesArg, size_t groupsArg) {
  Geometry g{};
  g.groups = args.count() > groupsArg && !args.isNull(groupsArg) ? args.integer(groupsArg) : 1;
  g.B = args.integer(first);
  g.H = args.integer(first + 1);
  g.Tq = args.integer(first + 2);
  g.Tk = args.integer(first + 3);
  g.D = args.integer(first + 4);
  g.Dv = args.integer(first + 5);
  require(g.B >= 0 && g.H >= 0 && g.Tq >= 0 && g.Tk >= 0 && g.D >= 0 && g.Dv >= 0, "attention: negative size");
  require(g.groups >= 1 && g.H % g.groups == 0, "attention: groups must divide the number of heads");
  std::vector<int64_t> s = args.dims(stridesArg);
  require(s.size() == 16, "attention: layouts must have 16 entries (offset, sb, sh, st for q, k, v, out)");
  g.q = {s[0], s[1], s[2], s[3]};
  g.k = {s[4], s[5], s[6], s[7]};
  g.v = {s[8], s[9], s[10], s[11]};
  g.o = {s[12], s[13], s[14], s[15]};
  for (int64_t x : s) require(x >= 0, "attention: negative stride");
  require(g.q.st >= g.D && g.k.st >= g.D && g.v.st >= g.Dv && g.o.st >= g.Dv, "attention: rows overlap");
  return g;
}

void checkView(const View<float>& a, const Layout& l, int64_t B, int64_t H, int64_t T, int64_t cols, const char* name) {
  require(l.last(B, H, T, cols) < static_cast<int64_t>(a.length), std::string("attention: ") + name + " layout reaches past its array");
}

// Zeroes a [T, cols] slice with row stride ld.
void zeroRows(float* p, int64_t T, int64_t cols, int64_t ld) {
  for (int64_t t = 0; t < T; ++t) std::fill(p + t * ld, p + t * ld + cols, 0.f);
}

}  // namespace

// attention(q, k, v, mask|null, maskStrides|null, out, probs, B, H, Tq, Tk, D, Dv, scale, causal, layouts)
//   mask: additive, element (b, h, i, j) at b*s0 + h*s1 + i*s2 + j*s3.
//   layouts: Int32Array(16), (offset, batch stride, head stride, row stride) for q, k, v and out.
//   groups (optional, default 1): query heads per key/value head (k and v have H / groups heads).
napi_value attention(const Args& args) {
  View<float> q = args.f32(0), k = args.f32(1), v = args.f32(2), mask = args.f32OrNull(3);
  std::vector<int64_t> ms = mask.data ? args.dims(4) : std::vector<int64_t>{0, 0, 0, 0};
  View<float> out = args.f32(5), probs = args.f32(6);
  const Geometry g = readGeometry(args, 7, 15, 16);
  const float scale = static_cast<float>(args.number(13));
  const bool causal = args.flag(14);
  const int64_t B = g.B, H = g.H, Tq = g.Tq, Tk = g.Tk, D = g.D, Dv = g.Dv, G = g.groups;
  require(ms.size() == 4, "attention: mask strides must have 4 entries");
  checkView(q, g.q, B, H, Tq, D, "q");
  checkView(k, g.k, B, g.kvHeads(), Tk, D, "k");
  checkView(v, g.v, B, g.kvHeads(), Tk, Dv, "v");
  checkView(out, g.o, B, H, Tq, Dv, "out");
  requireLength(probs, B * H * Tq * Tk, "attention probs");
  if (mask.data && B * H * Tq * Tk > 0) {
    const int64_t last = (B - 1) * ms[0] + (H - 1) * ms[1] + (Tq - 1) * ms[2] + (Tk - 1) * ms[3];
    require(last < static_cast<int64_t>(mask.length), "attention: mask strides reach past the mask");
  }
  const float negInf = -std::numeric_limits<float>::infinity();
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t h = 0; h < H; ++h) {
      float* P = probs.data + (b * H + h) * Tq * Tk;
      float* O = out.data + g.o.at(b, h);
      if (Tq * Tk == 0) {
        zeroRows(O, Tq, Dv, g.o.st);
        continue;
      }
      if (D == 0) {
        std::fill(P, P + Tq * Tk, 0.f);
      } else {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Tq, Tk, D, scale, q.data + g.q.at(b, h), g.q.st,
                    k.data + g.k.at(b, h / G), g.k.st, 0.f, P, Tk);
      }
      const float* M = mask.data ? mask.data + b * ms[0] + h * ms[1] : nullptr;
      for (int64_t i = 0; i < Tq; ++i) {
        float* row = P + i * Tk;
        if (M) {
          const float* mrow = M + i * ms[2];
          for (int64_t j = 0; j < Tk; ++j) row[j] += mrow[j * ms[3]];
        }
        const int64_t visible = causal ? std::min<int64_t>(Tk, std::max<int64_t>(0, i + Tk - Tq + 1)) : Tk;
        // keys past `visible` get probability 0 (exp(-inf)); only the visible ones are exponentiated
        std::fill(row + visible, row + Tk, 0.f);
        float m = negInf;
        for (int64_t j = 0; j < visible; ++j) m = row[j] > m ? row[j] : m;
        if (m == negInf) {  // nothing visible: no attention at all rather than NaN
          std::fill(row, row + Tk, 0.f);
          continue;
        }
        float sum = 0.f;
#pragma omp simd reduction(+ : sum)
        for (int64_t j = 0; j < visible; ++j) {
          row[j] = fastExp(row[j] - m);
          sum += row[j];
        }
        const float inv = 1.f / sum;
#pragma omp simd
        for (int64_t j = 0; j < visible; ++j) row[j] *= inv;
      }
      if (Dv > 0) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Tq, Dv, Tk, 1.f, P, Tk, v.data + g.v.at(b, h / G), g.v.st,
                    0.f, O, g.o.st);
      }
    }
  }
  return nullptr;
}

// attentionGrad(dout, q, k, v, probs, dq, dk, dv, B, H, Tq, Tk, D, Dv, scale, layouts, groups?)
//   dq/dk/dv use the layouts of q/k/v (they may be one packed array), dout the layout of out.
//   With groups > 1, dk/dv of key/value head h / groups sum the contributions of its query heads.
//   dP = dO V^T, dV = P^T dO, dS = P * (dP - rowsum(dP * P)) * scale, dQ = dS K, dK = dS^T Q
napi_value attentionGrad(const Args& args) {
  View<float> dO = args.f32(0), q = args.f32(1), k = args.f32(2), v = args.f32(3), probs = args.f32(4);
  View<float> dq = args.f32(5), dk = args.f32(6), dv = args.f32(7);
  const Geometry g = readGeometry(args, 8, 15, 16);
  const float scale = static_cast<float>(args.number(14));
  const int64_t B = g.B, H = g.H, Tq = g.Tq, Tk = g.Tk, D = g.D, Dv = g.Dv, G = g.groups, KVH = g.kvHeads();
  checkView(dO, g.o, B, H, Tq, Dv, "dout");
  checkView(q, g.q, B, H, Tq, D, "q");
  checkView(k, g.k, B, KVH, Tk, D, "k");
  checkView(v, g.v, B, KVH, Tk, Dv, "v");
  checkView(dq, g.q, B, H, Tq, D, "dq");
  checkView(dk, g.k, B, KVH, Tk, D, "dk");
  checkView(dv, g.v, B, KVH, Tk, Dv, "dv");
  requireLength(probs, B * H * Tq * Tk, "attentionGrad probs");
  std::vector<float> dS(Tq * Tk);
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t h = 0; h < H; ++h) {
      const float* P = probs.data + (b * H + h) * Tq * Tk;
      const float* dOut = dO.data + g.o.at(b, h);
      const float* Q = q.data + g.q.at(b, h);
      const float* K = k.data + g.k.at(b, h / G);
      const float* V = v.data + g.v.at(b, h / G);
      float* dQ = dq.data + g.q.at(b, h);
      float* dK = dk.data + g.k.at(b, h / G);
      float* dV = dv.data + g.v.at(b, h / G);
      // The first query head of a group writes dK/dV, the others add to them.
      const bool first = h % G == 0;
      const float accumulate = first ? 0.f : 1.f;
      if (Tq == 0 || Tk == 0 || Dv == 0) {
        zeroRows(dQ, Tq, D, g.q.st);
        if (first) {
          zeroRows(dK, Tk, D, g.k.st);
          zeroRows(dV, Tk, Dv, g.v.st);
        }
        continue;
      }
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Tq, Tk, Dv, 1.f, dOut, g.o.st, V, g.v.st, 0.f, dS.data(), Tk);
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Tk, Dv, Tq, 1.f, P, Tk, dOut, g.o.st, accumulate, dV, g.v.st);
      for (int64_t i = 0; i < Tq; ++i) {
        float* row = dS.data() + i * Tk;
        const float* p = P + i * Tk;
        float dot = 0.f;
#pragma omp simd reduction(+ : dot)
        for (int64_t j = 0; j < Tk; ++j) dot += row[j] * p[j];
#pragma omp simd
        for (int64_t j = 0; j < Tk; ++j) row[j] = p[j] * (row[j] - dot) * scale;
      }
      if (D > 0) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Tq, D, Tk, 1.f, dS.data(), Tk, K, g.k.st, 0.f, dQ,
                    g.q.st);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Tk, D, Tq, 1.f, dS.data(), Tk, Q, g.q.st, accumulate, dK,
                    g.k.st);
      }
    }
  }
  return nullptr;
}

}  // namespace omni
