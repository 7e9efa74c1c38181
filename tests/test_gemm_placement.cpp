// The backend's gemm gives the same bits wherever its operands sit. The trainer's products take row
// pointers whose alignment depends on the trial, the segment and the widths (one gemm per trial and
// block of steps; a checkpoint's row stride N where the stored run has T·N), and its promises
// (checkpointed runs bit-identical to storing every step; the trials of one batch bit-identical to
// each other) hold only if the product does not change its order with the pointers' alignment or
// the leading dimensions, nor with those of the first product of its shape a backend saw (a
// checkpointed run and a stored one are two trainers, each with its backend). A library kernel
// chosen by alignment (cuBLAS has such variants) would show here first, by shape. The CPU always;
// CUDA where a device is.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "backend_impl.h"
#include "test_util.h"
#ifdef RATENN_WITH_CUDA
#include "cuda_ctx.h"
#endif

namespace {

struct Shape {
    bool ta, tb;
    int m, n, k;
    float beta;
};

// The trainer's products (host/layer_linear.c, host/layer_rate.c) at widths of the tutorial and
// the tests: a linear layer's forward (rows × n_out × n_in), its input gradient and its weight
// gradient (+=); the recurrent product of the step path.
std::vector<Shape> trainer_shapes() {
    std::vector<Shape> v;
    const int widths[][2] = {{1, 50}, {50, 1}, {4, 3}, {6, 6}, {1, 130}, {130, 1}, {256, 256}};
    for (int rows : {1, 37, 77, 1000})
        for (const auto &w : widths) {
            const int in = w[0], out = w[1];
            if (rows == 1000 && in * out > 1000) continue; // (the large case once, below)
            v.push_back({false, false, rows, out, in, 0.0f});
            v.push_back({false, true, rows, in, out, 0.0f});
            v.push_back({true, false, in, out, rows, 1.0f});
        }
    v.push_back({true, false, 256, 256, 1000, 1.0f});
    for (int n : {6, 50, 130}) {
        for (int b : {1, 3, 16}) {
            v.push_back({false, false, b, n, n, 0.0f}); // r_t = a_{t−1} · W_rec
            v.push_back({false, true, b, n, n, 0.0f});  // d_t = e_{t+1} · W_recᵀ
        }
        for (int rows : {37, 77})
            v.push_back({true, false, n, n, rows, 1.0f}); // ∂W_rec += a_{t−1}ᵀ e_t
    }
    return v;
}

// Operands placed at float offsets (oa, ob, oc) from 256-byte-aligned allocations, with leading
// dimensions padded by pad floats.
struct Placement {
    int oa, ob, oc, pad;
};

class GemmPlacement {
  public:
    explicit GemmPlacement(rn_backend *be) : be_(be) {}
    ~GemmPlacement() {
        for (float *p : bufs_)
            rn_backend_dealloc(be_, p);
    }

    // c after the product with the operands at `pl`, or empty (failure added) on an error.
    std::vector<float> run(const Shape &s, const Placement &pl, const std::vector<float> &a,
                           const std::vector<float> &b, const std::vector<float> &c0) {
        const int ar = s.ta ? s.k : s.m, ac = s.ta ? s.m : s.k; // a as stored: ar × ac
        const int br = s.tb ? s.n : s.k, bc = s.tb ? s.k : s.n;
        const int lda = ac + pl.pad, ldb = bc + pl.pad, ldc = s.n + pl.pad;
        float *da = place(a, ar, ac, lda, pl.oa), *db = place(b, br, bc, ldb, pl.ob),
              *dc = place(c0, s.m, s.n, ldc, pl.oc);
        if (!da || !db || !dc) return {};
        rn_status st =
            be_->ops->gemm(be_, s.ta, s.tb, s.m, s.n, s.k, 1.0f, da, lda, db, ldb, s.beta, dc, ldc);
        if (st != RN_OK) {
            ADD_FAILURE() << "gemm: " << be_->err.message;
            return {};
        }
        std::vector<float> rows((size_t)s.m * ldc), out((size_t)s.m * s.n);
        if (be_->ops->download(be_, rows.data(), dc, rows.size() * sizeof(float)) != RN_OK) {
            ADD_FAILURE() << "download: " << be_->err.message;
            return {};
        }
        for (int i = 0; i < s.m; i++)
            std::copy_n(rows.data() + (size_t)i * ldc, s.n, out.data() + (size_t)i * s.n);
        return out;
    }

  private:
    // rows × cols values (row-major, dense) into a new buffer at `offset` floats, row stride ld
    float *place(const std::vector<float> &v, int rows, int cols, int ld, int offset) {
        std::vector<float> host((size_t)offset + (size_t)rows * ld, -7.0f);
        for (int i = 0; i < rows; i++)
            std::copy_n(v.data() + (size_t)i * cols, cols, host.data() + offset + (size_t)i * ld);
        float *p = nullptr;
        if (rn_backend_alloc(be_, (void **)&p, host.size() * sizeof(float)) != RN_OK) {
            ADD_FAILURE() << "alloc: " << be_->err.message;
            return nullptr;
        }
        bufs_.push_back(p);
        if (be_->ops->upload(be_, p, host.data(), host.size() * sizeof(float)) != RN_OK) {
            ADD_FAILURE() << "upload: " << be_->err.message;
            return nullptr;
        }
        return p + offset;
    }

    rn_backend *be_;
    std::vector<float *> bufs_;
};

// c = op(a) op(b) + beta c0 in double, from the dense row-major operands run() takes
std::vector<double> reference(const Shape &s, const std::vector<float> &a,
                              const std::vector<float> &b, const std::vector<float> &c0) {
    std::vector<double> c((size_t)s.m * s.n);
    for (int i = 0; i < s.m; i++)
        for (int j = 0; j < s.n; j++) {
            double acc = 0.0;
            for (int p = 0; p < s.k; p++) {
                const double av = s.ta ? a[(size_t)p * s.m + i] : a[(size_t)i * s.k + p];
                const double bv = s.tb ? b[(size_t)j * s.k + p] : b[(size_t)p * s.n + j];
                acc += av * bv;
            }
            c[(size_t)i * s.n + j] = acc + s.beta * (double)c0[(size_t)i * s.n + j];
        }
    return c;
}

// fixed: CUDA's products through cuBLASLt with one algorithm per shape (cuda_gemm_fixed.c)
void check_backend(rn_backend_kind kind, bool fixed = false) {
    TrainerParts p; // (the backend only)
    rn_error err = {};
    ASSERT_EQ(rn_backend_create(&p.be, kind, &err), RN_OK) << err.message;
#ifdef RATENN_WITH_CUDA
    if (fixed) {
        ASSERT_EQ(rn_cuda_set_gemm_fixed(p.be, true), RN_OK) << p.be->err.message;
    }
#else
    ASSERT_FALSE(fixed) << "built without CUDA";
#endif
    const uint32_t seed = 4242;
    std::printf("[ gemm ] operand placement on %s%s, seed %u\n", rn_backend_description(p.be),
                fixed ? " (cuBLASLt, one algorithm per shape)" : "", seed);
    // (pads of 1 and 3 floats, and of 216 and 217: a rate layer's rows are len·N apart)
    const Placement placements[] = {{1, 0, 0, 0},  {2, 0, 0, 0}, {3, 0, 0, 0}, {0, 1, 0, 0},
                                    {0, 2, 0, 0},  {0, 0, 1, 0}, {0, 0, 2, 0}, {1, 3, 2, 0},
                                    {0, 0, 0, 1},  {0, 0, 0, 3}, {1, 2, 3, 1}, {0, 0, 0, 216},
                                    {1, 3, 2, 217}};
    // A second backend, whose first product of each shape has its operands misaligned and padded:
    // whatever a backend keeps from the first product of a shape (cuda_gemm_fixed.c keeps its
    // algorithm) must not depend on where that product's operands sat.
    TrainerParts q;
    ASSERT_EQ(rn_backend_create(&q.be, kind, &err), RN_OK) << err.message;
#ifdef RATENN_WITH_CUDA
    if (fixed) {
        ASSERT_EQ(rn_cuda_set_gemm_fixed(q.be, true), RN_OK) << q.be->err.message;
    }
#endif
    const Placement first_elsewhere = {3, 1, 2, 217};
    int k = 0, differ = 0;
    for (const Shape &s : trainer_shapes()) {
        const size_t na = (size_t)s.m * s.k, nb = (size_t)s.k * s.n, nc = (size_t)s.m * s.n;
        auto a = random_floats(na, seed + 3 * k, -1, 1),
             b = random_floats(nb, seed + 3 * k + 1, -1, 1),
             c0 = random_floats(nc, seed + 3 * k + 2, -1, 1);
        k++;
        GemmPlacement g(p.be), g2(q.be);
        const std::vector<float> ref = g.run(s, {0, 0, 0, 0}, a, b, c0);
        ASSERT_EQ(ref.size(), nc);
        const std::vector<float> other = g2.run(s, first_elsewhere, a, b, c0);
        ASSERT_EQ(other.size(), nc);
        if (!same_bits(ref, other)) {
            differ++;
            ADD_FAILURE() << "gemm(" << (s.ta ? "T" : "N") << (s.tb ? "T" : "N") << ", m " << s.m
                          << ", n " << s.n << ", k " << s.k << ", beta " << s.beta
                          << "): a second backend that first saw this shape with its operands "
                             "elsewhere gives other bits";
        }
        // the product itself, against double precision (k terms of float rounding)
        const double rel = tensor_rel_err(ref, reference(s, a, b, c0));
        EXPECT_LE(rel, 1e-5) << "gemm(" << (s.ta ? "T" : "N") << (s.tb ? "T" : "N") << ", m " << s.m
                             << ", n " << s.n << ", k " << s.k << ")";
        for (const Placement &pl : placements) {
            const std::vector<float> got = g.run(s, pl, a, b, c0);
            ASSERT_EQ(got.size(), nc);
            if (!same_bits(ref, got)) {
                differ++;
                ADD_FAILURE() << "gemm(" << (s.ta ? "T" : "N") << (s.tb ? "T" : "N") << ", m "
                              << s.m << ", n " << s.n << ", k " << s.k << ", beta " << s.beta
                              << "): operands at float offsets a " << pl.oa << ", b " << pl.ob
                              << ", c " << pl.oc << ", ld + " << pl.pad
                              << " give other bits than at offset 0";
            }
        }
    }
    std::printf("[ gemm ] %d shapes x %zu placements and a second backend, %d differ\n", k,
                sizeof placements / sizeof placements[0], differ);
#ifdef RATENN_WITH_CUDA
    // the algorithm kept for each shape, so that a failure above can be read against it
    char line[200];
    for (int i = 0; fixed && rn_cuda_fixed_gemm_describe(p.be, i, line, sizeof line); i++)
        std::printf("[ gemm ] %s\n", line);
#endif
}

TEST(GemmPlacement, CpuBitsDoNotDependOnWhereTheOperandsSit) {
    check_backend(RN_BACKEND_CPU);
}

TEST(GemmPlacement, CudaBitsDoNotDependOnWhereTheOperandsSit) {
    RN_SKIP_WITHOUT_CUDA();
    check_backend(RN_BACKEND_CUDA);
}

// The same through cuBLASLt with the algorithm of each shape fixed: if cublasSgemm's bits move with
// the operands (the test above fails), these must not, and the trainer should take this path. Its
// products are checked against double precision as the others are.
TEST(GemmPlacement, CudaFixedAlgorithmBitsDoNotDependOnWhereTheOperandsSit) {
    RN_SKIP_WITHOUT_CUDA();
    check_backend(RN_BACKEND_CUDA, true);
}

} // namespace
