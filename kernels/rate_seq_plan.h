/* Internal: the launch plans of the whole-sequence rate kernels (rate_seq.cu, rate_seq_coop.cu) as
 * plain C, from the device's limits alone, so that the host tests can check them without a GPU
 * (tests/test_rate_seq_plan.cpp). */
#ifndef RATENN_RATE_SEQ_PLAN_H
#define RATENN_RATE_SEQ_PLAN_H

#include <stdbool.h>
#include <stddef.h>

/* The device's limits, read once at init (rn_cuda_rate_seq_setup). */
typedef struct rn_seq_limits {
    int sm_count;     /* multiprocessors */
    size_t smem;      /* dynamic shared memory one CTA of the persistent kernels may use */
    int max_threads;  /* threads per block they can launch with (their register use) */
    bool coop;        /* cooperative launches possible */
    size_t coop_smem; /* dynamic shared memory one CTA of the cooperative kernels may use */
} rn_seq_limits;

/* ---- path "persistent-smem" (rate_seq.cu) ---- */
typedef struct rn_seq_plan {
    int ks;      /* threads per neuron splitting the recurrent sum (1, 2, 4, 8) */
    int slot;    /* threads per trial: n·ks rounded up to whole warps */
    int ldw;     /* row stride of W_rec (W_recᵀ) in shared memory; 0 when not recurrent */
    int group;   /* trials per CTA */
    int threads; /* group·slot */
    size_t smem; /* dynamic shared memory, bytes */
} rn_seq_plan;

/* Threads per neuron splitting a recurrent product's sum of n terms: about 256 threads a trial. */
static inline int rn_seq_split(int n) {
    int ks = 1;
    while (ks < 8 && n * ks * 2 <= 256)
        ks *= 2;
    return ks;
}

/* Threads and shared memory of a plan with `group` trials per CTA. Shared memory, in floats:
 * W_rec (n × ldw) and the state of the group's trials in two buffers (2 × group × n). */
static inline void rn_seq_size(rn_seq_plan *p, int n, int group) {
    p->group = group;
    p->threads = group * p->slot;
    p->smem = ((size_t)n * (size_t)p->ldw + 2 * (size_t)group * (size_t)n) * sizeof(float);
}

/* The plan for `batch` trials of an n-neuron layer, or false where the persistent kernels do not
 * take it (whether they take it does not depend on the batch). */
static inline bool rn_seq_plan_for(const rn_seq_limits *l, int batch, int n, bool recurrent,
                                   rn_seq_plan *p) {
    /* n > 4096 never fits max_threads anyway; refusing it first keeps n·ks and the shared-memory
     * sizes below far from int overflow for any n */
    if (batch <= 0 || n <= 0 || l->max_threads <= 0 || n > 4096) return false;
    p->ks = rn_seq_split(n);
    p->slot = (n * p->ks + 31) / 32 * 32;
    p->ldw = 0;
    if (recurrent) {
        /* ldw ≡ 32/ks (mod 32) for ks > 1: the ks·(32/ks) lanes of a warp read W[i·ldw + j] from
         * distinct banks (for ks = 1, consecutive j do anyway) */
        const int want = p->ks == 1 ? n % 32 : 32 / p->ks;
        p->ldw = n + ((want - n % 32) % 32 + 32) % 32;
    }
    rn_seq_size(p, n, 1);
    if (p->threads > l->max_threads || p->smem > l->smem) return false;
    /* Trials per CTA: about one CTA per multiprocessor, as long as threads and memory allow. */
    const int sms = l->sm_count > 0 ? l->sm_count : 1;
    const int want = (batch + sms - 1) / sms;
    for (int g = 2; g <= want; g++) {
        rn_seq_plan q = *p;
        rn_seq_size(&q, n, g);
        if (q.threads > l->max_threads || q.smem > l->smem) break;
        *p = q;
    }
    return true;
}

#if defined(__CUDACC__)
#define RN_SEQ_HD __host__ __device__
#else
#define RN_SEQ_HD
#endif

/* A thread's role in a CTA of the persistent kernels: (trial g of the group, neuron j, split lane
 * c); `live` when the thread computes (it is one of group·slot), j and the trial b exist, `owner`
 * for the lane that does the per-element arithmetic. The ks lanes of a neuron are adjacent, the
 * first at a lane that is a multiple of ks, so that a shuffle tree within the warp sums them. */
typedef struct rn_seq_role {
    int g, j, c, b;
    bool compute, live, owner;
} rn_seq_role;

RN_SEQ_HD static inline rn_seq_role rn_seq_role_of(const rn_seq_plan *p, int tid, int block, int n,
                                                   int batch) {
    rn_seq_role r;
    r.compute = tid < p->group * p->slot;
    r.g = r.compute ? tid / p->slot : 0;
    const int local = tid % p->slot;
    r.j = local / p->ks;
    r.c = local % p->ks;
    r.b = block * p->group + r.g;
    r.live = r.compute && r.j < n && r.b < batch;
    r.owner = r.live && r.c == 0;
    return r;
}

/* ---- path "cooperative" (rate_seq_coop.cu) ---- */
#define RN_COOP_THREADS 256
#define RN_COOP_MAX_N 2048

typedef struct rn_coop_plan {
    int cs;      /* columns of W_rec (the adjoint: rows) per CTA */
    int blocks;  /* CTAs: ceil(n / cs) <= sm_count, so that all are resident at once */
    int bc;      /* trials staged at a time */
    size_t smem; /* dynamic shared memory, bytes: W_rec's slice (cs × n), bc × (n + cs) */
} rn_coop_plan;

static inline bool rn_coop_plan_for(const rn_seq_limits *l, int batch, int n, bool recurrent,
                                    rn_coop_plan *p) {
    if (!recurrent || !l->coop || batch <= 0 || n <= 0 || n > RN_COOP_MAX_N || l->sm_count <= 0)
        return false;
    p->cs = (n + l->sm_count - 1) / l->sm_count;
    p->blocks = (n + p->cs - 1) / p->cs;
    const size_t wbytes = (size_t)p->cs * (size_t)n * sizeof(float);
    const size_t per_trial = ((size_t)n + (size_t)p->cs) * sizeof(float);
    if (wbytes + per_trial > l->coop_smem) return false;
    size_t bc = (l->coop_smem - wbytes) / per_trial;
    if (bc > (size_t)batch) bc = (size_t)batch;
    p->bc = (int)bc;
    p->smem = wbytes + bc * per_trial;
    return true;
}

#endif
