// The launch plans of the CUDA whole-sequence rate kernels (kernels/rate_seq_plan.h), checked on the
// host for the limits of real devices: every plan within the device's threads and shared memory,
// whole warps, the shared-memory layout's size, bank-conflict-free strides for W_rec, every CTA of
// the cooperative grid resident, and the path edges where the configs of bench_train fall.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "rate_seq_plan.h"

namespace {

struct Device {
    const char *name;
    rn_seq_limits limits;
};

// (multiprocessors, opt-in shared memory per block, threads, cooperative launch, its shared memory)
const Device kDevices[] = {
    {"H100", {132, 232448, 1024, true, 232448}},
    {"A100", {108, 166912, 1024, true, 166912}},
    {"sm_86, no cooperative launch", {46, 101376, 1024, false, 101376}},
    {"register-limited", {132, 232448, 512, true, 232448}},
};

const char *path(const rn_seq_limits &l, int batch, int n, bool rec) {
    rn_seq_plan p;
    rn_coop_plan q;
    if (rn_seq_plan_for(&l, batch, n, rec, &p)) return "persistent-smem";
    if (rn_coop_plan_for(&l, batch, n, rec, &q)) return "cooperative";
    return "step";
}

// The ks·(32/ks) lanes of a warp read W[(c + m·ks)·ldw + j] (c < ks, 32/ks consecutive j): one
// word from each bank.
bool banks_distinct(int ks, int ldw) {
    std::set<int> banks;
    for (int c = 0; c < ks; c++)
        for (int j = 0; j < 32 / ks; j++)
            banks.insert((c * ldw + j) % 32);
    return banks.size() == 32;
}

TEST(RateSeqPlan, PersistentPlansFitTheDevice) {
    for (const Device &d : kDevices) {
        const rn_seq_limits &l = d.limits;
        for (int n = 1; n <= 2100; n++)
            for (int rec = 0; rec < 2; rec++) {
                rn_seq_plan ref;
                const bool fits = rn_seq_plan_for(&l, 1, n, rec != 0, &ref);
                for (int batch : {1, 3, 133, 263, 1000}) {
                    SCOPED_TRACE(std::string(d.name) + " n " + std::to_string(n) + " rec " +
                                 std::to_string(rec) + " batch " + std::to_string(batch));
                    rn_seq_plan p;
                    ASSERT_EQ(rn_seq_plan_for(&l, batch, n, rec != 0, &p), fits)
                        << "whether it fits does not depend on the batch";
                    if (!fits) continue;
                    ASSERT_LE(p.threads, l.max_threads);
                    ASSERT_LE(p.smem, l.smem);
                    ASSERT_TRUE(p.ks == 1 || p.ks == 2 || p.ks == 4 || p.ks == 8);
                    ASSERT_EQ(p.slot % 32, 0);
                    ASSERT_GE(p.slot, n * p.ks);
                    ASSERT_LT(p.slot - n * p.ks, 32);
                    ASSERT_GE(p.group, 1);
                    const int sms = l.sm_count;
                    ASSERT_LE(p.group, std::max(1, (batch + sms - 1) / sms));
                    ASSERT_EQ(p.threads, p.group * p.slot);
                    ASSERT_EQ(p.smem,
                              ((size_t)n * p.ldw + 2 * (size_t)p.group * n) * sizeof(float));
                    if (rec) {
                        ASSERT_GE(p.ldw, n);
                        ASSERT_LT(p.ldw - n, 32);
                        if (p.ks > 1) {
                            ASSERT_TRUE(banks_distinct(p.ks, p.ldw)) << p.ldw;
                        }
                    } else {
                        ASSERT_EQ(p.ldw, 0);
                    }
                }
            }
    }
}

TEST(RateSeqPlan, CooperativePlansHaveEveryCtaResident) {
    for (const Device &d : kDevices) {
        const rn_seq_limits &l = d.limits;
        for (int n = 1; n <= 2100; n++)
            for (int batch : {1, 3, 64, 263, 4096}) {
                SCOPED_TRACE(std::string(d.name) + " n " + std::to_string(n) + " batch " +
                             std::to_string(batch));
                rn_coop_plan p;
                ASSERT_FALSE(rn_coop_plan_for(&l, batch, n, false, &p)) << "recurrent layers only";
                if (!rn_coop_plan_for(&l, batch, n, true, &p)) {
                    ASSERT_TRUE(!l.coop || n > RN_COOP_MAX_N) << "only past its limits";
                    continue;
                }
                ASSERT_TRUE(l.coop);
                ASSERT_LE(n, RN_COOP_MAX_N);
                ASSERT_LE(p.blocks, l.sm_count);
                ASSERT_GE((long)p.blocks * p.cs, n);
                ASSERT_LT((long)(p.blocks - 1) * p.cs, n) << "every CTA has a column";
                ASSERT_GE(p.bc, 1);
                ASSERT_LE(p.bc, batch);
                ASSERT_LE(p.smem, l.coop_smem);
                ASSERT_EQ(p.smem, ((size_t)p.cs * n + (size_t)p.bc * (n + p.cs)) * sizeof(float));
            }
    }
}

// The paths of bench_train's configs on an H100, and one edge each way.
TEST(RateSeqPlan, PathsOnAnH100) {
    const rn_seq_limits &h100 = kDevices[0].limits;
    EXPECT_STREQ(path(h100, 1, 50, true), "persistent-smem");   // S
    EXPECT_STREQ(path(h100, 256, 50, true), "persistent-smem"); // SB
    EXPECT_STREQ(path(h100, 64, 512, true), "cooperative");     // M
    EXPECT_STREQ(path(h100, 256, 4096, true), "step");          // L
    EXPECT_STREQ(path(h100, 4, 700, false), "persistent-smem"); // no W_rec: state only
    EXPECT_STREQ(path(h100, 4, RN_COOP_MAX_N + 1, true), "step");
    int edge = 0; // the first recurrent N past shared memory
    for (int n = 1; n <= 400 && !edge; n++)
        if (std::string(path(h100, 1, n, true)) != "persistent-smem") edge = n;
    EXPECT_GT(edge, 200) << "W_rec of up to about 230 neurons fits in 227 KiB";
    for (int n = edge; n <= RN_COOP_MAX_N; n++)
        ASSERT_STREQ(path(h100, 1, n, true), "cooperative") << n;
}

} // namespace
