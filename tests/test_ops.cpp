// Every entry of rn_backend_ops (src/backend_impl.h), case by case, through tests/op_harness.h:
// OpsCpu.* checks the CPU backend against the double-precision reference below, written from
// SPEC.md and the table's comments (nothing of src/math/rn_math.h; the noise reference is the
// public rn_noise_sample, the reference of the random numbers only), CudaOps.* checks the CUDA
// backend against the CPU on the same inputs at block sizes 32, 64, 256 and 1024.
//
// Tolerances (op_harness.h: element |got − ref| <= atol_scale·max|ref| + rtol·|ref|, and the
// tensor's max|got − ref| / max|ref|):
//   float32 outputs        f32(): 1e-5 of the tensor's scale, element-wise and as a whole. The
//                          CPU works in float (a few roundings per element, or a float scan or
//                          sum); 1e-5 leaves two orders of magnitude over what the inputs below
//                          produce, and a wrong formula, index or sign is O(1).
//   exact entries          exact(): fill, zero, upload/download, shift_rows, clip_bounds, the
//                          x copy of rate_init, and Adam/SGD when the guard must leave everything
//                          untouched; on CUDA also rate_param_grads, which its kernel documents
//                          as bit-identical to the CPU (the same float sums in the same order).
//   one rounding           bias_add on the CPU: y + bias is one float addition, so within
//                          2^-24·|ref| of the exact sum (and exact on CUDA: the same addition).
//   double scalars         rel(): the sums of exact double terms (l2, sum_squares) within
//                          (2n + 2)·DBL_EPSILON, the error bound of summing n non-negative terms
//                          plus the '+='; the MSE (terms from a float difference: each within
//                          2·2^-24 of exact, all positive, so the sum too) 3e-7 on the CPU and
//                          the double-sum bound on CUDA (same float terms, another order); the
//                          bound penalty (expf terms of a float difference: ≤ 0.5 ulp of the
//                          argument's rounding times |arg| ≤ 5, plus ≤ 1 ulp of expf, on each
//                          backend) 1e-6 on both.
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "op_harness.h"
#include "ratenn/noise.h"

using oph::Case;
using oph::dims1;
using oph::dims2;
using oph::dims3;
using oph::Ptrs;
using oph::Role;
using oph::Type;

namespace {

// ---- the reference, from SPEC.md §2-§5 in double ----

constexpr double kLreluSlope = 0.01; // SPEC §2
const char *const kActName[] = {"tanh", "relu", "sigmoid", "lrelu", "linear"};
constexpr int kActs = 5;

double act(int a, double z) {
    switch (a) {
    case RN_ACT_TANH:
        return std::tanh(z);
    case RN_ACT_RELU:
        return z > 0 ? z : 0.0;
    case RN_ACT_SIGMOID:
        return 0.5 * (std::tanh(z) + 1.0);
    case RN_ACT_LRELU:
        return z >= 0 ? z : kLreluSlope * z;
    default:
        return z;
    }
}

// f′(z); at the kink relu gives 0 and lrelu 1 (SPEC §2)
double act_grad(int a, double z) {
    switch (a) {
    case RN_ACT_TANH:
        return 1.0 - std::tanh(z) * std::tanh(z);
    case RN_ACT_RELU:
        return z > 0 ? 1.0 : 0.0;
    case RN_ACT_SIGMOID:
        return 0.5 * (1.0 - std::tanh(z) * std::tanh(z));
    case RN_ACT_LRELU:
        return z >= 0 ? 1.0 : kLreluSlope;
    default:
        return 1.0;
    }
}

// The magnitude of the terms of f′ as the backends form it: 1 − a² for tanh and sigmoid (a = tanh),
// which loses its relative precision where f′ is small.
double fprime_mag(int a, double fp) {
    return a == RN_ACT_TANH || a == RN_ACT_SIGMOID ? std::max(std::fabs(fp), 1.0) : std::fabs(fp);
}

// The filter pole p = exp(−dt/τ) and gain 1 − p, as both backends form them by design (rn_math.h:
// in double, then rounded to float, the gain from expm1 rather than 1 − p): mirrored here, since
// over a scan of T steps the pole's rounding moves y by up to ~τ/dt ulp.
double filter_pole(float dt, float tau) {
    return (float)std::exp(-(double)dt / (double)tau);
}
double filter_gain(float dt, float tau) {
    return (float)-std::expm1(-(double)dt / (double)tau);
}

double bound_cost(double p, double lo, double hi) {
    return (p < lo ? std::exp(-(p - lo)) : 0.0) + (p > hi ? std::exp(-(hi - p)) : 0.0);
}
double bound_grad(double p, double lo, double hi) {
    return (p < lo ? -std::exp(-(p - lo)) : 0.0) + (p > hi ? std::exp(-(hi - p)) : 0.0);
}

// the global-norm clip scale (SPEC §5): 1 when off or under the threshold
double clip_scale(double gnorm2, double clip) {
    return clip > 0 && gnorm2 > clip * clip ? clip / std::sqrt(gnorm2) : 1.0;
}

bool all_finite(const std::vector<double> &s) {
    for (double x : s)
        if (!std::isfinite(x)) return false;
    return true;
}

// ---- tolerances (see the top of the file) ----

// n non-negative double terms summed in any order, then added to the accumulator
oph::Tol double_sum_tol(size_t n) {
    return oph::rel((2.0 * (double)n + 2.0) * DBL_EPSILON);
}
const oph::Tol kOneRounding = oph::rel(1.0 / 16777216.0); // 2^-24
const oph::Tol kMseCpu = oph::rel(3e-7);
const oph::Tol kBoundsCost = oph::rel(1e-6);

// ---- sizes swept (1, not multiples of 4, 32 or 256, more than one block) ----

const int kN[] = {1, 3, 37, 300, 1029};
const size_t kFlat[] = {1, 3, 37, 300, 1029, 70001};
struct BTN {
    int B, T, N;
};
const BTN kSeq[] = {{1, 1, 1}, {2, 3, 3}, {5, 17, 37}, {1, 3, 300}, {2, 3, 1029}};

// ==== memory ====

OPS_CASES(Fill) {
    const float values[] = {2.5f, -3.75e-3f};
    for (size_t n : kFlat)
        for (float v : values) {
            Case c(oph::fmt("n %zu value %g", n, v));
            int D = c.add("dst", Role::Set, Type::F32, sw.nans(n), dims1("i", n), oph::exact(),
                          oph::exact());
            c.run = [=](rn_backend *be, const Ptrs &p) { return be->ops->fill(be, p.f(D), v, n); };
            c.ref = [=](Case &x) { x.out(D).assign(n, v); };
            sw.run(c);
        }
}

// zero on bytes, floats and doubles (the per-epoch scalars are doubles)
OPS_CASES(Zero) {
    const Type types[] = {Type::U8, Type::F32, Type::F64};
    for (size_t n : kFlat)
        for (Type ty : types) {
            const char *tn = ty == Type::U8 ? "bytes" : ty == Type::F32 ? "floats" : "doubles";
            Case c(oph::fmt("%zu %s", n, tn));
            std::vector<double> init =
                ty == Type::U8 ? std::vector<double>(n, oph::kJunkByte) : sw.nans(n);
            int D = c.add("dst", Role::Set, ty, init, dims1("i", n), oph::exact(), oph::exact());
            const size_t bytes = n * oph::type_size(ty);
            c.run = [=](rn_backend *be, const Ptrs &p) {
                return be->ops->zero(be, p.u8(D), bytes);
            };
            c.ref = [=](Case &x) { x.out(D).assign(n, 0.0); };
            sw.run(c);
        }
}

// upload into the middle of a buffer, download it back into a guarded host buffer
OPS_CASES(UploadDownload) {
    const size_t sizes[] = {1, 3, 37, 300, 1029, 100003};
    for (size_t n : sizes)
        for (size_t off : {(size_t)0, (size_t)5}) {
            const size_t total = n + 2 * off;
            Case c(oph::fmt("%zu bytes at offset %zu of %zu", n, off, total));
            int D = c.add("dst", Role::Set, Type::U8, std::vector<double>(total, oph::kJunkByte),
                          dims1("byte", total), oph::exact(), oph::exact());
            std::vector<double> srcd = sw.bytes(n);
            std::vector<unsigned char> src(srcd.begin(), srcd.end());
            const std::string desc = c.desc();
            c.run = [=](rn_backend *be, const Ptrs &p) {
                rn_status st = be->ops->upload(be, p.u8(D) + off, src.data(), n);
                if (st != RN_OK) return st;
                std::vector<unsigned char> back(n + 2 * oph::kGuardBytes);
                oph::fill_guard(back.data());
                oph::fill_guard(back.data() + oph::kGuardBytes + n);
                std::vector<unsigned char> guards = back;
                st = be->ops->download(be, back.data() + oph::kGuardBytes, p.u8(D) + off, n);
                if (st != RN_OK) return st;
                std::string damage = oph::guard_damage(back.data(), n, 1);
                EXPECT_EQ(damage, "") << desc << ": download into the host buffer";
                EXPECT_EQ(0, std::memcmp(back.data() + oph::kGuardBytes, src.data(), n))
                    << desc << ": download does not give back what upload wrote";
                return RN_OK;
            };
            c.ref = [=](Case &x) {
                for (size_t i = 0; i < n; i++)
                    x.out(D)[off + i] = src[i];
            };
            sw.run(c);
        }
}

// ==== products ====

// A (rows, ld) row-major matrix whose columns from `cols` on are padding: NaN, so that a product
// which reads past the width shows it.
std::vector<double> padded(oph::Sweep &sw, int rows, int cols, int ld, double lo, double hi) {
    std::vector<double> v = sw.uniform((size_t)rows * ld, lo, hi);
    for (int r = 0; r < rows; r++)
        for (int c = cols; c < ld; c++)
            v[(size_t)r * ld + c] = NAN;
    return v;
}

// c = alpha·op(a)·op(b) + beta·c; beta 0 is '=' (c pre-filled with NaN: BLAS reads no c then, and
// the trainer relies on it), otherwise '+=' onto junk. The padding columns of c must stay NaN.
OPS_CASES(Gemm) {
    const int shapes[][3] = {{1, 1, 1},    {3, 5, 7},     {37, 29, 53}, {1, 300, 3},
                             {300, 1, 37}, {17, 1029, 5}, {3, 5, 1029}, {64, 130, 300}};
    const float ab[][2] = {{0.7f, 0.3f}, {-1.3f, 0.0f}, {1.0f, 1.0f}};
    for (const auto &sh : shapes)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++)
                for (int pad : {0, 3})
                    for (const auto &albe : ab) {
                        const int m = sh[0], n = sh[1], k = sh[2];
                        const float alpha = albe[0], beta = albe[1];
                        const int ar = ta ? k : m, ac = ta ? m : k, br = tb ? n : k,
                                  bc = tb ? k : n;
                        const int lda = ac + pad, ldb = bc + pad, ldc = n + pad;
                        Case c(oph::fmt("trans_a %d trans_b %d m %d n %d k %d lda %d ldb %d ldc "
                                        "%d alpha %g beta %g",
                                        ta, tb, m, n, k, lda, ldb, ldc, alpha, beta));
                        int A = c.add("a", Role::In, Type::F32, padded(sw, ar, ac, lda, -1, 1),
                                      dims2("row", ar, "col", lda));
                        int Bm = c.add("b", Role::In, Type::F32, padded(sw, br, bc, ldb, -1, 1),
                                       dims2("row", br, "col", ldb));
                        std::vector<double> c0 = padded(sw, m, n, ldc, -1, 1);
                        if (beta == 0.0f)
                            for (double &x : c0)
                                x = NAN;
                        int C = c.add("c", beta == 0.0f ? Role::Set : Role::Acc, Type::F32, c0,
                                      dims2("row", m, "col", ldc));
                        c.run = [=](rn_backend *be, const Ptrs &p) {
                            return be->ops->gemm(be, ta, tb, m, n, k, alpha, p.f(A), lda, p.f(Bm),
                                                 ldb, beta, p.f(C), ldc);
                        };
                        c.ref = [=](Case &x) {
                            const auto &a = x.in(A), &b = x.in(Bm);
                            auto &cc = x.out(C);
                            for (int i = 0; i < m; i++)
                                for (int j = 0; j < n; j++) {
                                    double s = 0.0, sa = 0.0;
                                    for (int l = 0; l < k; l++) {
                                        const double t =
                                            (ta ? a[(size_t)l * lda + i] : a[(size_t)i * lda + l]) *
                                            (tb ? b[(size_t)j * ldb + l] : b[(size_t)l * ldb + j]);
                                        s += t;
                                        sa += std::fabs(t);
                                    }
                                    const size_t o = (size_t)i * ldc + j;
                                    const double bc0 = beta == 0.0f ? 0.0 : beta * cc[o];
                                    cc[o] = alpha * s + bc0;
                                    x.mag(C)[o] = std::fabs(alpha) * sa + std::fabs(bc0);
                                }
                        };
                        sw.run(c);
                    }
}

// ==== linear layer ====

// (300000, 1): a readout bias over many rows (bias_grad's row chunks capped); (2050, 67): two
// chunks
const int kRowsCols[][2] = {{1, 1},     {3, 37},   {37, 3},     {1029, 5}, {5, 1029},
                            {300, 300}, {4099, 7}, {300000, 1}, {2050, 67}};

OPS_CASES(BiasAdd) {
    for (const auto &rc : kRowsCols) {
        const int rows = rc[0], cols = rc[1];
        Case c(oph::fmt("rows %d cols %d", rows, cols));
        int Y = c.add("y", Role::Acc, Type::F32, sw.uniform((size_t)rows * cols, -1, 1),
                      dims2("row", rows, "col", cols), kOneRounding, oph::exact());
        int Bi = c.add("bias", Role::In, Type::F32, sw.uniform(cols, -1, 1), dims1("col", cols));
        c.run = [=](rn_backend *be, const Ptrs &p) {
            return be->ops->bias_add(be, p.f(Y), p.f(Bi), rows, cols);
        };
        c.ref = [=](Case &x) {
            for (int r = 0; r < rows; r++)
                for (int j = 0; j < cols; j++)
                    x.out(Y)[(size_t)r * cols + j] += x.in(Bi)[j];
        };
        sw.run(c);
    }
}

OPS_CASES(BiasGrad) {
    for (const auto &rc : kRowsCols) {
        const int rows = rc[0], cols = rc[1];
        Case c(oph::fmt("rows %d cols %d", rows, cols));
        int D = c.add("dbias", Role::Acc, Type::F32, sw.junk(cols), dims1("col", cols));
        int G = c.add("g", Role::In, Type::F32, sw.uniform((size_t)rows * cols, -1, 1),
                      dims2("row", rows, "col", cols));
        c.run = [=](rn_backend *be, const Ptrs &p) {
            return be->ops->bias_grad(be, p.f(D), p.f(G), rows, cols);
        };
        c.ref = [=](Case &x) {
            for (int j = 0; j < cols; j++) {
                double s = 0.0;
                for (int r = 0; r < rows; r++)
                    s += x.in(G)[(size_t)r * cols + j];
                x.out(D)[j] += s;
            }
        };
        sw.run(c);
    }
}

// ==== rate layer ====

constexpr float kDt = 1e-3f;
constexpr uint64_t kNoiseSeed = 0x1234567890abcdefull;
constexpr uint32_t kLayer = 2;

// The step's scalars, field by field; the epoch pointer is set where the backend memory is known.
rn_rate_step rate_step(int B, int N, int ld, int ld_prev, int act, float noise_scale, int64_t t) {
    rn_rate_step s = {};
    s.batch = B;
    s.n = N;
    s.ld = ld;
    s.ld_prev = ld_prev;
    s.activation = act;
    s.dt = kDt;
    s.noise_scale = noise_scale;
    s.seed = kNoiseSeed;
    s.epoch = nullptr;
    s.layer = kLayer;
    s.t = t;
    return s;
}

// x0 − θ exactly 0 at every fifth neuron: the kinks of relu (f′ = 0) and lrelu (f′ = 1)
void add_kinks(std::vector<double> &x, const std::vector<double> &theta, size_t rows) {
    const size_t n = theta.size();
    for (size_t r = 0; r < rows; r++)
        for (size_t i = 2; i < n; i += 5)
            x[r * n + i] = theta[i];
}

OPS_CASES(RateInit) {
    for (int B : {1, 2, 5})
        for (int N : kN)
            for (int a = 0; a < kActs; a++) {
                Case c(oph::fmt("%s B %d N %d", kActName[a], B, N));
                const size_t bn = (size_t)B * N;
                std::vector<double> theta = sw.uniform(N, -0.5, 0.5), x0 = sw.uniform(N, -1.5, 1.5);
                add_kinks(x0, theta, 1);
                int X = c.add("x_init", Role::Set, Type::F32, sw.nans(bn), dims2("b", B, "n", N),
                              oph::exact(), oph::exact());
                int A = c.add("a_init", Role::Set, Type::F32, sw.nans(bn), dims2("b", B, "n", N));
                int X0 = c.add("x0", Role::In, Type::F32, x0, dims1("n", N));
                int TH = c.add("theta", Role::In, Type::F32, theta, dims1("n", N));
                c.run = [=](rn_backend *be, const Ptrs &p) {
                    return be->ops->rate_init(be, p.f(X), p.f(A), p.f(X0), p.f(TH), a, B, N);
                };
                c.ref = [=](Case &x) {
                    for (size_t k = 0; k < bn; k++) {
                        const size_t i = k % N;
                        x.out(X)[k] = x.in(X0)[i];
                        x.out(A)[k] = act(a, x.in(X0)[i] - x.in(TH)[i]);
                    }
                };
                sw.run(c);
            }
}

// One forward step. The sequences are (B, T, N) with ld = T·N and the step writes row `row`;
// x_prev is the row before in a (B, T, N) buffer (ld_prev = T·N, as for t ≥ 1) or the initial state
// (B, N) (ld_prev = N, as at t = 0). The noise counter's step is `step` (normally the row).
struct Fwd {
    int B, T, N, act;
    bool seq, noise, rec;
    int row;
    int64_t step;
    bool noise_alone; // zero inputs, α = 1, σ√dt = 1: x is the noise itself, checked tightly
};

void forward_case(oph::Sweep &sw, const Fwd f) {
    const int B = f.B, T = f.T, N = f.N, ld = T * N, ld_prev = f.seq ? T * N : N;
    const size_t seqn = (size_t)B * T * N, off = (size_t)f.row * N,
                 poff = f.seq ? (size_t)(f.row - 1) * N : 0;
    const float noise_scale = !f.noise ? 0.0f : f.noise_alone ? 1.0f : 0.5f * std::sqrt(kDt);
    const uint32_t epoch = sw.u32();
    Case c(oph::fmt("%s%s noise %s rec %s B %d T %d N %d row %d step %lld ld_prev %s epoch %u",
                    f.noise_alone ? "noise alone: " : "", kActName[f.act], f.noise ? "on" : "off",
                    f.rec ? "yes" : "NULL", B, T, N, f.row, (long long)f.step, f.seq ? "T*N" : "N",
                    epoch));
    auto data = [&](size_t n, double lo, double hi) {
        return f.noise_alone ? std::vector<double>(n, 0.0) : sw.uniform(n, lo, hi);
    };
    // noise alone: x = σ√dt ξ; glibc's and CUDA's logf/sinf/cosf differ by a few ulp
    const oph::Tol tol = f.noise_alone ? oph::Tol{false, 2e-6, 1e-7, 2e-6} : oph::f32();
    const oph::Dims seq3 = dims3("b", B, "t", T, "n", N);
    int X = c.add("x", Role::Set, Type::F32, sw.nans(seqn), seq3, tol, tol);
    int O = c.add("out", Role::Set, Type::F32, sw.nans(seqn), seq3, tol, tol);
    int XP = f.seq ? c.add("x_prev", Role::In, Type::F32, data(seqn, -1.5, 1.5), seq3)
                   : c.add("x_prev", Role::In, Type::F32, data((size_t)B * N, -1.5, 1.5),
                           dims2("b", B, "n", N));
    int IN = c.add("in", Role::In, Type::F32, data(seqn, -1, 1), seq3);
    int R = f.rec ? c.add("rec", Role::In, Type::F32, sw.uniform(seqn, -1, 1), seq3) : -1;
    int TAU = c.add("tau", Role::In, Type::F32,
                    f.noise_alone ? std::vector<double>(N, kDt) : sw.uniform(N, 0.002, 0.05),
                    dims1("n", N));
    int BI = c.add("bias", Role::In, Type::F32, data(N, -0.5, 0.5), dims1("n", N));
    int TH = c.add("theta", Role::In, Type::F32, data(N, -0.3, 0.3), dims1("n", N));
    int EP = c.add("epoch", Role::In, Type::U32, {(double)epoch}, dims1("word", 1));
    const rn_rate_step s = rate_step(B, N, ld, ld_prev, f.act, noise_scale, f.step);
    c.run = [=](rn_backend *be, const Ptrs &p) {
        rn_rate_step st = s;
        st.epoch = p.u32(EP); // backend memory, as the contract says
        return be->ops->rate_forward_step(be, p.f(X) + off, p.f(O) + off, p.f(XP) + poff,
                                          p.f(IN) + off, R >= 0 ? p.f(R) + off : nullptr, p.f(TAU),
                                          p.f(BI), p.f(TH), &st);
    };
    c.ref = [=](Case &x) {
        for (int b = 0; b < B; b++)
            for (int i = 0; i < N; i++) {
                const size_t row = (size_t)b * ld + off + i, prow = (size_t)b * ld_prev + poff + i;
                const double alpha = (double)kDt / x.in(TAU)[i];
                const double xi = f.noise
                                      ? rn_noise_sample(kNoiseSeed, epoch, kLayer, (uint32_t)b,
                                                        (uint64_t)f.step, (uint32_t)i, (uint32_t)N)
                                      : 0.0;
                const double xp = x.in(XP)[prow], n = (double)noise_scale * xi,
                             r = R >= 0 ? x.in(R)[row] : 0.0;
                const double v = xp + alpha * (-xp + x.in(IN)[row] + n + x.in(BI)[i] + r);
                x.out(X)[row] = v;
                x.out(O)[row] = act(f.act, v - x.in(TH)[i]);
                x.mag(X)[row] =
                    std::fabs(xp) + alpha * (std::fabs(xp) + std::fabs(x.in(IN)[row]) +
                                             std::fabs(n) + std::fabs(x.in(BI)[i]) + std::fabs(r));
                x.mag(O)[row] = x.mag(X)[row] + std::fabs(x.in(TH)[i]); // |f′| <= 1
            }
    };
    sw.run(c);
}

OPS_CASES(RateForwardStep) {
    for (const BTN &z : kSeq)
        for (int seq = 0; seq < 2; seq++) {
            if (seq && z.T < 2) continue;
            const int row = seq ? std::max(1, z.T / 2) : 0;
            for (int a = 0; a < kActs; a++)
                for (int noise = 0; noise < 2; noise++)
                    for (int rec = 0; rec < 2; rec++)
                        forward_case(sw, Fwd{z.B, z.T, z.N, a, seq != 0, noise != 0, rec != 0, row,
                                             row, false});
        }
    // The noise alone, at steps whose Philox block number needs the counter's high word too.
    const int64_t steps[] = {0, 1, 6, 5 * ((int64_t)1 << 32) + 3};
    for (int N : {13, 1029})
        for (int64_t step : steps)
            forward_case(sw, Fwd{3, 1, N, RN_ACT_LINEAR, false, true, false, 0, step, true});
}

// One adjoint step at row `row` (x_prev as in the forward), d NULL or not. The backward entries
// get no noise epoch (NULL): noise takes no gradient.
OPS_CASES(RateBackwardStep) {
    for (const BTN &z : kSeq)
        for (int seq = 0; seq < 2; seq++) {
            if (seq && z.T < 2) continue;
            for (int a = 0; a < kActs; a++)
                for (int with_d = 0; with_d < 2; with_d++) {
                    const int B = z.B, T = z.T, N = z.N, ld = T * N, ld_prev = seq ? T * N : N;
                    const int row = seq ? std::max(1, T / 2) : 0;
                    const size_t seqn = (size_t)B * T * N, bn = (size_t)B * N,
                                 off = (size_t)row * N, poff = seq ? (size_t)(row - 1) * N : 0;
                    Case c(oph::fmt("%s d %s B %d T %d N %d row %d ld_prev %s", kActName[a],
                                    with_d ? "yes" : "NULL", B, T, N, row, seq ? "T*N" : "N"));
                    const oph::Dims seq3 = dims3("b", B, "t", T, "n", N),
                                    bn2 = dims2("b", B, "n", N);
                    std::vector<double> theta = sw.uniform(N, -0.3, 0.3),
                                        xs = sw.uniform(seqn, -1.5, 1.5), as(seqn);
                    add_kinks(xs, theta, (size_t)B * T);
                    for (size_t k = 0; k < seqn; k++) // a = f(x − θ) as the forward wrote it
                        as[k] = (float)act(a, xs[k] - theta[k % N]);
                    int LAM = c.add("lam", Role::InOut, Type::F32, sw.uniform(bn, -1, 1), bn2);
                    int E = c.add("e", Role::Set, Type::F32, sw.nans(seqn), seq3);
                    int AT = c.add("acc_tau", Role::Acc, Type::F32, sw.junk(bn), bn2);
                    int AB = c.add("acc_bias", Role::Acc, Type::F32, sw.junk(bn), bn2);
                    int ATH = c.add("acc_theta", Role::Acc, Type::F32, sw.junk(bn), bn2);
                    int G = c.add("g", Role::In, Type::F32, sw.uniform(seqn, -1, 1), seq3);
                    int D =
                        with_d ? c.add("d", Role::In, Type::F32, sw.uniform(bn, -1, 1), bn2) : -1;
                    int X = c.add("x", Role::In, Type::F32, xs, seq3);
                    int A = c.add("a", Role::In, Type::F32, as, seq3);
                    int XP =
                        seq ? c.add("x_prev", Role::In, Type::F32, sw.uniform(seqn, -1.5, 1.5),
                                    seq3)
                            : c.add("x_prev", Role::In, Type::F32, sw.uniform(bn, -1.5, 1.5), bn2);
                    int TAU = c.add("tau", Role::In, Type::F32, sw.uniform(N, 0.002, 0.05),
                                    dims1("n", N));
                    int TH = c.add("theta", Role::In, Type::F32, theta, dims1("n", N));
                    const rn_rate_step s = rate_step(B, N, ld, ld_prev, a, 0.0f, row);
                    c.run = [=](rn_backend *be, const Ptrs &p) {
                        return be->ops->rate_backward_step(be, p.f(LAM), p.f(E) + off, p.f(AT),
                                                           p.f(AB), p.f(ATH), p.f(G) + off, p.f(D),
                                                           p.f(X) + off, p.f(A) + off,
                                                           p.f(XP) + poff, p.f(TAU), p.f(TH), &s);
                    };
                    c.ref = [=](Case &x) {
                        for (int b = 0; b < B; b++)
                            for (int i = 0; i < N; i++) {
                                const size_t k = (size_t)b * N + i, r = (size_t)b * ld + off + i,
                                             pr = (size_t)b * ld_prev + poff + i;
                                const double alpha = (double)kDt / x.in(TAU)[i];
                                const double fp = act_grad(a, x.in(X)[r] - x.in(TH)[i]);
                                const double gd = x.in(G)[r] + (D >= 0 ? x.in(D)[k] : 0.0),
                                             fd = fp * gd;
                                const double lam = (1.0 - alpha) * x.in(LAM)[k] + fd;
                                x.out(LAM)[k] = lam;
                                x.out(E)[r] = alpha * lam;
                                x.out(AT)[k] += lam * (x.in(X)[r] - x.in(XP)[pr]);
                                x.out(AB)[k] += alpha * lam;
                                x.out(ATH)[k] += fd;
                                // the terms: f′ of tanh and sigmoid is 1 − a² in float
                                const double mfd =
                                    fprime_mag(a, fp) * (std::fabs(x.in(G)[r]) +
                                                         (D >= 0 ? std::fabs(x.in(D)[k]) : 0.0));
                                const double ml = (1.0 - alpha) * std::fabs(x.in(LAM)[k]) + mfd;
                                x.mag(LAM)[k] = ml;
                                x.mag(E)[r] = alpha * ml;
                                x.mag(AT)[k] +=
                                    ml * (std::fabs(x.in(X)[r]) + std::fabs(x.in(XP)[pr]));
                                x.mag(AB)[k] += alpha * ml;
                                x.mag(ATH)[k] += mfd;
                            }
                    };
                    sw.run(c);
                }
        }
}

OPS_CASES(RateBackwardInit) {
    for (int B : {1, 2, 5})
        for (int N : kN)
            for (int a = 0; a < kActs; a++)
                for (int with_d = 0; with_d < 2; with_d++) {
                    const size_t bn = (size_t)B * N;
                    Case c(
                        oph::fmt("%s d %s B %d N %d", kActName[a], with_d ? "yes" : "NULL", B, N));
                    const oph::Dims bn2 = dims2("b", B, "n", N);
                    std::vector<double> theta = sw.uniform(N, -0.3, 0.3),
                                        x0 = sw.uniform(N, -1.5, 1.5);
                    add_kinks(x0, theta, 1);
                    int LAM = c.add("lam", Role::InOut, Type::F32, sw.uniform(bn, -1, 1), bn2);
                    int ATH = c.add("acc_theta", Role::Acc, Type::F32, sw.junk(bn), bn2);
                    int D =
                        with_d ? c.add("d", Role::In, Type::F32, sw.uniform(bn, -1, 1), bn2) : -1;
                    int X0 = c.add("x0", Role::In, Type::F32, x0, dims1("n", N));
                    int TAU = c.add("tau", Role::In, Type::F32, sw.uniform(N, 0.002, 0.05),
                                    dims1("n", N));
                    int TH = c.add("theta", Role::In, Type::F32, theta, dims1("n", N));
                    const rn_rate_step s = rate_step(B, N, N, N, a, 0.0f, 0);
                    c.run = [=](rn_backend *be, const Ptrs &p) {
                        return be->ops->rate_backward_init(be, p.f(LAM), p.f(ATH), p.f(D), p.f(X0),
                                                           p.f(TAU), p.f(TH), &s);
                    };
                    c.ref = [=](Case &x) {
                        for (size_t k = 0; k < bn; k++) {
                            const size_t i = k % N;
                            const double alpha = (double)kDt / x.in(TAU)[i];
                            const double fp = act_grad(a, x.in(X0)[i] - x.in(TH)[i]),
                                         dk = D >= 0 ? x.in(D)[k] : 0.0, fd = fp * dk;
                            x.out(LAM)[k] = (1.0 - alpha) * x.in(LAM)[k] + fd;
                            x.out(ATH)[k] += fd;
                            const double mfd = fprime_mag(a, fp) * std::fabs(dk);
                            x.mag(LAM)[k] = (1.0 - alpha) * std::fabs(x.in(LAM)[k]) + mfd;
                            x.mag(ATH)[k] += mfd;
                        }
                    };
                    sw.run(c);
                }
}

const int kBN[][2] = {{1, 1}, {2, 3}, {5, 37}, {1, 300}, {5, 1029}, {17, 37}};

// Each output NULL in turn, all present, all NULL.
OPS_CASES(RateParamGrads) {
    const char *const names[4] = {"dtau", "dbias", "dtheta", "dx0"};
    const unsigned present[] = {0xF, 0xE, 0xD, 0xB, 0x7, 0x0};
    for (const auto &bnp : kBN)
        for (unsigned mask : present) {
            const int B = bnp[0], N = bnp[1];
            const size_t bn = (size_t)B * N;
            std::string nulls;
            for (int j = 0; j < 4; j++)
                if (!(mask >> j & 1)) nulls += std::string(" ") + names[j];
            Case c(oph::fmt("B %d N %d NULL:%s", B, N, nulls.empty() ? " none" : nulls.c_str()));
            int O[4];
            for (int j = 0; j < 4; j++) // the CUDA kernel is documented bit-identical to the CPU
                O[j] = mask >> j & 1 ? c.add(names[j], Role::Acc, Type::F32, sw.junk(N),
                                             dims1("n", N), oph::f32(), oph::exact())
                                     : -1;
            const oph::Dims bn2 = dims2("b", B, "n", N);
            int AT = c.add("acc_tau", Role::In, Type::F32, sw.uniform(bn, -1, 1), bn2);
            int AB = c.add("acc_bias", Role::In, Type::F32, sw.uniform(bn, -1, 1), bn2);
            int ATH = c.add("acc_theta", Role::In, Type::F32, sw.uniform(bn, -1, 1), bn2);
            int LAM = c.add("lam", Role::In, Type::F32, sw.uniform(bn, -1, 1), bn2);
            int TAU = c.add("tau", Role::In, Type::F32, sw.uniform(N, 0.002, 0.05), dims1("n", N));
            c.run = [=](rn_backend *be, const Ptrs &p) {
                return be->ops->rate_param_grads(be, p.f(O[0]), p.f(O[1]), p.f(O[2]), p.f(O[3]),
                                                 p.f(AT), p.f(AB), p.f(ATH), p.f(LAM), p.f(TAU), B,
                                                 N);
            };
            c.ref = [=](Case &x) {
                for (int i = 0; i < N; i++) {
                    double s[4] = {0, 0, 0, 0}, sa[4] = {0, 0, 0, 0};
                    const int in[4] = {AT, AB, ATH, LAM};
                    for (int b = 0; b < B; b++)
                        for (int j = 0; j < 4; j++) {
                            s[j] += x.in(in[j])[(size_t)b * N + i];
                            sa[j] += std::fabs(x.in(in[j])[(size_t)b * N + i]);
                        }
                    const double tau = x.in(TAU)[i];
                    const double v[4] = {-s[0] / tau, s[1], -s[2], s[3]};
                    for (int j = 0; j < 4; j++)
                        if (O[j] >= 0) {
                            x.out(O[j])[i] += v[j];
                            x.mag(O[j])[i] += j == 0 ? sa[0] / tau : sa[j];
                        }
                }
            };
            sw.run(c);
        }
}

OPS_CASES(ShiftRows) {
    // the whole sequence (src of T rows a trial), and a window of its first rows (the trainer's
    // first block of a segment: src of T rows, dst of fewer)
    for (const BTN &z : kSeq)
        for (int window : {0, 1}) {
            const int B = z.B, TS = z.T, N = z.N, T = window ? (TS + 1) / 2 : TS;
            const size_t dstn = (size_t)B * T * N, srcn = (size_t)B * TS * N;
            Case c(oph::fmt("B %d T %d of %d N %d", B, T, TS, N));
            int DST = c.add("dst", Role::Set, Type::F32, sw.nans(dstn),
                            dims3("b", B, "t", T, "n", N), oph::exact(), oph::exact());
            int SRC = c.add("src", Role::In, Type::F32, sw.uniform(srcn, -1, 1),
                            dims3("b", B, "t", TS, "n", N));
            int FIRST = c.add("first", Role::In, Type::F32, sw.uniform((size_t)B * N, -1, 1),
                              dims2("b", B, "n", N));
            c.run = [=](rn_backend *be, const Ptrs &p) {
                return be->ops->shift_rows(be, p.f(DST), p.f(SRC), TS, p.f(FIRST), B, T, N);
            };
            c.ref = [=](Case &x) {
                for (int b = 0; b < B; b++)
                    for (int t = 0; t < T; t++)
                        for (int i = 0; i < N; i++)
                            x.out(DST)[((size_t)b * T + t) * N + i] =
                                t == 0 ? x.in(FIRST)[(size_t)b * N + i]
                                       : x.in(SRC)[((size_t)b * TS + t - 1) * N + i];
            };
            sw.run(c);
        }
}

// ==== synaptic filters ====

// (B, T, C); τ log-uniform over 2 ms..0.5 s with both ends present, at dt 1 ms (p from 0.61 to
// 0.998: poles near 1) and 20 ms (p from 4.5e-5 to 0.96: poles near 0)
const BTN kFilt[] = {{1, 1, 1}, {2, 3, 3}, {5, 17, 37}, {1, 300, 5}, {2, 1029, 3}, {1, 3, 1029}};
const float kFilterDt[] = {1e-3f, 2e-2f};

// Each from the initial level (prev NULL: the segment at t = 0) and from a per-trial level (a later
// segment of checkpointed BPTT).
OPS_CASES(FilterForward) {
    for (const BTN &z : kFilt)
        for (float dt : kFilterDt)
            for (bool from_prev : {false, true}) {
                const int B = z.B, T = z.T, C = z.N;
                const size_t seqn = (size_t)B * T * C, bc = (size_t)B * C;
                Case c(oph::fmt("B %d T %d C %d dt %g prev %s", B, T, C, dt,
                                from_prev ? "yes" : "NULL"));
                const oph::Dims seq3 = dims3("b", B, "t", T, "c", C);
                int Y = c.add("y", Role::Set, Type::F32, sw.nans(seqn), seq3);
                int U = c.add("u", Role::In, Type::F32, sw.uniform(seqn, -1, 1), seq3);
                int TAU =
                    c.add("tau", Role::In, Type::F32, sw.log_uniform(C, 0.002, 0.5), dims1("c", C));
                int INIT = c.add("init", Role::In, Type::F32, sw.uniform(C, -1, 1), dims1("c", C));
                int PREV = from_prev ? c.add("prev", Role::In, Type::F32, sw.uniform(bc, -1, 1),
                                             dims2("b", B, "c", C))
                                     : -1;
                c.run = [=](rn_backend *be, const Ptrs &p) {
                    return be->ops->filter_forward(be, p.f(Y), p.f(U), p.f(TAU), p.f(INIT),
                                                   p.f(PREV), B, T, C, dt);
                };
                c.ref = [=](Case &x) {
                    for (int b = 0; b < B; b++)
                        for (int ch = 0; ch < C; ch++) {
                            const double p = filter_pole(dt, (float)x.in(TAU)[ch]),
                                         q = filter_gain(dt, (float)x.in(TAU)[ch]);
                            double y = PREV >= 0 ? x.in(PREV)[(size_t)b * C + ch] : x.in(INIT)[ch],
                                   my = std::fabs(y);
                            for (int t = 0; t < T; t++) {
                                const size_t k = ((size_t)b * T + t) * C + ch;
                                y = p * y + q * x.in(U)[k];
                                my = p * my + q * std::fabs(x.in(U)[k]);
                                x.out(Y)[k] = y;
                                x.mag(Y)[k] = my;
                            }
                        }
                };
                sw.run(c);
            }
}

// The newest segment of a sequence or the only one (μ 0 and the sums 0 coming in), and an older
// segment carrying μ and acc_dp in from a newer one, from the initial level (acc_dinit set) and from
// a per-trial level (acc_dinit untouched).
OPS_CASES(FilterBackward) {
    for (const BTN &z : kFilt)
        for (float dt : kFilterDt)
            for (int mode = 0; mode < 3; mode++) {
                const bool carried = mode > 0, from_prev = mode == 2;
                const int B = z.B, T = z.T, C = z.N;
                const size_t seqn = (size_t)B * T * C, bc = (size_t)B * C;
                Case c(oph::fmt("B %d T %d C %d dt %g mu in %s prev %s", B, T, C, dt,
                                carried ? "yes" : "0", from_prev ? "yes" : "NULL"));
                const oph::Dims seq3 = dims3("b", B, "t", T, "c", C), bc2 = dims2("b", B, "c", C);
                int DU = c.add("du", Role::Set, Type::F32, sw.nans(seqn), seq3);
                int ADP = carried ? c.add("acc_dp", Role::Acc, Type::F32, sw.junk(bc), bc2)
                                  : c.add("acc_dp", Role::InOut, Type::F32,
                                          std::vector<double>(bc, 0.0), bc2);
                int ADI = from_prev
                              ? c.add("acc_dinit", Role::In, Type::F32, sw.uniform(bc, -1, 1), bc2)
                              : c.add("acc_dinit", Role::Set, Type::F32, sw.nans(bc), bc2);
                int MU = c.add("mu", Role::InOut, Type::F32,
                               carried ? sw.uniform(bc, -1, 1) : std::vector<double>(bc, 0.0), bc2);
                int G = c.add("g", Role::In, Type::F32, sw.uniform(seqn, -1, 1), seq3);
                int Y = c.add("y", Role::In, Type::F32, sw.uniform(seqn, -1, 1), seq3);
                int U = c.add("u", Role::In, Type::F32, sw.uniform(seqn, -1, 1), seq3);
                int TAU =
                    c.add("tau", Role::In, Type::F32, sw.log_uniform(C, 0.002, 0.5), dims1("c", C));
                int INIT = c.add("init", Role::In, Type::F32, sw.uniform(C, -1, 1), dims1("c", C));
                int PREV =
                    from_prev ? c.add("prev", Role::In, Type::F32, sw.uniform(bc, -1, 1), bc2) : -1;
                c.run = [=](rn_backend *be, const Ptrs &p) {
                    return be->ops->filter_backward(be, p.f(DU), p.f(ADP), p.f(ADI), p.f(MU),
                                                    p.f(G), p.f(Y), p.f(U), p.f(TAU), p.f(INIT),
                                                    p.f(PREV), B, T, C, dt);
                };
                c.ref = [=](Case &x) {
                    for (int b = 0; b < B; b++)
                        for (int ch = 0; ch < C; ch++) {
                            const size_t i = (size_t)b * C + ch;
                            const double p = filter_pole(dt, (float)x.in(TAU)[ch]),
                                         q = filter_gain(dt, (float)x.in(TAU)[ch]);
                            double mu = x.in(MU)[i], dp = x.in(ADP)[i];
                            double mmu = std::fabs(mu), mdp = std::fabs(dp);
                            const double y_first = PREV >= 0 ? x.in(PREV)[i] : x.in(INIT)[ch];
                            for (int t = T - 1; t >= 0; t--) {
                                const size_t k = ((size_t)b * T + t) * C + ch;
                                mu = x.in(G)[k] + p * mu;
                                mmu = std::fabs(x.in(G)[k]) + p * mmu;
                                x.out(DU)[k] = q * mu;
                                x.mag(DU)[k] = q * mmu;
                                const double y_prev = t > 0 ? x.in(Y)[k - C] : y_first;
                                dp += mu * (y_prev - x.in(U)[k]);
                                mdp += mmu * (std::fabs(y_prev) + std::fabs(x.in(U)[k]));
                            }
                            x.out(ADP)[i] = dp;
                            x.mag(ADP)[i] = mdp;
                            x.out(MU)[i] = mu;
                            x.mag(MU)[i] = mmu;
                            if (PREV < 0) {
                                x.out(ADI)[i] = p * mu;
                                x.mag(ADI)[i] = p * mmu;
                            }
                        }
                };
                sw.run(c);
            }
}

// dtau and dinit both, each NULL in turn, both NULL.
OPS_CASES(FilterParamGrads) {
    for (const auto &bcp : kBN)
        for (float dt : kFilterDt)
            for (unsigned mask : {3u, 2u, 1u, 0u}) {
                const int B = bcp[0], C = bcp[1];
                const size_t bc = (size_t)B * C;
                Case c(oph::fmt("B %d C %d dt %g dtau %s dinit %s", B, C, dt,
                                mask & 1 ? "yes" : "NULL", mask & 2 ? "yes" : "NULL"));
                int DT =
                    mask & 1 ? c.add("dtau", Role::Acc, Type::F32, sw.junk(C), dims1("c", C)) : -1;
                int DI =
                    mask & 2 ? c.add("dinit", Role::Acc, Type::F32, sw.junk(C), dims1("c", C)) : -1;
                const oph::Dims bc2 = dims2("b", B, "c", C);
                int ADP = c.add("acc_dp", Role::In, Type::F32, sw.uniform(bc, -2, 2), bc2);
                int ADI = c.add("acc_dinit", Role::In, Type::F32, sw.uniform(bc, -2, 2), bc2);
                int TAU =
                    c.add("tau", Role::In, Type::F32, sw.log_uniform(C, 0.002, 0.5), dims1("c", C));
                c.run = [=](rn_backend *be, const Ptrs &p) {
                    return be->ops->filter_param_grads(be, p.f(DT), p.f(DI), p.f(ADP), p.f(ADI),
                                                       p.f(TAU), B, C, dt);
                };
                c.ref = [=](Case &x) {
                    for (int ch = 0; ch < C; ch++) {
                        double sp = 0.0, si = 0.0, msp = 0.0, msi = 0.0;
                        for (int b = 0; b < B; b++) {
                            sp += x.in(ADP)[(size_t)b * C + ch];
                            si += x.in(ADI)[(size_t)b * C + ch];
                            msp += std::fabs(x.in(ADP)[(size_t)b * C + ch]);
                            msi += std::fabs(x.in(ADI)[(size_t)b * C + ch]);
                        }
                        const double tau = x.in(TAU)[ch], p = filter_pole(dt, (float)tau);
                        const double dpdtau = p * dt / (tau * tau); // ∂τ = ∂p·p·dt/τ²
                        if (DT >= 0) {
                            x.out(DT)[ch] += sp * dpdtau;
                            x.mag(DT)[ch] += msp * dpdtau;
                        }
                        if (DI >= 0) {
                            x.out(DI)[ch] += si;
                            x.mag(DI)[ch] += msi;
                        }
                    }
                };
                sw.run(c);
            }
}

// ==== loss ====

// shared: one target (T, C) and one mask (T) for every trial (strides 0), the guards around them
// catching a read past one trial's worth; else per trial (strides T·C and T).
OPS_CASES(Mse) {
    const BTN sizes[] = {{1, 1, 1}, {2, 3, 3}, {5, 17, 37}, {1, 501, 3}, {6, 501, 3}, {2, 3, 1029}};
    for (const BTN &z : sizes)
        for (int with_mask = 0; with_mask < 2; with_mask++)
            for (int shared = 0; shared < 2; shared++) {
                const int B = z.B, T = z.T, C = z.N;
                const size_t rows = (size_t)B * T, seqn = rows * C;
                const size_t held = shared ? (size_t)T : rows; // rows of target and mask held
                const size_t tstride = shared ? 0 : (size_t)T * C, mstride = shared ? 0 : T;
                const float weight = 0.8f;
                Case c(oph::fmt("B %d T %d C %d mask %s %s", B, T, C, with_mask ? "yes" : "NULL",
                                shared ? "shared" : "per trial"));
                const oph::Dims seq3 = dims3("b", B, "t", T, "c", C);
                int MSE = c.add("mse", Role::Acc, Type::F64, sw.positive_junk(1),
                                dims1("scalar", 1), kMseCpu, double_sum_tol(seqn + rows));
                int DY = c.add("dy", Role::Set, Type::F32, sw.nans(seqn), seq3);
                int Y = c.add("y", Role::In, Type::F32, sw.uniform(seqn, -1, 1), seq3);
                int TG = c.add("target", Role::In, Type::F32, sw.uniform(held * C, -1, 1),
                               shared ? dims2("t", T, "c", C) : seq3);
                int M = -1;
                if (with_mask) { // a quarter masked out, half 1, a quarter fractional
                    std::vector<double> m = sw.uniform(held, 0.05, 1.0);
                    for (size_t r = 0; r < held; r++)
                        if (r % 4 == 1)
                            m[r] = 0.0;
                        else if (r % 4 != 3)
                            m[r] = 1.0;
                    M = c.add("mask", Role::In, Type::F32, m,
                              shared ? dims1("t", T) : dims2("b", B, "t", T));
                }
                c.run = [=](rn_backend *be, const Ptrs &p) {
                    return be->ops->mse(be, p.d(MSE), p.f(DY), p.f(Y), p.f(TG), tstride, p.f(M),
                                        mstride, B, T, C, weight);
                };
                c.ref = [=](Case &x) {
                    // trial b's step t: row b·T + t of y; of the target and mask, row t when shared
                    auto held_row = [=](size_t r) { return shared ? r % (size_t)T : r; };
                    double msum = 0.0;
                    for (size_t r = 0; r < rows; r++)
                        msum += M >= 0 ? x.in(M)[held_row(r)] : 1.0;
                    const double denom = (double)C * msum;
                    double sum = 0.0;
                    for (size_t k = 0; k < seqn; k++) {
                        const size_t r = k / C, tk = held_row(r) * C + k % C;
                        const double m = M >= 0 ? x.in(M)[held_row(r)] : 1.0,
                                     diff = x.in(Y)[k] - x.in(TG)[tk];
                        sum += m * diff * diff;
                        x.out(DY)[k] = weight * 2.0 * m * diff / denom;
                    }
                    x.out(MSE)[0] += sum / denom;
                };
                sw.run(c);
            }
}

const size_t kLong[] = {1, 3, 37, 300, 1029, 100003};

OPS_CASES(Bounds) {
    for (size_t n : kLong) {
        const float weight = 10.0f;
        Case c(oph::fmt("n %zu", n));
        std::vector<double> lo = sw.uniform(n, -2, 0), hi = sw.uniform(n, 0, 2);
        for (size_t i = 0; i < n; i++) { // unbounded sides, as parameters without bounds have
            if (i % 11 == 4) lo[i] = -INFINITY;
            if (i % 13 == 6) hi[i] = INFINITY;
        }
        int COST = c.add("cost", Role::Acc, Type::F64, sw.positive_junk(1), dims1("scalar", 1),
                         kBoundsCost, kBoundsCost);
        int GR = c.add("grad", Role::Acc, Type::F32, sw.junk(n), dims1("i", n));
        int P = c.add("p", Role::In, Type::F32, sw.uniform(n, -3, 3), dims1("i", n));
        int LO = c.add("lo", Role::In, Type::F32, lo, dims1("i", n));
        int HI = c.add("hi", Role::In, Type::F32, hi, dims1("i", n));
        c.run = [=](rn_backend *be, const Ptrs &p) {
            return be->ops->bounds(be, p.d(COST), p.f(GR), p.f(P), p.f(LO), p.f(HI), n, weight);
        };
        c.ref = [=](Case &x) {
            double cost = 0.0;
            for (size_t i = 0; i < n; i++) {
                const double pv = x.in(P)[i], l = x.in(LO)[i], h = x.in(HI)[i];
                cost += bound_cost(pv, l, h);
                x.out(GR)[i] += weight * bound_grad(pv, l, h);
            }
            x.out(COST)[0] += cost;
        };
        sw.run(c);
    }
}

OPS_CASES(L2) {
    for (size_t n : kLong) {
        const float weight = 0.6f;
        Case c(oph::fmt("n %zu", n));
        int COST = c.add("cost", Role::Acc, Type::F64, sw.positive_junk(1), dims1("scalar", 1),
                         double_sum_tol(n), double_sum_tol(n));
        int GR = c.add("grad", Role::Acc, Type::F32, sw.junk(n), dims1("i", n));
        int W = c.add("w", Role::In, Type::F32, sw.uniform(n, -1, 1), dims1("i", n));
        c.run = [=](rn_backend *be, const Ptrs &p) {
            return be->ops->l2(be, p.d(COST), p.f(GR), p.f(W), n, weight);
        };
        c.ref = [=](Case &x) {
            double s = 0.0;
            for (size_t i = 0; i < n; i++) {
                const double w = x.in(W)[i];
                s += w * w;
                x.out(GR)[i] += weight * 2.0 * w / (double)n;
            }
            x.out(COST)[0] += s / (double)n;
        };
        sw.run(c);
    }
}

// ==== optimiser ====

OPS_CASES(SumSquares) {
    for (size_t n : kLong) {
        Case c(oph::fmt("n %zu", n));
        int OUT = c.add("out", Role::Acc, Type::F64, sw.positive_junk(1), dims1("scalar", 1),
                        double_sum_tol(n), double_sum_tol(n));
        int G = c.add("g", Role::In, Type::F32, sw.uniform(n, -1, 1), dims1("i", n));
        int M = c.add("mask", Role::In, Type::U8, sw.mask_bytes(n), dims1("i", n));
        c.run = [=](rn_backend *be, const Ptrs &p) {
            return be->ops->sum_squares(be, p.d(OUT), p.f(G), p.u8(M), n);
        };
        c.ref = [=](Case &x) {
            double s = 0.0;
            for (size_t i = 0; i < n; i++)
                if (x.in(M)[i] != 0) s += x.in(G)[i] * x.in(G)[i];
            x.out(OUT)[0] += s;
        };
        sw.run(c);
    }
}

// The optimiser's scalars: loss terms, and the squared norm of the masked gradient.
std::vector<double> optim_scalars(oph::Sweep &sw, const std::vector<double> &g,
                                  const std::vector<double> &mask) {
    std::vector<double> sc = sw.positive_junk(RN_SCALAR_COUNT);
    double g2 = 0.0;
    for (size_t i = 0; i < g.size(); i++)
        if (mask[i] != 0) g2 += g[i] * g[i];
    sc[RN_SCALAR_GNORM2] = g2;
    return sc;
}

// The step's scalars as the trainer forms them (host/trainer.c): the bias corrections in float
// (powf). They are inputs of the entry; the reference takes them as given.
rn_optim_step optim_step(float lr, int step, float clip_norm) {
    rn_optim_step s;
    s.lr = lr;
    s.b1 = 0.9f;
    s.b2 = 0.999f;
    s.eps = 1e-8f;
    s.bc1 = 1.0f - powf(s.b1, (float)(step + 1));
    s.bc2 = 1.0f - powf(s.b2, (float)(step + 1));
    s.clip_norm = clip_norm;
    return s;
}

// Adam and SGD share the sweep: clip off, on but not reached, on and scaling; steps 0 and 41; then
// the guard: one scalar NaN or ±inf (each slot in turn) and nothing may change.
struct OptimCase {
    size_t n;
    int step;
    int clip;     // 0 off, 1 above the norm, 2 below it
    int bad_slot; // -1: all finite
    double bad;
};
std::vector<OptimCase> optim_cases() {
    std::vector<OptimCase> v;
    for (size_t n : kFlat)
        for (int clip = 0; clip < 3; clip++)
            for (int step : {0, 41})
                v.push_back({n, step, clip, -1, 0.0});
    for (size_t n : {(size_t)37, (size_t)1029})
        for (int slot = 0; slot < RN_SCALAR_COUNT; slot++)
            for (double bad : {(double)NAN, (double)INFINITY, -(double)INFINITY})
                v.push_back({n, 0, 2, slot, bad});
    return v;
}
const char *const kClipName[] = {"off", "not reached", "scaling"};

OPS_CASES(Adam) {
    for (const OptimCase &o : optim_cases()) {
        const size_t n = o.n;
        Case c(
            oph::fmt("n %zu step %d clip %s%s", n, o.step, kClipName[o.clip],
                     o.bad_slot < 0 ? "" : oph::fmt(" scalar %d = %g", o.bad_slot, o.bad).c_str()));
        const oph::Tol tol = o.bad_slot < 0 ? oph::f32() : oph::exact();
        std::vector<double> g = sw.uniform(n, -1, 1), mask = sw.mask_bytes(n);
        std::vector<double> sc = optim_scalars(sw, g, mask);
        const double norm = std::sqrt(sc[RN_SCALAR_GNORM2]);
        const rn_optim_step s = optim_step(
            1e-3f, o.step, o.clip == 0 ? 0.0f : (float)(o.clip == 1 ? 2 * norm : norm / 4));
        if (o.bad_slot >= 0) sc[o.bad_slot] = o.bad;
        int P = c.add("p", Role::InOut, Type::F32, sw.uniform(n, -1, 1), dims1("i", n), tol, tol);
        int M =
            c.add("m", Role::InOut, Type::F32, sw.uniform(n, -0.1, 0.1), dims1("i", n), tol, tol);
        int V =
            c.add("v", Role::InOut, Type::F32, sw.uniform(n, 1e-4, 1e-2), dims1("i", n), tol, tol);
        int G = c.add("g", Role::In, Type::F32, g, dims1("i", n));
        int MK = c.add("mask", Role::In, Type::U8, mask, dims1("i", n));
        int SC = c.add("scalars", Role::In, Type::F64, sc, dims1("scalar", RN_SCALAR_COUNT));
        c.run = [=](rn_backend *be, const Ptrs &p) {
            return be->ops->adam(be, p.f(P), p.f(M), p.f(V), p.f(G), p.u8(MK), p.d(SC), n, &s);
        };
        c.ref = [=](Case &x) {
            if (!all_finite(x.in(SC))) return; // the guard: nothing changes
            const double scale = clip_scale(x.in(SC)[RN_SCALAR_GNORM2], s.clip_norm);
            const double b1 = s.b1, b2 = s.b2;
            for (size_t i = 0; i < n; i++) {
                if (x.in(MK)[i] == 0) continue;
                const double gg = x.in(G)[i] * scale;
                const double m = b1 * x.in(M)[i] + (1.0 - b1) * gg;
                const double v = b2 * x.in(V)[i] + (1.0 - b2) * gg * gg;
                const double step = (double)s.lr * (m / (double)s.bc1) /
                                    (std::sqrt(v / (double)s.bc2) + (double)s.eps);
                x.out(M)[i] = m;
                x.out(V)[i] = v;
                x.out(P)[i] = x.in(P)[i] - step;
                x.mag(M)[i] = b1 * std::fabs(x.in(M)[i]) + (1.0 - b1) * std::fabs(gg);
                x.mag(P)[i] = std::fabs(x.in(P)[i]) + std::fabs(step);
            }
        };
        sw.run(c);
    }
}

OPS_CASES(Sgd) {
    for (const OptimCase &o : optim_cases()) {
        if (o.step != 0) continue; // SGD has no step count
        const size_t n = o.n;
        Case c(
            oph::fmt("n %zu clip %s%s", n, kClipName[o.clip],
                     o.bad_slot < 0 ? "" : oph::fmt(" scalar %d = %g", o.bad_slot, o.bad).c_str()));
        const oph::Tol tol = o.bad_slot < 0 ? oph::f32() : oph::exact();
        std::vector<double> g = sw.uniform(n, -1, 1), mask = sw.mask_bytes(n);
        std::vector<double> sc = optim_scalars(sw, g, mask);
        const double norm = std::sqrt(sc[RN_SCALAR_GNORM2]);
        const rn_optim_step s =
            optim_step(0.05f, 0, o.clip == 0 ? 0.0f : (float)(o.clip == 1 ? 2 * norm : norm / 4));
        if (o.bad_slot >= 0) sc[o.bad_slot] = o.bad;
        int P = c.add("p", Role::InOut, Type::F32, sw.uniform(n, -1, 1), dims1("i", n), tol, tol);
        int G = c.add("g", Role::In, Type::F32, g, dims1("i", n));
        int MK = c.add("mask", Role::In, Type::U8, mask, dims1("i", n));
        int SC = c.add("scalars", Role::In, Type::F64, sc, dims1("scalar", RN_SCALAR_COUNT));
        c.run = [=](rn_backend *be, const Ptrs &p) {
            return be->ops->sgd(be, p.f(P), p.f(G), p.u8(MK), p.d(SC), n, &s);
        };
        c.ref = [=](Case &x) {
            if (!all_finite(x.in(SC))) return;
            const double scale = clip_scale(x.in(SC)[RN_SCALAR_GNORM2], s.clip_norm);
            for (size_t i = 0; i < n; i++)
                if (x.in(MK)[i] != 0) {
                    const double step = (double)s.lr * x.in(G)[i] * scale;
                    x.out(P)[i] = x.in(P)[i] - step;
                    x.mag(P)[i] = std::fabs(x.in(P)[i]) + std::fabs(step);
                }
        };
        sw.run(c);
    }
}

OPS_CASES(ClipBounds) {
    for (size_t n : kFlat) {
        Case c(oph::fmt("n %zu", n));
        std::vector<double> lo = sw.uniform(n, -1, 0), hi = sw.uniform(n, 0, 1);
        for (size_t i = 0; i < n; i++) {
            if (i % 7 == 3) lo[i] = -INFINITY;
            if (i % 5 == 1) hi[i] = INFINITY;
        }
        int P = c.add("p", Role::InOut, Type::F32, sw.uniform(n, -2, 2), dims1("i", n),
                      oph::exact(), oph::exact());
        int LO = c.add("lo", Role::In, Type::F32, lo, dims1("i", n));
        int HI = c.add("hi", Role::In, Type::F32, hi, dims1("i", n));
        int MK = c.add("mask", Role::In, Type::U8, sw.mask_bytes(n), dims1("i", n));
        c.run = [=](rn_backend *be, const Ptrs &p) {
            return be->ops->clip_bounds(be, p.f(P), p.f(LO), p.f(HI), p.u8(MK), n);
        };
        c.ref = [=](Case &x) {
            for (size_t i = 0; i < n; i++)
                if (x.in(MK)[i] != 0)
                    x.out(P)[i] = std::min(std::max(x.in(P)[i], x.in(LO)[i]), x.in(HI)[i]);
        };
        sw.run(c);
    }
}

// ==== the table itself, and what only the device has: graphs, timing, block sizes ====

#define OPH_ENTRY(e) std::make_pair(std::string(#e), o->e != nullptr)
std::vector<std::pair<std::string, bool>> required_entries(const rn_backend_ops *o) {
    return {OPH_ENTRY(alloc),
            OPH_ENTRY(free),
            OPH_ENTRY(upload),
            OPH_ENTRY(download),
            OPH_ENTRY(fill),
            OPH_ENTRY(zero),
            OPH_ENTRY(gemm),
            OPH_ENTRY(bias_add),
            OPH_ENTRY(bias_grad),
            OPH_ENTRY(rate_init),
            OPH_ENTRY(rate_forward_step),
            OPH_ENTRY(rate_backward_step),
            OPH_ENTRY(rate_backward_init),
            OPH_ENTRY(rate_param_grads),
            OPH_ENTRY(shift_rows),
            OPH_ENTRY(filter_forward),
            OPH_ENTRY(filter_backward),
            OPH_ENTRY(filter_param_grads),
            OPH_ENTRY(mse),
            OPH_ENTRY(bounds),
            OPH_ENTRY(l2),
            OPH_ENTRY(sum_squares),
            OPH_ENTRY(adam),
            OPH_ENTRY(sgd),
            OPH_ENTRY(clip_bounds)};
}
std::vector<std::pair<std::string, bool>> optional_entries(const rn_backend_ops *o) {
    return {OPH_ENTRY(graph_begin),   OPH_ENTRY(graph_end),   OPH_ENTRY(graph_launch),
            OPH_ENTRY(graph_free),    OPH_ENTRY(timer_begin), OPH_ENTRY(timer_end),
            OPH_ENTRY(set_block_size)};
}
// The whole-sequence entries: a backend has all three or none (tests/test_rate_seq.cpp checks them
// against the step entries).
std::vector<std::pair<std::string, bool>> seq_entries(const rn_backend_ops *o) {
    return {OPH_ENTRY(rate_seq_fits), OPH_ENTRY(rate_forward_seq), OPH_ENTRY(rate_backward_seq)};
}
#undef OPH_ENTRY

// The CPU fills every required entry and none of the optional groups (it has no graphs, its clock
// is the host's, it has no block size): the harness's CudaOps sweeps rely on that split. It has
// the whole-sequence entries.
TEST(OpsCpu, EveryRequiredEntryAndNoOptionalOne) {
    rn_backend *cpu = nullptr;
    rn_error err = {};
    ASSERT_EQ(rn_backend_create(&cpu, RN_BACKEND_CPU, &err), RN_OK) << err.message;
    for (const auto &e : required_entries(cpu->ops))
        EXPECT_TRUE(e.second) << e.first << " is required";
    for (const auto &e : optional_entries(cpu->ops))
        EXPECT_FALSE(e.second) << e.first << ": the CPU backend has none";
    for (const auto &e : seq_entries(cpu->ops))
        EXPECT_TRUE(e.second) << e.first << ": the CPU backend has the whole-sequence entries";
    rn_backend_free(cpu);
}

#define OPH_SKIP_WITHOUT_A_REAL_DEVICE()                                                           \
    do {                                                                                           \
        if (oph::device_is_cpu_stand_in()) GTEST_SKIP() << "the CPU stand-in has none of this";    \
        RN_SKIP_WITHOUT_CUDA();                                                                    \
    } while (0)

TEST(CudaOps, EveryEntryAndBlockSizesChecked) {
    OPH_SKIP_WITHOUT_A_REAL_DEVICE();
    rn_backend *gpu = nullptr;
    rn_error err = {};
    ASSERT_EQ(rn_backend_create(&gpu, RN_BACKEND_CUDA, &err), RN_OK) << err.message;
    for (const auto &e : required_entries(gpu->ops))
        EXPECT_TRUE(e.second) << e.first << " is required";
    for (const auto &e : optional_entries(gpu->ops))
        EXPECT_TRUE(e.second) << e.first << ": the CUDA backend has it";
    const auto seq = seq_entries(gpu->ops);
    for (const auto &e : seq)
        EXPECT_EQ(e.second, seq[0].second)
            << e.first << ": all three whole-sequence entries or none";
    if (gpu->ops->set_block_size) {
        oph::BlockSizeRestore restore{gpu};
        for (int bs : {32, 64, 128, 256, 512, 1024})
            EXPECT_EQ(gpu->ops->set_block_size(gpu, bs), RN_OK) << bs << ": " << gpu->err.message;
        for (int bs : {0, 16, 48, 96, 2048, -256}) {
            EXPECT_EQ(gpu->ops->set_block_size(gpu, bs), RN_ERR_INVALID_ARG) << bs;
            EXPECT_NE(std::string(gpu->err.message).find("block size"), std::string::npos)
                << gpu->err.message;
        }
    }
    rn_backend_free(gpu);
}

// A short epoch-like sequence of ops: the recurrent product, a noisy Euler step (reading the epoch
// from backend memory), the bias, the masked MSE, the gradient norm, Adam (reading the scalars)
// and the clip projection.
struct Sequence {
    Case c{"fill, gemm, rate_forward_step (noise), bias_add, mse (mask), sum_squares, adam, "
           "clip_bounds"};
    int epoch = -1, x = -1;
};

Sequence graph_sequence(oph::Sweep &sw) {
    Sequence q;
    Case &c = q.c;
    const int B = 3, N = 37;
    const size_t bn = (size_t)B * N;
    const oph::Dims bn2 = dims2("b", B, "n", N);
    int FILL = c.add("filled", Role::Set, Type::F32, sw.nans(bn), bn2);
    int AP = c.add("a_prev", Role::In, Type::F32, sw.uniform(bn, -1, 1), bn2);
    int W = c.add("w_rec", Role::In, Type::F32, sw.uniform((size_t)N * N, -0.3, 0.3),
                  dims2("row", N, "col", N));
    int REC = c.add("rec", Role::Set, Type::F32, sw.nans(bn), bn2);
    int X = c.add("x", Role::Set, Type::F32, sw.nans(bn), bn2);
    int OUT = c.add("out", Role::Set, Type::F32, sw.nans(bn), bn2);
    int XP = c.add("x_prev", Role::In, Type::F32, sw.uniform(bn, -1, 1), bn2);
    int IN = c.add("in", Role::In, Type::F32, sw.uniform(bn, -1, 1), bn2);
    int TAU = c.add("tau", Role::In, Type::F32, sw.uniform(N, 0.01, 0.05), dims1("n", N));
    int BI = c.add("bias", Role::In, Type::F32, sw.uniform(N, -0.5, 0.5), dims1("n", N));
    int TH = c.add("theta", Role::In, Type::F32, sw.uniform(N, -0.3, 0.3), dims1("n", N));
    int EP = c.add("epoch", Role::In, Type::U32, {3.0}, dims1("word", 1));
    int B2 = c.add("bias2", Role::In, Type::F32, sw.uniform(N, -0.1, 0.1), dims1("n", N));
    int TG = c.add("target", Role::In, Type::F32, sw.uniform(bn, -1, 1), bn2);
    int MK = c.add("mask", Role::In, Type::F32, sw.uniform(B, 0.1, 1), dims1("b", B));
    int SC = c.add("scalars", Role::InOut, Type::F64, {0.1, 0.2, 0.3, 0.0},
                   dims1("scalar", RN_SCALAR_COUNT));
    int DY = c.add("dy", Role::Set, Type::F32, sw.nans(bn), bn2);
    int PM = c.add("param_mask", Role::In, Type::U8, sw.mask_bytes(bn), dims1("i", bn));
    int P = c.add("p", Role::InOut, Type::F32, sw.uniform(bn, -1, 1), dims1("i", bn));
    int M = c.add("m", Role::InOut, Type::F32, sw.uniform(bn, -0.1, 0.1), dims1("i", bn));
    int V = c.add("v", Role::InOut, Type::F32, sw.uniform(bn, 1e-4, 1e-2), dims1("i", bn));
    int LO = c.add("lo", Role::In, Type::F32, sw.uniform(bn, -1, -0.9), dims1("i", bn));
    int HI = c.add("hi", Role::In, Type::F32, sw.uniform(bn, 0.9, 1), dims1("i", bn));
    const rn_optim_step os = optim_step(0.1f, 3, 0.5f);
    c.run = [=](rn_backend *be, const Ptrs &p) {
        const rn_backend_ops *o = be->ops;
        rn_rate_step s = rate_step(B, N, N, N, RN_ACT_TANH, 0.1f * std::sqrt(kDt), 5);
        s.epoch = p.u32(EP);
        rn_status st;
        if ((st = o->fill(be, p.f(FILL), 0.25f, bn)) != RN_OK ||
            (st = o->gemm(be, false, false, B, N, N, 1.0f, p.f(AP), N, p.f(W), N, 0.0f, p.f(REC),
                          N)) != RN_OK ||
            (st = o->rate_forward_step(be, p.f(X), p.f(OUT), p.f(XP), p.f(IN), p.f(REC), p.f(TAU),
                                       p.f(BI), p.f(TH), &s)) != RN_OK ||
            (st = o->bias_add(be, p.f(OUT), p.f(B2), B, N)) != RN_OK ||
            (st = o->mse(be, p.d(SC) + RN_SCALAR_MSE, p.f(DY), p.f(OUT), p.f(TG), (size_t)N,
                         p.f(MK), 1, B, 1, N, 1.0f)) != RN_OK ||
            (st = o->sum_squares(be, p.d(SC) + RN_SCALAR_GNORM2, p.f(DY), p.u8(PM), bn)) != RN_OK ||
            (st = o->adam(be, p.f(P), p.f(M), p.f(V), p.f(DY), p.u8(PM), p.d(SC), bn, &os)) !=
                RN_OK)
            return st;
        return o->clip_bounds(be, p.f(P), p.f(LO), p.f(HI), p.u8(PM), bn);
    };
    q.epoch = EP;
    q.x = X;
    return q;
}

// Every tensor bit for bit (NaN only where both are NaN).
void expect_bit_identical(const Case &c, const std::vector<std::vector<double>> &got,
                          const std::vector<std::vector<double>> &want, const std::string &what) {
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); i++)
        EXPECT_TRUE(oph::compare(c.tensors()[i], got[i], want[i], {}, oph::exact(), what)) << what;
}

// A recording replays exactly what direct launches give; what changes between replays (the noise
// epoch) is read from backend memory, so one recording serves every epoch; recording runs nothing.
TEST(CudaOps, GraphReplayIsBitIdenticalToDirectLaunches) {
    OPH_SKIP_WITHOUT_A_REAL_DEVICE();
    const uint32_t seed = oph::suite_seed("GraphReplay");
    std::printf("[ ops ] CudaOps.GraphReplayIsBitIdenticalToDirectLaunches seed %u\n", seed);
    oph::Sweep sw(seed);
    Sequence q = graph_sequence(sw);
    const Case &c = q.c;
    rn_backend *gpu = nullptr;
    rn_error err = {};
    ASSERT_EQ(rn_backend_create(&gpu, RN_BACKEND_CUDA, &err), RN_OK) << err.message;
    const rn_backend_ops *o = gpu->ops;
    ASSERT_TRUE(o->graph_begin && o->graph_end && o->graph_launch && o->graph_free);
    {
        oph::Staged direct(gpu, c, "direct"), rec(gpu, c, "recorded");
        ASSERT_TRUE(direct.ok() && rec.ok());
        std::vector<std::vector<double>> d1, d2, g0, g1, g2, init;
        for (const oph::Tensor &t : c.tensors())
            init.push_back(t.init);

        ASSERT_EQ(c.run(gpu, direct.ptrs), RN_OK) << gpu->err.message;
        ASSERT_TRUE(direct.fetch(d1));

        ASSERT_EQ(o->graph_begin(gpu), RN_OK) << gpu->err.message;
        rn_status st = c.run(gpu, rec.ptrs);
        void *graph = nullptr;
        ASSERT_EQ(o->graph_end(gpu, true, &graph), RN_OK) << gpu->err.message;
        ASSERT_EQ(st, RN_OK) << gpu->err.message;
        ASSERT_NE(graph, nullptr);
        ASSERT_TRUE(rec.fetch(g0));
        expect_bit_identical(c, g0, init, "after recording, before any launch (nothing ran)");
        ASSERT_EQ(o->graph_launch(gpu, graph), RN_OK) << gpu->err.message;
        ASSERT_TRUE(rec.fetch(g1));
        expect_bit_identical(c, g1, d1, "the first replay against direct launches");

        // the next epoch: only the epoch word in backend memory changes
        ASSERT_TRUE(direct.reset() && direct.upload((size_t)q.epoch, {4.0}));
        ASSERT_EQ(c.run(gpu, direct.ptrs), RN_OK) << gpu->err.message;
        ASSERT_TRUE(direct.fetch(d2));
        ASSERT_TRUE(rec.reset() && rec.upload((size_t)q.epoch, {4.0}));
        ASSERT_EQ(o->graph_launch(gpu, graph), RN_OK) << gpu->err.message;
        ASSERT_TRUE(rec.fetch(g2));
        expect_bit_identical(c, g2, d2, "the replay at the next epoch against direct launches");
        EXPECT_NE(d1[(size_t)q.x], d2[(size_t)q.x]) << "the noise must change with the epoch";
        o->graph_free(gpu, graph);

        // graph_end without keep: nothing is kept, nothing has run
        ASSERT_TRUE(rec.reset());
        ASSERT_EQ(o->graph_begin(gpu), RN_OK) << gpu->err.message;
        st = c.run(gpu, rec.ptrs);
        void *dropped = &dropped;
        ASSERT_EQ(o->graph_end(gpu, false, &dropped), RN_OK) << gpu->err.message;
        EXPECT_EQ(st, RN_OK);
        EXPECT_EQ(dropped, nullptr);
        ASSERT_TRUE(rec.fetch(g0));
        expect_bit_identical(c, g0, init, "after a discarded recording");
    }
    rn_backend_free(gpu);
}

TEST(CudaOps, TimerGivesAPositiveTime) {
    OPH_SKIP_WITHOUT_A_REAL_DEVICE();
    const uint32_t seed = oph::suite_seed("Timer");
    std::printf("[ ops ] CudaOps.TimerGivesAPositiveTime seed %u\n", seed);
    oph::Sweep sw(seed);
    const int n = 512;
    const size_t nn = (size_t)n * n;
    Case c("four 512x512x512 products between the marks");
    int A = c.add("a", Role::In, Type::F32, sw.uniform(nn, -1, 1), dims2("row", n, "col", n));
    int Bm = c.add("b", Role::In, Type::F32, sw.uniform(nn, -1, 1), dims2("row", n, "col", n));
    int C = c.add("c", Role::Acc, Type::F32, sw.uniform(nn, -1, 1), dims2("row", n, "col", n));
    c.run = [=](rn_backend *be, const Ptrs &p) {
        rn_status st = RN_OK;
        for (int r = 0; r < 4 && st == RN_OK; r++)
            st = be->ops->gemm(be, false, false, n, n, n, 1.0f, p.f(A), n, p.f(Bm), n, 0.5f, p.f(C),
                               n);
        return st;
    };
    rn_backend *gpu = nullptr;
    rn_error err = {};
    ASSERT_EQ(rn_backend_create(&gpu, RN_BACKEND_CUDA, &err), RN_OK) << err.message;
    ASSERT_TRUE(gpu->ops->timer_begin && gpu->ops->timer_end);
    {
        oph::Staged s(gpu, c, "timer");
        ASSERT_TRUE(s.ok());
        double ms = -1.0;
        ASSERT_EQ(gpu->ops->timer_begin(gpu), RN_OK) << gpu->err.message;
        ASSERT_EQ(c.run(gpu, s.ptrs), RN_OK) << gpu->err.message;
        ASSERT_EQ(gpu->ops->timer_end(gpu, &ms), RN_OK) << gpu->err.message;
        EXPECT_GT(ms, 0.0);
        EXPECT_TRUE(std::isfinite(ms)) << ms;
        std::printf("[ ops ] four 512^3 products: %.3f ms\n", ms);
        std::vector<std::vector<double>> got;
        EXPECT_TRUE(s.fetch(got)); // the guards
    }
    rn_backend_free(gpu);
}

} // namespace

// The harness's block-size list: a list it cannot take fails the suite instead of being trimmed.
TEST(OpHarness, BlockSizesFromTheEnvironment) {
    const char *old = std::getenv("RATENN_OPS_BLOCKS");
    const std::string saved = old ? old : "";
    std::vector<int> sizes;
    std::string bad;
    struct Want {
        const char *env;
        bool ok;
        std::vector<int> sizes;
    };
    const Want wants[] = {{"", true, {32, 64, 256, 1024}},
                          {"32,1024", true, {32, 1024}},
                          {"128", true, {128}},
                          {"32,2048", false, {}},
                          {"16", false, {}},
                          {"32;64", false, {}},
                          {"abc", false, {}},
                          {"64,", true, {64}}};
    for (const Want &w : wants) {
        setenv("RATENN_OPS_BLOCKS", w.env, 1);
        bad.clear();
        EXPECT_EQ(oph::block_sizes(sizes, bad), w.ok) << "'" << w.env << "'";
        if (w.ok)
            EXPECT_EQ(sizes, w.sizes) << "'" << w.env << "'";
        else
            EXPECT_NE(bad.find(w.env), std::string::npos) << bad;
    }
    if (old)
        setenv("RATENN_OPS_BLOCKS", saved.c_str(), 1);
    else
        unsetenv("RATENN_OPS_BLOCKS");
}
