/* The C API in one page: train the tutorial's chirp network for a few epochs and print the loss.
 * Build: part of the CMake build (build/example_api_chirp). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "ratenn/ratenn.h"

int main(void) {
    rn_error err = {0};
    rn_chirp_options task = rn_chirp_options_default();
    int T;
    rn_chirp_steps(&task, &T, &err);
    float *u = malloc(T * sizeof(float)), *y = malloc(T * sizeof(float));
    rn_chirp_generate(&task, u, y, T, &err);

    rn_net *net;
    rn_rate_options rate = rn_rate_options_default(50); /* recurrent, tanh, τ 20 ms */
    rate.noise_std = 0.1f;
    if (rn_net_create(&net, 1e-3f, /*seed*/ 0, &err) || rn_net_add_linear(net, 1, 50, true, &err) ||
        rn_net_add_rate(net, &rate, &err) || rn_net_add_linear(net, 50, 1, true, &err) ||
        rn_net_set_bounds(net, "1_rate.tau", 11e-3f, INFINITY, RN_BOUND_PENALTY, &err)) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    rn_backend *be;
    rn_trainer *tr;
    rn_train_config cfg = rn_train_config_default(); /* Adam 1e-4, loss weights 1, 10, 1 */
    if (rn_backend_create(&be, RN_BACKEND_AUTO, &err) ||
        rn_trainer_create(&tr, net, be, &cfg, 1, T, &err) ||
        rn_trainer_set_data(tr, u, y, NULL, &err)) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    printf("training on %s\n", rn_backend_description(be));
    for (int epoch = 0; epoch < 20; epoch++) {
        rn_loss_parts loss;
        if (rn_trainer_epoch(tr, &loss, &err) != RN_OK) {
            fprintf(stderr, "%s\n", err.message);
            return 1;
        }
        if (epoch % 5 == 0) printf("epoch %2d  loss %.5f\n", epoch, loss.total);
    }
    float tau[50];
    rn_trainer_pull_params(tr, &err);
    rn_net_get_param(net, "1_rate.tau", tau, 50, &err);
    printf("1_rate.tau[0] = %.5f s\n", tau[0]);
    rn_trainer_free(tr);
    rn_backend_free(be);
    rn_net_free(net);
    free(u);
    free(y);
    return 0;
}
