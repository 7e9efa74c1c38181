// The op-test harness (STYLE.md §3, §5-§7), in the manner of ggml's test-backend-ops: one case
// definition per entry of rn_backend_ops, run two ways.
//   OpsCpu.*  the CPU entry against an independent double-precision reference written in the test;
//   CudaOps.* the CUDA entry against the CPU entry on the same inputs, at every block size.
// A case is a list of tensors (each with its role: input, '=' output, '+=' output or in-out), a
// call of the entry through the table, and a reference that writes the expected outputs. Every
// tensor lives in backend memory obtained through rn_backend_alloc with a guard region of sentinel
// words before and after it; the whole guarded span is uploaded, and downloaded after the op, and
// the guards must be intact. '=' outputs start as NaN (a missed write shows), '+=' outputs as
// non-zero junk (an '=' where '+=' is due shows), inputs random and never all zero; inputs must
// come back bit for bit.
//
// Seeds are fixed (a hash of the test's name) and printed; RATENN_OPS_SEED=<n> overrides them to
// explore. RATENN_OPS_DEVICE=cpu runs the CudaOps suite with a second CPU backend standing in for
// the device (no block sizes): it exercises the harness's device path where no GPU is at hand.
#pragma once

#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "backend_impl.h"
#include "test_util.h"

namespace oph {

// ---- tensors and tolerances ----

enum class Role {
    In,    // read only: must come back bit for bit
    Set,   // '=' output: the case pre-fills it with NaN (0xA5 bytes for integer types)
    Acc,   // '+=' output: pre-filled with non-zero junk, which the reference starts from
    InOut, // read and overwritten (λ in the adjoint step, Adam's p, m, v)
};
enum class Type { F32, F64, U8, U32 };

inline size_t type_size(Type t) {
    switch (t) {
    case Type::F64:
        return 8;
    case Type::U8:
        return 1;
    default:
        return 4;
    }
}

// Element i passes when |got − ref| <= atol_scale·scale + rtol·mag_i (the negated form, so NaN
// fails), the tensor when also max|got − ref| / scale <= max_rel. Exact: got == ref. Either way
// an expected NaN (an element of an '=' output the op must not touch) needs a NaN.
// mag_i is max(|ref_i|, the sum of the magnitudes of the terms that formed element i, where the
// reference states it) and scale is the largest mag_i of the tensor: a sum whose terms cancel
// carries the rounding of its terms, not of its (small) result. A '+=' output's terms include
// the junk it started from. Without stated magnitudes this is the plain max|got − ref| / max|ref|.
struct Tol {
    bool exact = false;
    double rtol = 0.0, atol_scale = 0.0, max_rel = 0.0;
};
inline Tol exact() {
    Tol t;
    t.exact = true;
    return t;
}
// float32 outputs: within r of the tensor's scale, element-wise and as a whole
inline Tol f32(double r = 1e-5) {
    return Tol{false, r, r, r};
}
// every element within r of itself (double scalars; results of a single rounding)
inline Tol rel(double r) {
    return Tol{false, r, 0.0, r};
}

struct Dim {
    std::string name;
    size_t size;
};
using Dims = std::vector<Dim>;
inline Dims dims1(const char *a, size_t na) {
    return Dims{{a, na}};
}
inline Dims dims2(const char *a, size_t na, const char *b, size_t nb) {
    return Dims{{a, na}, {b, nb}};
}
inline Dims dims3(const char *a, size_t na, const char *b, size_t nb, const char *c, size_t nc) {
    return Dims{{a, na}, {b, nb}, {c, nc}};
}

struct Tensor {
    std::string name;
    Role role;
    Type type;
    std::vector<double> init; // the contents before the op (exact for every type)
    Dims dims;                // for reporting an element as (b, t, n) or (row, col)
    Tol cpu_tol, dev_tol;
};

inline std::string fmt(const char *f, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, f);
    vsnprintf(buf, sizeof buf, f, ap);
    va_end(ap);
    return buf;
}

// Element i of a tensor in its own coordinates, e.g. "(b 1, t 2, n 36)".
inline std::string where_in(const Tensor &t, size_t i) {
    size_t total = 1;
    for (const Dim &d : t.dims)
        total *= d.size;
    if (t.dims.empty() || total != t.init.size()) return fmt("[%zu]", i);
    std::vector<size_t> co(t.dims.size());
    size_t r = i;
    for (size_t k = t.dims.size(); k-- > 0;) {
        co[k] = r % t.dims[k].size;
        r /= t.dims[k].size;
    }
    std::string s = "(";
    for (size_t k = 0; k < co.size(); k++)
        s += (k ? ", " : "") + t.dims[k].name + " " + std::to_string(co[k]);
    return s + fmt(") [%zu]", i);
}

// Backend pointers of a case's tensors (into the payload, past the leading guard); -1 is NULL.
struct Ptrs {
    std::vector<unsigned char *> p;
    float *f(int i) const { return i < 0 ? nullptr : reinterpret_cast<float *>(p[(size_t)i]); }
    double *d(int i) const { return i < 0 ? nullptr : reinterpret_cast<double *>(p[(size_t)i]); }
    uint8_t *u8(int i) const { return i < 0 ? nullptr : p[(size_t)i]; }
    uint32_t *u32(int i) const {
        return i < 0 ? nullptr : reinterpret_cast<uint32_t *>(p[(size_t)i]);
    }
};

class Case {
  public:
    explicit Case(std::string desc) : desc_(std::move(desc)) {}
    // Adds a tensor; returns its index for the run and the reference.
    int add(const std::string &name, Role role, Type type, std::vector<double> init, Dims dims,
            Tol cpu = f32(), Tol dev = f32()) {
        t_.push_back(Tensor{name, role, type, std::move(init), std::move(dims), cpu, dev});
        return (int)t_.size() - 1;
    }
    const std::string &desc() const { return desc_; }
    const std::vector<Tensor> &tensors() const { return t_; }
    // For the reference: an input's values, and an output's expected values (which start as the
    // tensor's initial contents: NaN for '=', the junk for '+=').
    const std::vector<double> &in(int i) const { return t_[(size_t)i].init; }
    std::vector<double> &out(int i) { return expect_[(size_t)i]; }
    // The reference may state, per element of an output, the sum of the magnitudes of the terms
    // that formed it (zero where it states none; '+=' outputs start from |junk|).
    std::vector<double> &mag(int i) { return mag_[(size_t)i]; }
    // Runs the reference: the expected contents of every tensor after the op (and magnitude()).
    std::vector<std::vector<double>> expected() {
        expect_.clear();
        mag_.clear();
        for (const Tensor &t : t_) {
            expect_.push_back(t.init);
            mag_.emplace_back(t.init.size(), 0.0);
            if (t.role == Role::Acc)
                for (size_t k = 0; k < t.init.size(); k++)
                    mag_.back()[k] = std::fabs(t.init[k]);
        }
        ref(*this);
        return expect_;
    }
    const std::vector<double> &magnitude(size_t i) const { return mag_[i]; }

    std::function<rn_status(rn_backend *, const Ptrs &)> run; // the op, through the table
    std::function<void(Case &)> ref;                          // the reference

  private:
    std::string desc_;
    std::vector<Tensor> t_;
    std::vector<std::vector<double>> expect_, mag_;
};

// ---- guarded backend buffers ----

constexpr size_t kGuardBytes = 256; // 64 float words each side
// A float NaN: an op that reads a guard word poisons its result as well as failing the check.
constexpr uint32_t kSentinel = 0x7FA5A5A5u;
constexpr unsigned char kJunkByte = 0xA5;

inline std::vector<unsigned char> encode(const Tensor &t) {
    const size_t n = t.init.size(), es = type_size(t.type);
    std::vector<unsigned char> b(n * es);
    for (size_t i = 0; i < n; i++) {
        unsigned char *q = b.data() + i * es;
        const double v = t.init[i];
        switch (t.type) {
        case Type::F32: {
            float f = (float)v;
            std::memcpy(q, &f, 4);
            break;
        }
        case Type::F64:
            std::memcpy(q, &v, 8);
            break;
        case Type::U8:
            *q = (unsigned char)v;
            break;
        case Type::U32: {
            uint32_t u = (uint32_t)v;
            std::memcpy(q, &u, 4);
            break;
        }
        }
    }
    return b;
}

inline std::vector<double> decode(Type type, const unsigned char *q, size_t n) {
    std::vector<double> v(n);
    for (size_t i = 0; i < n; i++, q += type_size(type)) {
        switch (type) {
        case Type::F32: {
            float f;
            std::memcpy(&f, q, 4);
            v[i] = f;
            break;
        }
        case Type::F64:
            std::memcpy(&v[i], q, 8);
            break;
        case Type::U8:
            v[i] = *q;
            break;
        case Type::U32: {
            uint32_t u;
            std::memcpy(&u, q, 4);
            v[i] = u;
            break;
        }
        }
    }
    return v;
}

inline void fill_guard(unsigned char *q) {
    for (size_t k = 0; k < kGuardBytes; k += 4)
        std::memcpy(q + k, &kSentinel, 4);
}

// Where a guard was overwritten, or "" when both are intact.
inline std::string guard_damage(const unsigned char *span, size_t payload_bytes, size_t elem) {
    std::vector<unsigned char> g(kGuardBytes);
    fill_guard(g.data());
    for (size_t k = 0; k < kGuardBytes; k++)
        if (span[k] != g[k]) {
            size_t before = kGuardBytes - k;
            return fmt(
                "the guard before it is overwritten %zu bytes before the start (element %zd)",
                before, -(ptrdiff_t)((before + elem - 1) / elem));
        }
    const unsigned char *after = span + kGuardBytes + payload_bytes;
    for (size_t k = 0; k < kGuardBytes; k++)
        if (after[k] != g[k])
            return fmt("the guard after it is overwritten %zu bytes past the end (element %zu)", k,
                       payload_bytes / elem + k / elem);
    return "";
}

// A case's tensors staged in one backend: allocated with guards, uploaded; fetch() downloads every
// guarded span and checks the guards; the destructor returns the memory.
class Staged {
  public:
    Staged(rn_backend *be, const Case &c, const std::string &where)
        : be_(be), c_(c), where_(where) {
        for (const Tensor &t : c.tensors()) {
            const size_t bytes = t.init.size() * type_size(t.type);
            void *base = nullptr;
            if (rn_backend_alloc(be, &base, bytes + 2 * kGuardBytes) != RN_OK) {
                ADD_FAILURE() << where << ": cannot allocate '" << t.name
                              << "': " << be->err.message;
                ok_ = false;
                return;
            }
            base_.push_back((unsigned char *)base);
            ptrs.p.push_back((unsigned char *)base + kGuardBytes);
        }
        ok_ = reset();
    }
    ~Staged() {
        for (unsigned char *b : base_)
            rn_backend_dealloc(be_, b);
    }
    Staged(const Staged &) = delete;
    Staged &operator=(const Staged &) = delete;
    bool ok() const { return ok_; }

    // Uploads every tensor's guarded span with its initial contents.
    bool reset() {
        for (size_t i = 0; i < base_.size(); i++) {
            const Tensor &t = c_.tensors()[i];
            if (!upload(i, t.init)) return false;
        }
        return true;
    }
    // Replaces tensor i's contents (guards included, re-written).
    bool upload(size_t i, const std::vector<double> &values) {
        Tensor t = c_.tensors()[i];
        t.init = values;
        std::vector<unsigned char> payload = encode(t), span(payload.size() + 2 * kGuardBytes);
        fill_guard(span.data());
        if (!payload.empty())
            std::memcpy(span.data() + kGuardBytes, payload.data(), payload.size());
        fill_guard(span.data() + kGuardBytes + payload.size());
        if (be_->ops->upload(be_, base_[i], span.data(), span.size()) != RN_OK) {
            ADD_FAILURE() << where_ << ": upload of '" << t.name << "': " << be_->err.message;
            return false;
        }
        return true;
    }
    // Downloads every tensor (this synchronises: a kernel fault shows here) and checks the guards.
    bool fetch(std::vector<std::vector<double>> &got) {
        got.clear();
        bool ok = true;
        for (size_t i = 0; i < base_.size(); i++) {
            const Tensor &t = c_.tensors()[i];
            const size_t es = type_size(t.type), bytes = t.init.size() * es;
            std::vector<unsigned char> span(bytes + 2 * kGuardBytes);
            if (be_->ops->download(be_, span.data(), base_[i], span.size()) != RN_OK) {
                ADD_FAILURE() << where_ << ": download of '" << t.name << "': " << be_->err.message;
                return false;
            }
            std::string damage = guard_damage(span.data(), bytes, es);
            if (!damage.empty()) {
                ADD_FAILURE() << where_ << ": tensor '" << t.name << "' (" << t.init.size()
                              << " elements): " << damage;
                ok = false;
            }
            got.push_back(decode(t.type, span.data() + kGuardBytes, t.init.size()));
        }
        return ok;
    }

    Ptrs ptrs;

  private:
    rn_backend *be_;
    const Case &c_;
    std::string where_;
    std::vector<unsigned char *> base_;
    bool ok_ = true;
};

// Stages a case, runs its op, fetches every tensor. False (with the failure added) when anything
// but the values went wrong: allocation, a non-OK status, a damaged guard.
inline bool execute(rn_backend *be, const Case &c, std::vector<std::vector<double>> &got,
                    const std::string &where) {
    Staged s(be, c, where);
    if (!s.ok()) return false;
    rn_status st = c.run(be, s.ptrs);
    bool ok = s.fetch(got);
    if (st != RN_OK) {
        ADD_FAILURE() << where << ": the op returned status " << (int)st << ": " << be->err.message;
        return false;
    }
    return ok;
}

// ---- comparison (STYLE.md §6) ----

// mag: the terms' magnitudes per element (Case::magnitude), or empty.
inline bool compare(const Tensor &t, const std::vector<double> &got, const std::vector<double> &ref,
                    const std::vector<double> &mag, const Tol &tol, const std::string &where) {
    if (got.size() != ref.size()) {
        ADD_FAILURE() << where << ": tensor '" << t.name << "': " << got.size()
                      << " elements, expected " << ref.size();
        return false;
    }
    auto mag_of = [&](size_t i) {
        return std::max(std::fabs(ref[i]), i < mag.size() ? mag[i] : 0.0);
    };
    double scale = 0.0;
    for (size_t i = 0; i < ref.size(); i++)
        if (std::isfinite(ref[i])) scale = std::max(scale, mag_of(i));
    const double atol = tol.atol_scale * scale;
    size_t bad = 0, worst = 0;
    double worst_excess = -1.0, max_diff = 0.0;
    for (size_t i = 0; i < ref.size(); i++) {
        const double g = got[i], r = ref[i];
        bool fail = false;
        double excess = 0.0; // how far past its limit, to pick the worst element
        if (std::isnan(r)) {
            fail = !std::isnan(g);
            excess = fail ? INFINITY : 0.0;
        } else {
            const double d = std::fabs(g - r);
            if (!std::isfinite(d))
                max_diff = NAN;
            else if (!std::isnan(max_diff))
                max_diff = std::max(max_diff, d);
            const double lim = tol.exact ? 0.0 : atol + tol.rtol * mag_of(i);
            fail = tol.exact ? !(g == r) : !(d <= lim);
            excess = !std::isfinite(d) ? INFINITY : lim > 0 ? d / lim : d > 0 ? INFINITY : 0.0;
        }
        if (fail) {
            if (!bad || excess > worst_excess) {
                worst_excess = excess;
                worst = i;
            }
            bad++;
        } else if (!bad && excess > worst_excess) {
            worst_excess = excess;
            worst = i;
        }
    }
    const double rel_err = scale > 0 ? max_diff / scale : max_diff;
    const bool tensor_ok = tol.exact || rel_err <= tol.max_rel;
    if (bad == 0 && tensor_ok) return true;
    std::ostringstream m;
    m.precision(t.type == Type::F64 ? 17 : 9);
    m << where << ": tensor '" << t.name << "': " << bad << " of " << ref.size()
      << " elements out of tolerance";
    if (!ref.empty())
        m << "; worst at " << where_in(t, worst) << ": got " << got[worst] << ", expected "
          << ref[worst] << " (|diff| " << std::fabs(got[worst] - ref[worst]) << ")";
    m.precision(3);
    m << "; tensor relative error " << rel_err;
    if (tol.exact)
        m << " (must be exact)";
    else
        m << " (limits: element " << tol.atol_scale << "·scale + " << tol.rtol
          << "·max(|ref|, terms), tensor " << tol.max_rel << "; scale " << scale << ")";
    ADD_FAILURE() << m.str();
    return false;
}

// ---- sweeps: the two suites over the same case definitions ----

inline uint32_t suite_seed(const char *name) {
    const char *env = std::getenv("RATENN_OPS_SEED");
    if (env && *env) return (uint32_t)std::strtoul(env, nullptr, 0);
    uint32_t h = 2166136261u; // FNV-1a of the test's name: fixed, different per entry
    for (const char *p = name; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    return h;
}

inline bool device_is_cpu_stand_in() {
    const char *v = std::getenv("RATENN_OPS_DEVICE");
    return v && std::strcmp(v, "cpu") == 0;
}

// The device's block sizes a suite sweeps: 32, 64, 256 and 1024, or RATENN_OPS_BLOCKS's list
// ("32,1024": fewer under a slow sanitizer). A list with anything but whole numbers from 32 to 1024
// is refused (false, `bad` names it) rather than trimmed, so a typo cannot shrink the sweep unseen.
inline bool block_sizes(std::vector<int> &sizes, std::string &bad) {
    const char *v = std::getenv("RATENN_OPS_BLOCKS");
    sizes.clear();
    for (const char *p = v; p && *p;) {
        char *end = nullptr;
        const long n = std::strtol(p, &end, 10);
        if (end == p || (*end && *end != ',') || n < 32 || n > 1024) {
            bad = std::string("RATENN_OPS_BLOCKS=\"") + v +
                  "\": want a comma-separated list of block sizes from 32 to 1024";
            return false;
        }
        sizes.push_back((int)n);
        p = *end == ',' ? end + 1 : end;
    }
    if (sizes.empty()) sizes = {32, 64, 256, 1024};
    return true;
}

// Hands the case definitions their random inputs and runs each case as it is defined.
class Sweep {
  public:
    explicit Sweep(uint32_t seed) : gen_(seed) {}
    // n values uniform in [lo, hi), each a float (so exactly what a float tensor holds)
    std::vector<double> uniform(size_t n, double lo, double hi) {
        std::uniform_real_distribution<float> d((float)lo, (float)hi);
        std::vector<double> v(n);
        for (double &x : v)
            x = d(gen_);
        return v;
    }
    // log-uniform in [lo, hi], with lo and hi themselves first when n >= 2
    std::vector<double> log_uniform(size_t n, double lo, double hi) {
        std::vector<double> v = uniform(n, std::log(lo), std::log(hi));
        for (double &x : v)
            x = (float)std::exp(x);
        if (n >= 2) {
            v[0] = (float)lo;
            v[1] = (float)hi;
        }
        return v;
    }
    static std::vector<double> nans(size_t n) { return std::vector<double>(n, NAN); }
    // non-zero junk for '+=' outputs: ±[0.5, 1.5)
    std::vector<double> junk(size_t n) {
        std::vector<double> v = uniform(n, 0.5, 1.5);
        std::bernoulli_distribution sign(0.5);
        for (double &x : v)
            if (sign(gen_)) x = -x;
        return v;
    }
    // junk for double accumulators: positive, as the loss scalars are, so that the relative
    // tolerance of the sum is that of the increment
    std::vector<double> positive_junk(size_t n) { return uniform(n, 0.25, 1.25); }
    std::vector<double> bytes(size_t n) {
        std::uniform_int_distribution<int> d(0, 255);
        std::vector<double> v(n);
        for (double &x : v)
            x = d(gen_);
        return v;
    }
    // a mask of 0/1-ish bytes: about a third zero, the others 1, 7 or 255 ("mask_i != 0")
    std::vector<double> mask_bytes(size_t n) {
        std::uniform_int_distribution<int> d(0, 5);
        static const double nz[] = {1, 7, 255};
        std::vector<double> v(n);
        for (double &x : v) {
            int k = d(gen_);
            x = k < 2 ? 0.0 : nz[k % 3];
        }
        if (n) v[0] = 1; // never all off
        return v;
    }
    uint32_t u32() { return (uint32_t)gen_(); }
    std::mt19937 &gen() { return gen_; }

    void run(Case &c) {
        cases++;
        if (failures >= kMaxFailures) return; // enough said
        if (!runner(c)) failures++;
        if (failures == kMaxFailures)
            ADD_FAILURE() << "stopping after " << kMaxFailures << " failing cases";
    }

    static constexpr int kMaxFailures = 8;
    int cases = 0, failures = 0;
    std::function<bool(Case &)> runner;

  private:
    std::mt19937 gen_;
};

using CaseList = void (*)(Sweep &);

// OpsCpu: every case on the CPU backend against its reference.
inline void run_cpu_suite(const char *name, CaseList cases) {
    const uint32_t seed = suite_seed(name);
    std::printf("[ ops ] OpsCpu.%s seed %u\n", name, seed);
    rn_backend *cpu = nullptr;
    rn_error err = {};
    ASSERT_EQ(rn_backend_create(&cpu, RN_BACKEND_CPU, &err), RN_OK) << err.message;
    Sweep sw(seed);
    sw.runner = [&](Case &c) {
        const std::string where =
            fmt("OpsCpu.%s [%s] (seed %u)", name, c.desc().c_str(), (unsigned)seed);
        std::vector<std::vector<double>> want = c.expected(), got;
        if (!execute(cpu, c, got, where)) return false;
        bool ok = true;
        for (size_t i = 0; i < got.size(); i++) {
            const Tensor &t = c.tensors()[i];
            ok &= compare(t, got[i], want[i], c.magnitude(i),
                          t.role == Role::In ? exact() : t.cpu_tol, where);
        }
        return ok;
    };
    cases(sw);
    std::printf("[ ops ] OpsCpu.%s: %d cases\n", name, sw.cases);
    rn_backend_free(cpu);
}

// Restores the default block size however the test ends.
struct BlockSizeRestore {
    rn_backend *be;
    ~BlockSizeRestore() {
        if (be && be->ops->set_block_size) be->ops->set_block_size(be, 256);
    }
};

// CudaOps: every case on the CPU backend, then on the device at each block size, compared.
inline void run_device_suite(const char *name, CaseList cases) {
    const uint32_t seed = suite_seed(name);
    std::printf("[ ops ] CudaOps.%s seed %u\n", name, seed);
    rn_backend *cpu = nullptr, *dev = nullptr;
    rn_error err = {};
    ASSERT_EQ(rn_backend_create(&cpu, RN_BACKEND_CPU, &err), RN_OK) << err.message;
    rn_backend_kind kind = device_is_cpu_stand_in() ? RN_BACKEND_CPU : RN_BACKEND_CUDA;
    ASSERT_EQ(rn_backend_create(&dev, kind, &err), RN_OK) << err.message;
    std::vector<int> blocks = {0}; // 0: the backend has no block size
    std::string bad;
    if (dev->ops->set_block_size && !block_sizes(blocks, bad)) {
        ADD_FAILURE() << "CudaOps." << name << ": " << bad;
        rn_backend_free(dev);
        rn_backend_free(cpu);
        return;
    }
    {
        BlockSizeRestore restore{dev};
        Sweep sw(seed);
        sw.runner = [&](Case &c) {
            const std::string where_cpu =
                fmt("CudaOps.%s [%s] (seed %u) on the CPU", name, c.desc().c_str(), (unsigned)seed);
            std::vector<std::vector<double>> want, got;
            c.expected(); // for the magnitudes of the terms only: the CPU's results are the reference
            if (!execute(cpu, c, want, where_cpu)) return false;
            bool ok = true;
            for (int bs : blocks) {
                const std::string where = fmt("CudaOps.%s [%s] (seed %u) block %d", name,
                                              c.desc().c_str(), (unsigned)seed, bs);
                if (bs && dev->ops->set_block_size(dev, bs) != RN_OK) {
                    ADD_FAILURE() << where << ": set_block_size: " << dev->err.message;
                    return false;
                }
                if (!execute(dev, c, got, where)) return false;
                for (size_t i = 0; i < got.size(); i++) {
                    const Tensor &t = c.tensors()[i];
                    ok &= compare(t, got[i], t.role == Role::In ? t.init : want[i], c.magnitude(i),
                                  t.role == Role::In ? exact() : t.dev_tol, where);
                }
                if (!ok) break;
            }
            return ok;
        };
        cases(sw);
        std::printf("[ ops ] CudaOps.%s: %d cases x %zu block sizes on %s\n", name, sw.cases,
                    blocks.size(), rn_backend_description(dev));
    }
    rn_backend_free(dev);
    rn_backend_free(cpu);
}

} // namespace oph

// One entry's cases, and both suites over them.
#define OPS_CASES(Name)                                                                            \
    static void Name##_cases(oph::Sweep &sw);                                                      \
    TEST(OpsCpu, Name) {                                                                           \
        oph::run_cpu_suite(#Name, Name##_cases);                                                   \
    }                                                                                              \
    TEST(CudaOps, Name) {                                                                          \
        if (!oph::device_is_cpu_stand_in()) RN_SKIP_WITHOUT_CUDA();                                \
        oph::run_device_suite(#Name, Name##_cases);                                                \
    }                                                                                              \
    static void Name##_cases(oph::Sweep &sw)
