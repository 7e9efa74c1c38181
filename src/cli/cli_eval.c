/* `ratenn eval`: a trained network run forward on new inputs of any length and batch. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "ratenn/io.h"

/* Reads "net_effective" (malloc'd into *spec), "dt" and "seed" from a run's config.json. */
static int read_run_config(const char *path, char **spec, double *dt, long long *seed) {
    char *text = cli_read_text("eval", "--config (the run's config.json)", path, (size_t)1 << 20);
    if (!text) return 1;
    cJSON *doc = cJSON_Parse(text);
    free(text);
    const cJSON *net = cJSON_GetObjectItemCaseSensitive(doc, "net_effective");
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(doc, "dt");
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(doc, "seed");
    int rc = 1;
    if (!cJSON_IsString(net) || !cJSON_IsNumber(d))
        fprintf(stderr, "ratenn eval: %s lacks \"net_effective\" or \"dt\"\n", path);
    else if (!(*spec = cli_strdup(net->valuestring)))
        fprintf(stderr, "ratenn eval: out of memory\n");
    else {
        *dt = d->valuedouble;
        *seed = cJSON_IsNumber(s) && s->valuedouble >= 0 && s->valuedouble < 9e18
                    ? (long long)s->valuedouble
                    : 0;
        rc = 0;
    }
    cJSON_Delete(doc);
    return rc;
}

int cli_eval(int argc, char **argv) {
    const char *params = NULL, *input = NULL, *out = NULL, *record = NULL, *config = NULL,
               *noise = "on", *backend = "auto";
    long long seed = -1;
    bool record_all = false;
    cli_flag flags[] = {
        {"--params", CLI_STRING, &params, "P.npz", "trained parameters (DIR/params.npz)", false},
        {"--input", CLI_STRING, &input, "U.npy", "input (B, T, C_in) or (T, C_in), any B and T",
         false},
        {"--out", CLI_STRING, &out, "Y.npy", "where the output (B, T, C_out) goes", false},
        {"--record", CLI_STRING, &record, "S.npz",
         "also write every layer's output and each rate layer's x and r (trial 0; its time axis "
         "downsampled past 4M values per array)",
         false},
        {"--record-all", CLI_SWITCH, &record_all, NULL, "--record keeps every trial at every step",
         false},
        {"--config", CLI_STRING, &config, "FILE",
         "the run's config.json (default: beside --params)", false},
        {"--noise", CLI_STRING, &noise, "on|off",
         "the rate layers' noise (default on, as in training)", false},
        {"--seed", CLI_INT64, &seed, "S", "noise seed (default: the run's)", false},
        {"--backend", CLI_STRING, &backend, "KIND", "auto, cpu or cuda", false},
    };
    const int n_flags = (int)(sizeof flags / sizeof flags[0]);
    int parsed =
        cli_parse_command("eval",
                          "usage: ratenn eval --params DIR/params.npz --input U.npy --out Y.npy "
                          "[--record S.npz] [--noise off]\n\nRuns a trained network forward. "
                          "The architecture comes from the run's config.json.\n",
                          flags, n_flags, argc, argv, 2);
    if (parsed >= 0) return parsed;
    if (!params || !input || !out) {
        fprintf(stderr, "ratenn eval: --params, --input and --out are required\n");
        return 2;
    }
    if (strcmp(noise, "on") && strcmp(noise, "off")) {
        fprintf(stderr, "ratenn eval: --noise: expected on or off\n");
        return 2;
    }
    char cfg[4200];
    char *spec = NULL;
    if (!config) {
        const char *slash = strrchr(params, '/');
        snprintf(cfg, sizeof cfg, "%.*sconfig.json", slash ? (int)(slash - params + 1) : 0, params);
        config = cfg;
    }
    double dt;
    long long run_seed;
    if (read_run_config(config, &spec, &dt, &run_seed)) return 1;
    rn_error err = {0};
    rn_net *net = NULL;
    rn_backend *be = NULL;
    rn_trainer *tr = NULL;
    rn_array in = {0};
    float *y = NULL;
    int rc = 1;
    rn_backend_kind bk;
    if (rn_backend_kind_parse(backend, &bk, &err) != RN_OK) {
        fprintf(stderr, "ratenn eval: --backend: %s\n", err.message);
        free(spec);
        return 2;
    }
    if (cli_build_net("eval", spec, dt, run_seed, &net, NULL)) goto done;
    if (cli_init_params(net, params, "--params", true)) goto done;
    if (rn_npy_read(input, &in, &err) != RN_OK) {
        fprintf(stderr, "ratenn eval: --input %s\n", err.message);
        goto done;
    }
    if (in.ndim != 2 && in.ndim != 3) {
        fprintf(stderr,
                "ratenn eval: --input %s: expected (B, T, C) or (T, C), got %d dimensions\n", input,
                in.ndim);
        goto done;
    }
    size_t B = in.ndim == 3 ? in.shape[0] : 1, T = in.shape[in.ndim - 2], C = in.shape[in.ndim - 1];
    if (C != (size_t)rn_net_input_size(net)) {
        fprintf(stderr, "ratenn eval: --input %s has %zu channels; the network takes %d\n", input,
                C, rn_net_input_size(net));
        goto done;
    }
    if (B == 0 || T == 0 || B >= (1u << 24) || T > 0x7fffffff) {
        fprintf(stderr, "ratenn eval: --input %s: B=%zu, T=%zu is out of range\n", input, B, T);
        goto done;
    }
    rn_train_config tc = rn_train_config_default();
    tc.noise_seed = (uint64_t)(seed >= 0 ? seed : run_seed);
    size_t cout = (size_t)rn_net_output_size(net);
    /* the records are taken as the forward goes, in bounded memory whatever T is */
    int L = rn_net_layer_count(net), n = 0;
    rn_array *arr = record ? calloc((size_t)3 * L + 1, sizeof *arr) : NULL;
    rn_record_request *req = record ? calloc((size_t)3 * L + 1, sizeof *req) : NULL;
    const size_t rec_trials = record_all ? B : 1;
    size_t widest = 1;
    for (int li = 0; li < L; li++)
        if ((size_t)rn_net_layer_width(net, li) > widest)
            widest = (size_t)rn_net_layer_width(net, li);
    const size_t limit = (size_t)1 << 22;
    const size_t stride = record_all || T * widest <= limit ? 1 : (T * widest + limit - 1) / limit;
    const size_t kept = (T + stride - 1) / stride;
    bool oom = record && (!arr || !req);
    for (int li = 0; record && !oom && li < L; li++) {
        bool rate = rn_net_layer_kind(net, li) == RN_LAYER_RATE;
        for (int kind = 0; !oom && kind < (rate ? 3 : 1); kind++) {
            rn_array *a = &arr[n];
            static const char *what[] = {"out", "x", "r"};
            snprintf(a->name, sizeof a->name, "%d_%s.%s", li,
                     rn_layer_kind_name(rn_net_layer_kind(net, li)), what[kind]);
            int width = rn_net_layer_width(net, li);
            a->ndim = 3;
            a->shape[0] = rec_trials;
            a->shape[1] = kept;
            a->shape[2] = (size_t)width;
            a->count = rec_trials * kept * (size_t)width;
            a->data = malloc(a->count * sizeof(float) + 1);
            if (!a->data) oom = true;
            req[n] = (rn_record_request){li, (rn_record_kind)kind, (int)rec_trials, (int)stride,
                                         a->data};
            n++;
        }
    }
    if (record && !oom && stride > 1) { /* the steps kept */
        rn_array *a = &arr[n++];
        snprintf(a->name, sizeof a->name, "record_step");
        a->ndim = 1;
        a->shape[0] = kept;
        a->count = kept;
        a->data = malloc(kept * sizeof(float));
        if (!a->data) oom = true;
        for (size_t i = 0; a->data && i < kept; i++)
            a->data[i] = (float)(i * stride);
    }
    y = oom ? NULL : malloc(B * T * cout * sizeof(float));
    if (!y || rn_backend_create(&be, bk, &err) != RN_OK ||
        rn_trainer_create(&tr, net, be, &tc, (int)B, (int)T, &err) != RN_OK ||
        rn_trainer_set_data(tr, in.data, NULL, NULL, &err) != RN_OK ||
        rn_trainer_forward_record(tr, y, !strcmp(noise, "on"), req, record ? n - (stride > 1) : 0,
                                  &err) != RN_OK) {
        fprintf(stderr, "ratenn eval: %s\n", y ? err.message : "out of memory");
        if (arr) rn_arrays_free(arr, n);
        free(req);
        goto done;
    }
    size_t shape[3] = {B, T, cout};
    if (rn_npy_write(out, y, 3, shape, &err) != RN_OK ||
        (record && rn_npz_write(record, arr, n, &err) != RN_OK)) {
        fprintf(stderr, "ratenn eval: %s\n", err.message);
        if (arr) rn_arrays_free(arr, n);
        free(req);
        goto done;
    }
    if (arr) rn_arrays_free(arr, n);
    free(req);
    if (record && (rec_trials < B || stride > 1)) {
        char every[64] = "";
        if (stride > 1) snprintf(every, sizeof every, " at every %zu-th step", stride);
        fprintf(stderr,
                "ratenn eval: --record keeps trial 0 of %zu%s (--record-all keeps every trial and "
                "step)\n",
                B, every);
    }
    fprintf(stderr, "ratenn eval: %zu trial(s) of %zu steps on %s -> %s\n", B, T,
            rn_backend_description(be), out);
    rc = 0;
done:
    free(spec);
    free(y);
    rn_array_free(&in);
    rn_trainer_free(tr);
    rn_backend_free(be);
    rn_net_free(net);
    return rc;
}
