// The rate layer's whole-sequence entries (rate_forward_seq, rate_backward_seq) on the device, with
// op_harness.h's guarded buffers (NaN-filled '=' outputs, junk-filled '+=' outputs, guards):
//   CudaRateSeq.*  per case, the device's fused entries against the CPU's (which
//                  test_rate_seq.cpp holds to the CPU's step entries bit for bit), against the
//                  device's own step entries (the same bits without W_rec; within rounding of the
//                  recurrent product's summation order with it) and against themselves run again
//                  (the same bits), over sizes around every path boundary the device reports, B 1,
//                  odd and past one CTA per multiprocessor, T 1, ranges split at t0 > 0, every
//                  activation, noise on and off, W_rec or none. RATENN_OPS_DEVICE=cpu lets a second
//                  CPU backend stand in for the device (then everything is bit-identical), to
//                  exercise this file without a GPU.
//   RateSeqTraining / CudaTraining: whole training runs through the fused loop against the step
//                  loop.
#include "chirp_runs.h"
#include "op_harness.h"
#include "rate_seq_plan.h"

namespace {

using oph::Case;
using oph::Ptrs;
using oph::Role;
using oph::Tol;
using oph::Type;

const char *const kActName[] = {"tanh", "relu", "sigmoid", "lrelu", "linear"};
constexpr int kActs = 5;
constexpr float kDt = 1e-3f;
constexpr uint64_t kNoiseSeed = 0x5eed5e9ull;
constexpr uint32_t kLayer = 2;
// Path boundaries are looked for up to this N (past the cooperative path's RN_COOP_MAX_N, 2048).
#define RN_TEST_SEQ_TOP_N 2100

struct SeqCase {
    int B, T, N, act;
    bool noise, rec;
    int split; // the entries run over [0, split) and [split, T) (the adjoint: newest range first)
};

enum class Drive { Seq, Steps };

rn_rate_step step_of(const SeqCase &c) {
    rn_rate_step s;
    s.batch = c.B;
    s.n = c.N;
    s.ld = c.T * c.N;
    s.ld_prev = s.ld;
    s.activation = c.act;
    s.dt = kDt;
    s.noise_scale = c.noise ? 0.5f * std::sqrt(kDt) : 0.0f;
    s.seed = kNoiseSeed;
    s.epoch = nullptr;
    s.layer = kLayer;
    s.t = 0;
    s.steps = c.T;
    return s;
}

// The seq entries are taken wherever the backend has them for this size (on the CPU only where
// rate_seq_fits says yes; CUDA's entries take any size, falling back to steps inside).
bool use_seq(rn_backend *be, Drive how, const rn_rate_step &s, bool rec) {
    if (how != Drive::Seq || !be->ops->rate_forward_seq) return false;
    return be->kind != RN_BACKEND_CPU || be->ops->rate_seq_fits(be, s.batch, s.n, rec);
}

// Step t of every trial of a (B, T, N) sequence to or from a compact (B, N) buffer, as the trainer
// keeps a checkpoint (shift_rows of one step copies its `first` row exactly).
rn_status copy_step(rn_backend *be, float *seq, float *compact, const rn_rate_step &s, int t,
                    bool to_compact) {
    for (int b = 0; b < s.batch; b++) {
        float *row = seq + (size_t)b * s.ld + (size_t)t * s.n, *c = compact + (size_t)b * s.n;
        rn_status st = to_compact ? be->ops->shift_rows(be, c, row, 1, row, 1, 1, s.n)
                                  : be->ops->shift_rows(be, row, c, 1, c, 1, 1, s.n);
        if (st != RN_OK) return st;
    }
    return RN_OK;
}

// Step t into `compact`, and NaN in its place while a call must read the copy instead (a kernel
// that read the rows would give NaN); put_back undoes it.
rn_status set_aside(rn_backend *be, float *seq, float *compact, const rn_rate_step &s, int t) {
    rn_status st = copy_step(be, seq, compact, s, t, true);
    for (int b = 0; b < s.batch && st == RN_OK; b++)
        st = be->ops->fill(be, seq + (size_t)b * s.ld + (size_t)t * s.n, NAN, s.n);
    return st;
}
rn_status put_back(rn_backend *be, float *seq, float *compact, const rn_rate_step &s, int t) {
    return copy_step(be, seq, compact, s, t, false);
}

// A (B, N) buffer in the backend's memory for the length of a drive, where one is wanted (a split
// inside the sequence; none otherwise, so that a drive can be recorded into a graph).
struct StateBuf {
    rn_backend *be;
    float *p = nullptr;
    bool ok = true;
    StateBuf(rn_backend *b, const rn_rate_step &s, bool want) : be(b) {
        if (want &&
            rn_backend_alloc(be, (void **)&p, (size_t)s.batch * s.n * sizeof(float)) != RN_OK)
            ok = false;
    }
    ~StateBuf() {
        if (p) rn_backend_dealloc(be, p);
    }
};

// The whole-sequence entries over [0, split) and [split, T) as the trainer calls them: each range
// from the state before its first step (and the adjoint's older range from the newer's first e),
// handed over in compact buffers.
rn_status forward_drive(rn_backend *be, Drive how, float *x, float *out, float *r,
                        const float *x_init, const float *a_init, const float *in, const float *w,
                        const float *tau, const float *bias, const float *theta,
                        const rn_rate_step &s0, int split) {
    const rn_backend_ops *o = be->ops;
    const bool seq = use_seq(be, how, s0, w != nullptr);
    const int N = s0.n, ranges[2][2] = {{0, split}, {split, s0.steps}};
    rn_rate_step s = s0;
    const bool inside = seq && split > 0 && split < s0.steps;
    StateBuf xc(be, s0, inside), ac(be, s0, inside);
    if (!xc.ok || !ac.ok) return RN_ERR_NO_MEMORY;
    for (const auto &rg : ranges) {
        if (seq && rg[0] < rg[1]) {
            const float *xi = x_init, *ai = a_init;
            rn_status st = RN_OK;
            const int tp = rg[0] - 1;
            if (rg[0] > 0) { // the state before the range: copies, the rows NaN meanwhile
                if ((st = set_aside(be, x, xc.p, s, tp)) != RN_OK ||
                    (st = set_aside(be, out, ac.p, s, tp)) != RN_OK)
                    return st;
                xi = xc.p;
                ai = ac.p;
            }
            st = o->rate_forward_seq(be, x, out, r, xi, ai, in, w, tau, bias, theta, &s, rg[0],
                                     rg[1]);
            if (st != RN_OK) return st;
            if (rg[0] > 0 && ((st = put_back(be, x, xc.p, s, tp)) != RN_OK ||
                              (st = put_back(be, out, ac.p, s, tp)) != RN_OK))
                return st;
            continue;
        }
        for (int t = rg[0]; t < rg[1]; t++) { // as host/layer_rate.c does
            const size_t off = (size_t)t * N;
            s.ld_prev = t > 0 ? s.ld : N;
            s.t = t;
            if (w) {
                rn_status st =
                    o->gemm(be, false, false, s.batch, N, N, 1.0f, t > 0 ? out + off - N : a_init,
                            s.ld_prev, w, N, 0.0f, r + off, s.ld);
                if (st != RN_OK) return st;
            }
            rn_status st =
                o->rate_forward_step(be, x + off, out + off, t > 0 ? x + off - N : x_init, in + off,
                                     w ? r + off : nullptr, tau, bias, theta, &s);
            if (st != RN_OK) return st;
        }
    }
    return RN_OK;
}

rn_status backward_drive(rn_backend *be, Drive how, float *lam, float *e, float *acc_tau,
                         float *acc_bias, float *acc_theta, float *dscr, const float *g,
                         const float *x, const float *a, const float *x_init, const float *w,
                         const float *tau, const float *theta, const rn_rate_step &s0, int split) {
    const rn_backend_ops *o = be->ops;
    const bool seq = use_seq(be, how, s0, w != nullptr);
    const int N = s0.n, T = s0.steps, ranges[2][2] = {{split, T}, {0, split}};
    rn_rate_step s = s0;
    const bool inside = seq && split > 0 && split < T;
    StateBuf xc(be, s0, inside), en(be, s0, inside);
    if (!xc.ok || !en.ok) return RN_ERR_NO_MEMORY;
    for (const auto &rg : ranges) {
        if (seq && rg[0] < rg[1]) {
            const float *xi = x_init, *e_next = nullptr;
            rn_status st = RN_OK;
            // x before the range and the newer range's first e: copies, the rows NaN meanwhile (x
            // is an input: put back after)
            float *xw = const_cast<float *>(x);
            if (rg[0] > 0) {
                if ((st = set_aside(be, xw, xc.p, s, rg[0] - 1)) != RN_OK) return st;
                xi = xc.p;
            }
            if (rg[1] < T) {
                if ((st = set_aside(be, e, en.p, s, rg[1])) != RN_OK) return st;
                e_next = en.p;
            }
            st = o->rate_backward_seq(be, lam, e, acc_tau, acc_bias, acc_theta, dscr, g, x, a, xi,
                                      e_next, w, tau, theta, &s, rg[0], rg[1]);
            if (st != RN_OK) return st;
            if (rg[0] > 0 && (st = put_back(be, xw, xc.p, s, rg[0] - 1)) != RN_OK) return st;
            if (rg[1] < T && (st = put_back(be, e, en.p, s, rg[1])) != RN_OK) return st;
            continue;
        }
        for (int t = rg[1] - 1; t >= rg[0]; t--) {
            const size_t off = (size_t)t * N;
            const float *d = nullptr;
            if (w && t < T - 1) {
                rn_status st = o->gemm(be, false, true, s.batch, N, N, 1.0f, e + off + N, s.ld, w,
                                       N, 0.0f, dscr, N);
                if (st != RN_OK) return st;
                d = dscr;
            }
            s.t = t;
            s.ld_prev = t > 0 ? s.ld : N;
            rn_status st = o->rate_backward_step(be, lam, e + off, acc_tau, acc_bias, acc_theta,
                                                 g + off, d, x + off, a + off,
                                                 t > 0 ? x + off - N : x_init, tau, theta, &s);
            if (st != RN_OK) return st;
        }
    }
    return RN_OK;
}

double act(int a, double z) {
    switch (a) {
    case RN_ACT_TANH:
        return std::tanh(z);
    case RN_ACT_RELU:
        return z > 0 ? z : 0.0;
    case RN_ACT_SIGMOID:
        return 0.5 * (std::tanh(z) + 1.0);
    case RN_ACT_LRELU:
        return z >= 0 ? z : 0.01 * z;
    default:
        return z;
    }
}

// f(x − θ) rounded to float, as a forward pass would have stored it
std::vector<double> activations(int a, const std::vector<double> &x,
                                const std::vector<double> &th) {
    std::vector<double> out(x.size());
    for (size_t k = 0; k < x.size(); k++)
        out[k] = (float)act(a, (double)(float)(x[k] - th[k % th.size()]));
    return out;
}

// A forward or adjoint case, and its op driven either way (Case::run is set from `op` per run).
using Op = std::function<rn_status(rn_backend *, const Ptrs &)>;
struct Built {
    Case c;
    bool rec;
    std::function<Op(Drive)> op;
};

Built forward_case(oph::Sweep &sw, const SeqCase &q) {
    const int B = q.B, T = q.T, N = q.N;
    const size_t bn = (size_t)B * N, btn = bn * T;
    const uint32_t epoch = sw.u32();
    Built bt{
        Case(oph::fmt("forward %s noise %s w %s B %d T %d N %d split %d epoch %u", kActName[q.act],
                      q.noise ? "on" : "off", q.rec ? "yes" : "NULL", B, T, N, q.split, epoch)),
        q.rec, nullptr};
    Case &c = bt.c;
    const oph::Dims seq3 = oph::dims3("b", B, "t", T, "n", N), bn2 = oph::dims2("b", B, "n", N);
    std::vector<double> theta = sw.uniform(N, -0.3, 0.3), x_init = sw.uniform(bn, -1, 1);
    int X = c.add("x", Role::Set, Type::F32, sw.nans(btn), seq3);
    int O = c.add("out", Role::Set, Type::F32, sw.nans(btn), seq3);
    int R = c.add("r", Role::Set, Type::F32, sw.nans(btn), seq3); // untouched without W_rec
    int XI = c.add("x_init", Role::In, Type::F32, x_init, bn2);
    int AI = c.add("a_init", Role::In, Type::F32, activations(q.act, x_init, theta), bn2);
    int IN = c.add("in", Role::In, Type::F32, sw.uniform(btn, -1, 1), seq3);
    const double wr = 1.5 / std::sqrt((double)N);
    int W = q.rec ? c.add("w_rec", Role::In, Type::F32, sw.uniform((size_t)N * N, -wr, wr),
                          oph::dims2("i", N, "j", N))
                  : -1;
    int TAU = c.add("tau", Role::In, Type::F32, sw.uniform(N, 0.011, 0.05), oph::dims1("n", N));
    int BI = c.add("bias", Role::In, Type::F32, sw.uniform(N, -0.5, 0.5), oph::dims1("n", N));
    int TH = c.add("theta", Role::In, Type::F32, theta, oph::dims1("n", N));
    int EP = c.add("epoch", Role::In, Type::U32, {(double)epoch}, oph::dims1("word", 1));
    const rn_rate_step s = step_of(q);
    const int split = q.split;
    bt.op = [s, split, X, O, R, XI, AI, IN, W, TAU, BI, TH, EP](Drive how) -> Op {
        return [=](rn_backend *be, const Ptrs &p) {
            rn_rate_step st = s;
            st.epoch = p.u32(EP); // backend memory, as the contract says
            return forward_drive(be, how, p.f(X), p.f(O), p.f(R), p.f(XI), p.f(AI), p.f(IN), p.f(W),
                                 p.f(TAU), p.f(BI), p.f(TH), st, split);
        };
    };
    return bt;
}

Built backward_case(oph::Sweep &sw, const SeqCase &q) {
    const int B = q.B, T = q.T, N = q.N;
    const size_t bn = (size_t)B * N, btn = bn * T;
    Built bt{Case(oph::fmt("adjoint %s w %s B %d T %d N %d split %d", kActName[q.act],
                           q.rec ? "yes" : "NULL", B, T, N, q.split)),
             q.rec, nullptr};
    Case &c = bt.c;
    const oph::Dims seq3 = oph::dims3("b", B, "t", T, "n", N), bn2 = oph::dims2("b", B, "n", N);
    std::vector<double> theta = sw.uniform(N, -0.3, 0.3), xs = sw.uniform(btn, -1.5, 1.5);
    int LAM = c.add("lam", Role::InOut, Type::F32, sw.uniform(bn, -1, 1), bn2);
    int E = c.add("e", Role::Set, Type::F32, sw.nans(btn), seq3);
    int AT = c.add("acc_tau", Role::Acc, Type::F32, sw.junk(bn), bn2);
    int AB = c.add("acc_bias", Role::Acc, Type::F32, sw.junk(bn), bn2);
    int ATH = c.add("acc_theta", Role::Acc, Type::F32, sw.junk(bn), bn2);
    int D = c.add("dscr", Role::Set, Type::F32, sw.nans(bn), bn2); // d_0 at the end, if any
    int G = c.add("g", Role::In, Type::F32, sw.uniform(btn, -1, 1), seq3);
    int X = c.add("x", Role::In, Type::F32, xs, seq3);
    int A = c.add("a", Role::In, Type::F32, activations(q.act, xs, theta), seq3);
    int XI = c.add("x_init", Role::In, Type::F32, sw.uniform(bn, -1.5, 1.5), bn2);
    const double wr = 1.5 / std::sqrt((double)N);
    int W = q.rec ? c.add("w_rec", Role::In, Type::F32, sw.uniform((size_t)N * N, -wr, wr),
                          oph::dims2("i", N, "j", N))
                  : -1;
    int TAU = c.add("tau", Role::In, Type::F32, sw.uniform(N, 0.011, 0.05), oph::dims1("n", N));
    int TH = c.add("theta", Role::In, Type::F32, theta, oph::dims1("n", N));
    const rn_rate_step s = step_of(q); // no epoch: noise takes no gradient
    const int split = q.split;
    bt.op = [s, split, LAM, E, AT, AB, ATH, D, G, X, A, XI, W, TAU, TH](Drive how) -> Op {
        return [=](rn_backend *be, const Ptrs &p) {
            return backward_drive(be, how, p.f(LAM), p.f(E), p.f(AT), p.f(AB), p.f(ATH), p.f(D),
                                  p.f(G), p.f(X), p.f(A), p.f(XI), p.f(W), p.f(TAU), p.f(TH), s,
                                  split);
        };
    };
    return bt;
}

// Every tensor of `got` against `want` (inputs against their initial contents, exactly).
bool agree(const Case &c, const std::vector<std::vector<double>> &got,
           const std::vector<std::vector<double>> &want, const Tol &tol, const std::string &where) {
    bool ok = true;
    for (size_t i = 0; i < got.size(); i++) {
        const oph::Tensor &t = c.tensors()[i];
        const bool in = t.role == Role::In;
        ok &= oph::compare(t, got[i], in ? t.init : want[i], {}, in ? oph::exact() : tol, where);
    }
    return ok;
}

class CudaRateSeq : public ::testing::Test {
  protected:
    rn_backend *cpu = nullptr, *dev = nullptr;
    uint32_t seed = 0;
    void SetUp() override {
        if (!oph::device_is_cpu_stand_in()) RN_SKIP_WITHOUT_CUDA();
        rn_error err = {};
        ASSERT_EQ(rn_backend_create(&cpu, RN_BACKEND_CPU, &err), RN_OK) << err.message;
        const rn_backend_kind kind =
            oph::device_is_cpu_stand_in() ? RN_BACKEND_CPU : RN_BACKEND_CUDA;
        ASSERT_EQ(rn_backend_create(&dev, kind, &err), RN_OK) << err.message;
        ASSERT_TRUE(dev->ops->rate_seq_fits && dev->ops->rate_forward_seq &&
                    dev->ops->rate_backward_seq);
        seed = oph::suite_seed(::testing::UnitTest::GetInstance()->current_test_info()->name());
        std::printf("[ seq ] %s seed %u on %s\n",
                    ::testing::UnitTest::GetInstance()->current_test_info()->name(), seed,
                    rn_backend_description(dev));
    }
    void TearDown() override {
        if (dev) rn_backend_free(dev);
        if (cpu) rn_backend_free(cpu);
    }

    // Where the device's path for 3 trials of n neurons changes, n up to `top`: the first n of each
    // new path (printed).
    std::vector<int> path_edges(bool rec, int top) {
        std::vector<int> edges;
        std::string prev = rn_backend_rate_loop(dev, 3, 1, rec);
        std::printf("[ seq ] %s: %s from N 1", rec ? "recurrent" : "without W_rec", prev.c_str());
        for (int n = 2; n <= top; n++) {
            std::string p = rn_backend_rate_loop(dev, 3, n, rec);
            if (p != prev) {
                edges.push_back(n);
                std::printf(", %s from N %d", p.c_str(), n);
            }
            prev = p;
        }
        std::printf("\n");
        return edges;
    }

    // Runs one case: the CPU's fused entries (the reference), the device's fused entries twice,
    // its step entries once; false (failures added) on a difference.
    bool check(Built &bt) {
        Case &c = bt.c;
        const std::string where = oph::fmt("[%s] (seed %u)", c.desc().c_str(), (unsigned)seed);
        const bool rec = bt.rec;
        std::vector<std::vector<double>> want, fused, again, steps;
        c.run = bt.op(Drive::Seq);
        if (!oph::execute(cpu, c, want, where + " on the CPU")) return false;
        if (!oph::execute(dev, c, fused, where + " fused")) return false;
        if (!oph::execute(dev, c, again, where + " fused, again")) return false;
        c.run = bt.op(Drive::Steps);
        if (!oph::execute(dev, c, steps, where + " steps")) return false;
        // T steps of a contracting recurrence (α <= 0.09): float rounding, not its growth
        const Tol tol = oph::f32(1e-4);
        bool ok = agree(c, fused, want, tol, where + ": the device's fused entries vs the CPU's");
        ok &= agree(c, again, fused, oph::exact(), where + ": the fused entries run twice");
        // without W_rec the fused loop does the step kernels' arithmetic exactly
        ok &= agree(c, fused, steps, rec ? tol : oph::exact(),
                    where + ": the device's fused entries vs its step entries");
        return ok;
    }

    int cases = 0, failures = 0;
    void run(const SeqCase &q, oph::Sweep &sw) {
        if (failures >= 8) return;
        Built f = forward_case(sw, q);
        Built b = backward_case(sw, q);
        cases++;
        if (!check(f) || !check(b)) failures++;
    }
};

// Sizes around every switch: the split of the recurrent product's sum (where rn_seq_split changes:
// N 32/33, 64/65, 128/129; printed), a neuron's lanes past one warp (N 16/17), warps (N 31/33), and
// each N where the device's path changes (persistent-smem, cooperative, step), recurrent or not,
// with its neighbours.
TEST_F(CudaRateSeq, FusedEntriesMatchStepsAndCpuAroundEveryPathBoundary) {
    oph::Sweep sw(seed);
    ASSERT_STRNE(rn_backend_rate_loop(dev, 3, 50, true), "step")
        << "the tutorial's N 50 must take a fused path";
    const int top = RN_TEST_SEQ_TOP_N;
    const std::vector<int> rec_edges = path_edges(true, top), ff_edges = path_edges(false, top);
    std::vector<int> split_edges;
    std::printf("[ seq ] the sum's split changes at N");
    for (int n = 2; n <= 4096; n++)
        if (rn_seq_split(n) != rn_seq_split(n - 1)) {
            split_edges.push_back(n);
            std::printf(" %d/%d", n - 1, n);
        }
    std::printf("\n");
    ASSERT_FALSE(split_edges.empty());
    int k = 0;
    for (int rec = 0; rec < 2; rec++) {
        std::vector<int> ns = {1, 3, 16, 17, 31, 33, 50};
        for (int e : split_edges) {
            ns.push_back(e - 1);
            ns.push_back(e);
        }
        for (int e : rec ? rec_edges : ff_edges)
            for (int n : {e - 1, e, e + 1})
                ns.push_back(n);
        for (int N : ns) {
            for (int noise = 0; noise < 2; noise++) {
                const int B = (k % 3 == 0) ? 1 : (k % 3 == 1) ? 3 : 5;
                const int T = (k % 4 == 0) ? 1 : (k % 4 == 1) ? 2 : (k % 4 == 2) ? 7 : 12;
                const int split = (k / 3 % 3 == 0) ? 0 : (k / 3 % 3 == 1) ? T / 2 : T;
                const int a = k % kActs;
                k++;
                ASSERT_NO_FATAL_FAILURE(run(SeqCase{B, T, N, a, noise == 1, rec == 1, split}, sw));
            }
        }
    }
    // every activation, noise on and off, at the tutorial's size and on both sides of each edge
    std::vector<int> every = {50};
    for (int e : rec_edges) {
        every.push_back(e - 1);
        every.push_back(e);
    }
    for (int N : every)
        for (int a = 0; a < kActs; a++)
            for (int noise = 0; noise < 2; noise++)
                ASSERT_NO_FATAL_FAILURE(run(SeqCase{3, 9, N, a, noise == 1, true, 4}, sw));
    std::printf("[ seq ] %d cases (forward and adjoint each)\n", cases);
    EXPECT_EQ(failures, 0);
}

// More trials than multiprocessors: several trials per CTA, the last CTA part-filled (N <= 240:
// persistent-smem on an H100); the cooperative path's trials in more than one chunk (N 300).
TEST_F(CudaRateSeq, ManyTrialsShareCtas) {
    oph::Sweep sw(seed);
    for (int N : {17, 50, 129, 300})
        for (int noise = 0; noise < 2; noise++)
            ASSERT_NO_FATAL_FAILURE(run(SeqCase{263, 4, N, RN_ACT_TANH, noise == 1, true, 1}, sw));
    ASSERT_NO_FATAL_FAILURE(run(SeqCase{263, 3, 50, RN_ACT_RELU, true, false, 2}, sw));
    // 1000 trials: six to a CTA on an H100 (N 17), the last CTA part-filled
    ASSERT_NO_FATAL_FAILURE(run(SeqCase{1000, 3, 17, RN_ACT_TANH, true, true, 1}, sw));
    EXPECT_EQ(failures, 0);
}

// Both fused paths recorded into a CUDA graph (as the trainer records an epoch from the second on)
// give the bits of direct launches. A recording that failed (say, a cooperative launch refused under
// stream capture) would otherwise only make the trainer drop graphs without a word.
TEST_F(CudaRateSeq, FusedPathsRecordIntoAGraph) {
    if (dev->kind == RN_BACKEND_CPU || !dev->ops->graph_begin) GTEST_SKIP() << "no graphs";
    oph::Sweep sw(seed);
    for (int N : {50, 300}) // persistent-smem, cooperative on an H100
        for (int fwd = 0; fwd < 2; fwd++) {
            const SeqCase q{3, 6, N, RN_ACT_TANH, true, true, 0}; // (one range: nothing allocated)
            Built bt = fwd ? forward_case(sw, q) : backward_case(sw, q);
            Case &c = bt.c;
            const std::string where = c.desc() + " (" + rn_backend_rate_loop(dev, 3, N, true) + ")";
            std::vector<std::vector<double>> direct, recorded;
            c.run = bt.op(Drive::Seq);
            ASSERT_TRUE(oph::execute(dev, c, direct, where + " direct"));
            const Op op = bt.op(Drive::Seq);
            c.run = [op](rn_backend *be, const Ptrs &p) {
                rn_status st = be->ops->graph_begin(be);
                if (st != RN_OK) return st;
                const rn_status ran = op(be, p);
                void *graph = nullptr;
                st = be->ops->graph_end(be, ran == RN_OK, &graph);
                if (ran != RN_OK) return ran;
                if (st != RN_OK) return st;
                st = be->ops->graph_launch(be, graph);
                be->ops->graph_free(be, graph);
                return st;
            };
            ASSERT_TRUE(oph::execute(dev, c, recorded, where + " recorded"));
            EXPECT_TRUE(agree(c, recorded, direct, oph::exact(), where + ": graph vs direct"));
        }
}

// A range outside [0, T) is one clear error (CUDA checks it; the CPU's entries trust the trainer).
TEST_F(CudaRateSeq, RangeOutsideTheSequenceIsAnError) {
    if (dev->kind == RN_BACKEND_CPU) GTEST_SKIP() << "the CPU's entries do not check ranges";
    SeqCase q{2, 4, 8, RN_ACT_TANH, false, false, 0};
    rn_rate_step s = step_of(q);
    float *buf = nullptr;
    ASSERT_EQ(rn_backend_alloc(dev, (void **)&buf, 64 * sizeof(float)), RN_OK);
    EXPECT_EQ(dev->ops->rate_forward_seq(dev, buf, buf, buf, buf, buf, buf, nullptr, buf, buf, buf,
                                         &s, 2, 5),
              RN_ERR_INVALID_ARG);
    EXPECT_NE(std::string(dev->err.message).find("outside"), std::string::npos) << dev->err.message;
    EXPECT_EQ(dev->ops->rate_backward_seq(dev, buf, buf, buf, buf, buf, buf, buf, buf, buf, buf,
                                          buf, nullptr, buf, buf, &s, -1, 2),
              RN_ERR_INVALID_ARG);
    rn_backend_dealloc(dev, buf);
}

// The reported path: the CPU's tight loop up to its limit, steps beyond.
TEST(RateSeqPath, CpuNamesItsLoop) {
    rn_backend *be = nullptr;
    rn_error err = {};
    ASSERT_EQ(rn_backend_create(&be, RN_BACKEND_CPU, &err), RN_OK) << err.message;
    EXPECT_STREQ(rn_backend_rate_loop(be, 1, 50, true), "cpu-seq");
    EXPECT_STREQ(rn_backend_rate_loop(be, 4, 4096, true), "step");
    rn_backend_free(be);
}

double params_rel_err(const std::vector<float> &a, const std::vector<float> &ref) {
    return tensor_rel_err(a, to_double(ref));
}

// A whole training run through the CPU's fused loop is the step loop's, bit for bit.
TEST(RateSeqTraining, CpuFusedLoopIsTheStepLoop) {
    chirp_runs::TrainRun f = chirp_runs::train_chirp(RN_BACKEND_CPU, 50, 3, 3, 1);
    chirp_runs::TrainRun s = chirp_runs::train_chirp(RN_BACKEND_CPU, 50, 3, 3, 1, true, -1, true);
    EXPECT_EQ(f.loss, s.loss);
    EXPECT_TRUE(same_bits(f.params, s.params)) << "params";
}

// On the GPU the fused loop (graphs recorded, as the trainer runs) follows the step loop within the
// rounding of the recurrent product's summation order, on each fused path.
TEST(CudaTraining, FusedLoopFollowsTheStepLoop) {
    RN_SKIP_WITHOUT_CUDA();
    const struct {
        int n;
        const char *path;
    } runs[] = {{64, "persistent-smem"}, {300, "cooperative"}};
    for (const auto &run : runs) {
        SCOPED_TRACE(std::string("N ") + std::to_string(run.n) + " " + run.path);
        {
            rn_backend *be = nullptr;
            rn_error err = {};
            ASSERT_EQ(rn_backend_create(&be, RN_BACKEND_CUDA, &err), RN_OK) << err.message;
            EXPECT_STREQ(rn_backend_rate_loop(be, 4, run.n, true), run.path);
            rn_backend_free(be);
        }
        chirp_runs::TrainRun f = chirp_runs::train_chirp(RN_BACKEND_CUDA, run.n, 4, 12, 1);
        chirp_runs::TrainRun s =
            chirp_runs::train_chirp(RN_BACKEND_CUDA, run.n, 4, 12, 1, true, -1, true);
        ASSERT_EQ(f.loss.size(), s.loss.size());
        for (size_t e = 0; e < f.loss.size(); e++)
            EXPECT_NEAR(f.loss[e], s.loss[e], 1e-4 * s.loss[e]) << "epoch " << e;
        EXPECT_LE(params_rel_err(f.params, s.params), 1e-3);
        std::printf("[ cuda ] N %d %s: loss %.9g -> %.9g, step loop %.9g -> %.9g\n", run.n,
                    run.path, f.loss.front(), f.loss.back(), s.loss.front(), s.loss.back());
    }
}

} // namespace
