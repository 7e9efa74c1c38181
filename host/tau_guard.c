/* The τ guard of the optimiser step (SPEC §2: "a τ ≤ 0 or non-finite is an error, not a NaN"; §8:
 * divergence keeps the last good parameters). A step that leaves a trainable time constant ≤ 0,
 * non-finite, or so small that dt/τ overflows a float would make every later step meaningless
 * without any NaN to show it, so it counts as divergence: the parameters and Adam's moments go back
 * to what they were before the step and the epoch fails naming the element. The CLI applies the
 * same rule to the files it reads (cli_check_params). */
#include <math.h>
#include <stdio.h>

#include "trainer_impl.h"

static bool is_tau(const rn_param *p) {
    return p->role == RN_P_TAU || p->role == RN_P_TAU2;
}

bool rn_tau_guard_needed(const rn_net *net) {
    for (int i = 0; i < net->n_params; i++)
        if (is_tau(&net->params[i])) return true;
    return false;
}

/* Whether a step can move a τ now (the trainable flags may change between epochs). */
static bool armed(const rn_trainer *tr) {
    if (!tr->p_prev) return false;
    for (int i = 0; i < tr->net->n_params; i++)
        if (is_tau(&tr->net->params[i]) && tr->net->params[i].trainable) return true;
    return false;
}

rn_status rn_tau_guard_save(rn_trainer *tr, rn_error *err) {
    if (!armed(tr)) return RN_OK;
    const size_t P = tr->net->total;
    rn_status st;
    if ((st = rn_trainer_copy(tr, tr->p_prev, tr->p, P, err)) != RN_OK ||
        (st = rn_trainer_copy(tr, tr->m_prev, tr->m, P, err)) != RN_OK ||
        (st = rn_trainer_copy(tr, tr->v_prev, tr->v, P, err)) != RN_OK)
        return st;
    return RN_OK;
}

/* Why v is not a usable τ at time step dt, or NULL. */
static const char *tau_problem(float v, float dt) {
    if (!isfinite(v)) return "not finite";
    if (!(v > 0.0f)) return "tau must be > 0";
    if (!isfinite((float)(dt / v))) return "so small that dt/tau overflows";
    return NULL;
}

rn_status rn_tau_guard_check(rn_trainer *tr, rn_error *err) {
    if (!armed(tr)) return RN_OK;
    const rn_net *net = tr->net;
    float buf[1024]; /* downloaded a chunk at a time: nothing to allocate per epoch */
    for (int i = 0; i < net->n_params; i++) {
        const rn_param *p = &net->params[i];
        if (!is_tau(p) || !p->trainable) continue;
        for (size_t at = 0; at < p->count; at += 1024) {
            const size_t n = p->count - at < 1024 ? p->count - at : 1024;
            RN_OP(tr->be->ops->download(tr->be, buf, tr->p + p->offset + at, n * sizeof(float)));
            for (size_t k = 0; k < n; k++) {
                const char *why = tau_problem(buf[k], net->dt);
                if (!why) continue;
                const size_t P = net->total;
                rn_status st;
                if ((st = rn_trainer_copy(tr, tr->p, tr->p_prev, P, err)) != RN_OK ||
                    (st = rn_trainer_copy(tr, tr->m, tr->m_prev, P, err)) != RN_OK ||
                    (st = rn_trainer_copy(tr, tr->v, tr->v_prev, P, err)) != RN_OK)
                    return st;
                return rn_fail(err, RN_ERR_DIVERGED,
                               "diverged at epoch %lld: the step made parameter '%s' element %zu "
                               "%g (%s); the parameters are left as they were before this epoch",
                               (long long)tr->epoch, p->name, at + k, (double)buf[k], why);
            }
        }
    }
    return RN_OK;
}
