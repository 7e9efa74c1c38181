/* CPU mirror of kernels/optim.cu: the gradient norm, Adam and SGD over the whole parameter block in
 * one pass (masked to the trainable elements), and the clip-bound projection. */
#include "cpu_ops.h"
#include "rn_math.h"

rn_status rn_cpu_sum_squares(rn_backend *be, double *out, const float *g, const uint8_t *mask,
                             size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        if (mask[i]) s += (double)g[i] * (double)g[i];
    *out += s;
    return RN_OK;
}

rn_status rn_cpu_adam(rn_backend *be, float *p, float *m, float *v, const float *g,
                      const uint8_t *mask, const double *scalars, size_t n,
                      const rn_optim_step *s) {
    if (!rn_scalars_finite(scalars, RN_SCALAR_COUNT)) return RN_OK;
    float scale = rn_clip_scale(scalars[RN_SCALAR_GNORM2], s->clip_norm);
    for (size_t i = 0; i < n; i++)
        if (mask[i])
            rn_adam_update(&p[i], &m[i], &v[i], g[i] * scale, s->lr, s->b1, s->b2, s->eps, s->bc1,
                           s->bc2);
    return RN_OK;
}

rn_status rn_cpu_sgd(rn_backend *be, float *p, const float *g, const uint8_t *mask,
                     const double *scalars, size_t n, const rn_optim_step *s) {
    if (!rn_scalars_finite(scalars, RN_SCALAR_COUNT)) return RN_OK;
    float scale = rn_clip_scale(scalars[RN_SCALAR_GNORM2], s->clip_norm);
    for (size_t i = 0; i < n; i++)
        if (mask[i]) p[i] = p[i] - s->lr * (g[i] * scale);
    return RN_OK;
}

rn_status rn_cpu_clip_bounds(rn_backend *be, float *p, const float *lo, const float *hi,
                             const uint8_t *mask, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (mask[i]) p[i] = rn_clampf(p[i], lo[i], hi[i]);
    return RN_OK;
}
