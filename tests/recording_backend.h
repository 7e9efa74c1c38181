// A CPU backend that records as a CUDA graph does, so that the trainer's graph path runs in CI
// without a device. Between graph_begin and graph_end no op runs: each is kept with its arguments
// as they were then (the step structs they point to copied, as a kernel launch copies its
// parameters) and graph_launch replays the list, reading backend memory as it is at the replay.
// upload, download, alloc, free and mem_free are refused while recording, as stream capture refuses
// them (the capture is then invalid: graph_end fails and the trainer runs that epoch directly).
//
// Every op's pointer arguments (but upload's source and download's destination, which are host
// memory) must lie in a live allocation of the backend (the whole-sequence entries' sequences at
// the first row they address), as on a GPU where a host pointer there is a fault; a pointer that
// does not is noted in `problems`. So is every refused call. What the test
// asserts: no problems, one recording per change of what the ops are, and a replay every epoch
// after the first giving the bits of the CPU backend run directly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include "backend_impl.h"

namespace recording {

// The table has 38 entries: one more means one more to wrap (or pass through) below.
static_assert(sizeof(rn_backend_ops) == 38 * sizeof(void *), "rn_backend_ops changed");

struct Recorder;

// be->ops points at `ops`, the first member of a standard-layout struct: the entries find their
// recorder from the backend alone.
struct Table {
    rn_backend_ops ops;
    Recorder *self;
};

struct Graph {
    std::vector<std::function<rn_status()>> ops;
};

struct Recorder {
    Table table = {};
    const rn_backend_ops *inner = nullptr;
    rn_backend *be = nullptr;
    Graph *recording = nullptr; // between graph_begin and graph_end
    bool invalid = false;       // a refused call while recording
    int begun = 0, kept = 0, launched = 0;
    long recorded_ops = 0, replayed_ops = 0, direct_ops = 0;
    std::vector<std::string> problems;

    Recorder() = default;
    Recorder(const Recorder &) = delete;
    Recorder &operator=(const Recorder &) = delete;
    ~Recorder() { delete recording; } // a recording never ended

    static Recorder &of(rn_backend *be) { return *reinterpret_cast<const Table *>(be->ops)->self; }

    void note(const std::string &what) {
        if (problems.size() < 20) problems.push_back(what);
    }

    // Whether p + skip bytes lies in a live allocation (addresses as integers: the whole-sequence
    // entries are given a base that may lie before the buffer, see Seq below).
    bool in_backend(const void *p, uintptr_t skip = 0) const {
        if (!p) return true;
        const uintptr_t c = reinterpret_cast<uintptr_t>(p) + skip;
        for (int i = 0; i < be->n_allocs; i++) {
            const uintptr_t a = reinterpret_cast<uintptr_t>(be->allocs[i].ptr);
            if (c >= a && c - a < be->allocs[i].bytes) return true;
        }
        return false;
    }

    // Refuses a call that stream capture refuses, as the CUDA backend reports a failed op.
    rn_status refuse(const char *op) {
        invalid = true;
        note(std::string(op) + " while recording");
        be->err.status = RN_ERR_DEVICE;
        std::snprintf(be->err.message, sizeof be->err.message, "%s while recording a graph", op);
        return RN_ERR_DEVICE;
    }
};

// What a recorded op keeps of an argument: the value, or a copy of the struct it points to.
template <class T> struct Held {
    T v;
    explicit Held(T a) : v(a) {}
    T get() const { return v; }
};
template <class S> struct HeldStruct {
    S v;
    explicit HeldStruct(const S *p) : v(*p) {}
    const S *get() const { return &v; }
};
template <> struct Held<const rn_rate_step *> : HeldStruct<rn_rate_step> {
    using HeldStruct::HeldStruct;
};
template <> struct Held<const rn_optim_step *> : HeldStruct<rn_optim_step> {
    using HeldStruct::HeldStruct;
};

// The whole-sequence entries address step t of a (B, T, N) sequence at base + t·N and read
// only rows [t0, t1): the trainer hands a segment's buffer over as a base t0 rows before it. Their
// sequence arguments (by position, after be) are checked at base + t0·N.
template <auto M> struct Seq { static constexpr bool has = false; };
template <> struct Seq<&rn_backend_ops::rate_forward_seq> {
    static constexpr bool has = true;
    static constexpr int step = 10, t0 = 11; // the positions of s and t0
    static bool is_seq(int i) { return i == 0 || i == 1 || i == 2 || i == 5; } // x, out, r, in
};
template <> struct Seq<&rn_backend_ops::rate_backward_seq> {
    static constexpr bool has = true;
    static constexpr int step = 14, t0 = 15;
    static bool is_seq(int i) { return i == 1 || i == 6 || i == 7 || i == 8; } // e, g, x, a
};

template <class T> void check_arg(Recorder &, const char *, int, uintptr_t, const T &) {}
template <class T> void check_arg(Recorder &r, const char *op, int i, uintptr_t skip, T *const &p) {
    if (!r.in_backend(p, skip))
        r.note(std::string(op) + ": argument " + std::to_string(i) + " is not backend memory");
}
inline void check_arg(Recorder &r, const char *op, int i, uintptr_t, const rn_rate_step *const &s) {
    if (!r.in_backend(s->epoch))
        r.note(std::string(op) + ": argument " + std::to_string(i) +
               "'s epoch is not backend memory");
}
inline void check_arg(Recorder &, const char *, int, uintptr_t, const rn_optim_step *const &) {}

// An entry that computes: checked, then run (or kept, while recording).
template <auto M, class F> struct Op;
template <auto M, class... A> struct Op<M, rn_status (*)(rn_backend *, A...)> {
    static inline const char *name = "";
    static rn_status call(rn_backend *be, A... a) {
        Recorder &r = Recorder::of(be);
        uintptr_t rows = 0; // the bytes a sequence argument's base lies before its first row
        if constexpr (Seq<M>::has) {
            // the positions in Seq name the step struct and t0 (a change of the entry's
            // arguments shows here, not as a check at the wrong row)
            using Args = std::tuple<A...>;
            static_assert(
                std::is_same_v<std::tuple_element_t<Seq<M>::step, Args>, const rn_rate_step *> &&
                    std::is_same_v<std::tuple_element_t<Seq<M>::t0, Args>, int>,
                "Seq's positions do not match the entry's arguments");
            const auto args = std::forward_as_tuple(a...);
            const rn_rate_step *s = std::get<Seq<M>::step>(args);
            rows = (uintptr_t)std::get<Seq<M>::t0>(args) * (uintptr_t)s->n * sizeof(float);
        }
        auto skip = [&](int k) -> uintptr_t {
            if constexpr (Seq<M>::has) return Seq<M>::is_seq(k) ? rows : 0;
            return 0;
        };
        int i = 0;
        ((check_arg(r, name, i, skip(i), a), ++i), ...);
        auto f = r.inner->*M;
        if (!r.recording) {
            r.direct_ops++;
            return f(be, a...);
        }
        r.recording->ops.push_back([f, be, held = std::make_tuple(Held<A>(a)...)]() {
            return std::apply([&](const auto &...h) { return f(be, h.get()...); }, held);
        });
        r.recorded_ops++;
        return RN_OK;
    }
};

inline rn_status rec_alloc(rn_backend *be, void **ptr, size_t bytes) {
    Recorder &r = Recorder::of(be);
    return r.recording ? r.refuse("alloc") : r.inner->alloc(be, ptr, bytes);
}
inline void rec_free(rn_backend *be, void *ptr) {
    Recorder &r = Recorder::of(be);
    if (r.recording) r.refuse("free"); // (still freed: the caller cannot keep it)
    r.inner->free(be, ptr);
}
inline rn_status rec_upload(rn_backend *be, void *dst, const void *src, size_t bytes) {
    Recorder &r = Recorder::of(be);
    if (!r.in_backend(dst)) r.note("upload: the destination is not backend memory");
    return r.recording ? r.refuse("upload") : r.inner->upload(be, dst, src, bytes);
}
inline rn_status rec_download(rn_backend *be, void *dst, const void *src, size_t bytes) {
    Recorder &r = Recorder::of(be);
    if (!r.in_backend(src)) r.note("download: the source is not backend memory");
    return r.recording ? r.refuse("download") : r.inner->download(be, dst, src, bytes);
}
inline rn_status rec_mem_free(rn_backend *be, size_t *bytes) {
    Recorder &r = Recorder::of(be);
    if (r.recording) return r.refuse("mem_free");
    if (r.inner->mem_free) return r.inner->mem_free(be, bytes);
    *bytes = 0;
    return RN_OK;
}

inline rn_status rec_graph_begin(rn_backend *be) {
    Recorder &r = Recorder::of(be);
    if (r.recording) return r.refuse("graph_begin");
    r.recording = new Graph;
    r.invalid = false;
    r.begun++;
    return RN_OK;
}
inline rn_status rec_graph_end(rn_backend *be, bool keep, void **graph) {
    Recorder &r = Recorder::of(be);
    *graph = nullptr;
    Graph *g = r.recording;
    r.recording = nullptr;
    if (!g) return r.refuse("graph_end without graph_begin");
    if (!keep || r.invalid) {
        delete g;
        if (!keep) return RN_OK;
        be->err.status = RN_ERR_DEVICE;
        std::snprintf(be->err.message, sizeof be->err.message, "graph capture was invalidated");
        return RN_ERR_DEVICE;
    }
    *graph = g;
    r.kept++;
    return RN_OK;
}
inline rn_status rec_graph_launch(rn_backend *be, void *graph) {
    Recorder &r = Recorder::of(be);
    if (r.recording) return r.refuse("graph_launch");
    r.launched++;
    for (auto &op : static_cast<Graph *>(graph)->ops) {
        r.replayed_ops++;
        rn_status st = op();
        if (st != RN_OK) return st;
    }
    return RN_OK;
}
inline void rec_graph_free(rn_backend *, void *graph) {
    delete static_cast<Graph *>(graph);
}

#define RECORDING_OP(t, entry)                                                                     \
    do {                                                                                           \
        using op_ = Op<&rn_backend_ops::entry, decltype(rn_backend_ops::entry)>;                   \
        op_::name = #entry;                                                                        \
        (t).entry = op_::call;                                                                     \
    } while (0)

// Makes `be` (a CPU backend) record as above; `r` must outlive the backend. The inner table is the
// backend's own, so the entries compute as they did (rate_seq_fits etc. pass straight through).
inline void attach(Recorder &r, rn_backend *be) {
    r.inner = be->ops;
    r.be = be;
    r.table.self = &r;
    rn_backend_ops &t = r.table.ops;
    t = *be->ops;
    t.alloc = rec_alloc;
    t.free = rec_free;
    t.upload = rec_upload;
    t.download = rec_download;
    t.mem_free = rec_mem_free;
    t.graph_begin = rec_graph_begin;
    t.graph_end = rec_graph_end;
    t.graph_launch = rec_graph_launch;
    t.graph_free = rec_graph_free;
    RECORDING_OP(t, fill);
    RECORDING_OP(t, zero);
    RECORDING_OP(t, gemm);
    RECORDING_OP(t, bias_add);
    RECORDING_OP(t, bias_grad);
    RECORDING_OP(t, rate_init);
    RECORDING_OP(t, rate_forward_step);
    RECORDING_OP(t, rate_backward_step);
    RECORDING_OP(t, rate_backward_init);
    RECORDING_OP(t, rate_param_grads);
    RECORDING_OP(t, rate_forward_seq);
    RECORDING_OP(t, rate_backward_seq);
    RECORDING_OP(t, shift_rows);
    RECORDING_OP(t, filter_forward);
    RECORDING_OP(t, filter_backward);
    RECORDING_OP(t, filter_param_grads);
    RECORDING_OP(t, mse);
    RECORDING_OP(t, bounds);
    RECORDING_OP(t, l2);
    RECORDING_OP(t, sum_squares);
    RECORDING_OP(t, adam);
    RECORDING_OP(t, sgd);
    RECORDING_OP(t, clip_bounds);
    be->ops = &t;
}
#undef RECORDING_OP

} // namespace recording
