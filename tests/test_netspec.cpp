// The --net layer spec (text and JSON): what it builds, and the messages of bad specs.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "ratenn/net.h"

namespace {

std::string build_error(const char *spec) {
    rn_net *net = nullptr;
    rn_error err = {};
    rn_status st = rn_net_from_spec(&net, spec, 1e-3f, 0, &err);
    EXPECT_NE(st, RN_OK) << spec;
    EXPECT_EQ(net, nullptr);
    rn_net_free(net);
    return err.message;
}

TEST(NetSpec, BuildsTheIssueExample) {
    rn_net *net = nullptr;
    rn_error err = {};
    ASSERT_EQ(rn_net_from_spec(
                  &net, "linear(1,50) rate(50,tanh,rec,noise=0.1) linear(50,1) lowpass(1,tau=0.02)",
                  1e-3f, 0, &err),
              RN_OK)
        << err.message;
    ASSERT_EQ(rn_net_layer_count(net), 4);
    EXPECT_EQ(rn_net_layer_kind(net, 1), RN_LAYER_RATE);
    EXPECT_EQ(rn_net_layer_kind(net, 3), RN_LAYER_LOWPASS);
    rn_rate_options o;
    ASSERT_EQ(rn_net_rate_options(net, 1, &o, &err), RN_OK);
    EXPECT_EQ(o.n, 50);
    EXPECT_TRUE(o.recurrent);
    EXPECT_FLOAT_EQ(o.noise_std, 0.1f);
    float tau = NAN;
    ASSERT_EQ(rn_net_get_param(net, "3_lowpass.tau", &tau, 1, &err), RN_OK);
    EXPECT_FLOAT_EQ(tau, 0.02f);
    EXPECT_GE(rn_net_param_index(net, "3_lowpass.initial_level"), 0);
    rn_net_free(net);
}

TEST(NetSpec, StackedRateLayersAndAllFilters) {
    rn_net *net = nullptr;
    rn_error err = {};
    ASSERT_EQ(
        rn_net_from_spec(
            &net,
            "linear(2, 8, bias=false) rate(8, relu, ff, tau=0.05) rate(8, sigmoid) linear(8,3) "
            "alpha(3, tau=0.01) doubleexp(3, tau1=0.05, tau2=0.03)",
            1e-3f, 0, &err),
        RN_OK)
        << err.message;
    EXPECT_EQ(rn_net_layer_count(net), 6);
    EXPECT_EQ(rn_net_param_index(net, "0_linear.bias"), -1);
    EXPECT_EQ(rn_net_param_index(net, "1_rate.w_rec"), -1);
    EXPECT_GE(rn_net_param_index(net, "2_rate.w_rec"), 0);
    float t[3] = {NAN, NAN, NAN};
    ASSERT_EQ(rn_net_get_param(net, "5_doubleexp.tau2", t, 3, &err), RN_OK);
    EXPECT_FLOAT_EQ(t[2], 0.03f);
    ASSERT_EQ(rn_net_get_param(net, "1_rate.tau", t, 3, &err), RN_ERR_SHAPE);
    rn_net_free(net);
}

TEST(NetSpec, JsonForm) {
    rn_net *net = nullptr;
    rn_error err = {};
    const char *doc = R"({"layers": [{"type": "linear", "in": 1, "out": 4},
                                     {"type": "rate", "n": 4, "activation": "lrelu", "recurrent": false, "noise": 0.2},
                                     {"type": "linear", "in": 4, "out": 1},
                                     {"type": "doubleexp", "channels": 1, "tau1": 0.05, "tau2": 0.03}]})";
    ASSERT_EQ(rn_net_from_json(&net, doc, 1e-3f, 0, &err), RN_OK) << err.message;
    EXPECT_EQ(rn_net_layer_count(net), 4);
    rn_rate_options o;
    ASSERT_EQ(rn_net_rate_options(net, 1, &o, &err), RN_OK) << err.message;
    EXPECT_EQ(o.activation, RN_ACT_LRELU);
    EXPECT_FALSE(o.recurrent);
    rn_net_free(net);
    EXPECT_EQ(rn_net_from_json(&net, "{\"layers\": [", 1e-3f, 0, &err), RN_ERR_FORMAT);
    EXPECT_EQ(rn_net_from_json(&net, "{\"layers\": [{\"in\": 3}]}", 1e-3f, 0, &err),
              RN_ERR_INVALID_ARG);
    EXPECT_NE(std::string(err.message).find("type"), std::string::npos);
}

TEST(NetSpec, BadSpecsNameTheLayerAndTheProblem) {
    std::string m = build_error("linear(1,50) rate(40,tanh) linear(40,1)");
    EXPECT_NE(m.find("layer 1 (rate)"), std::string::npos) << m;
    EXPECT_NE(m.find("layer 0 (linear)"), std::string::npos) << m;
    m = build_error("linear(1,5) rate(5,tanh,rek)");
    EXPECT_NE(m.find("rek"), std::string::npos) << m;
    m = build_error("linear(1,5) sprinkle(5)");
    EXPECT_NE(m.find("sprinkle"), std::string::npos) << m;
    m = build_error("linear(1,5) lowpass(5)");
    EXPECT_NE(m.find("tau"), std::string::npos) << m;
    m = build_error("linear(1,5) lowpass(5, tau=-1)");
    EXPECT_NE(m.find("> 0"), std::string::npos) << m;
    m = build_error("linear(1,five)");
    EXPECT_NE(m.find("five"), std::string::npos) << m;
    m = build_error("linear(1,5");
    EXPECT_NE(m.find("expected"), std::string::npos) << m;
    m = build_error("   ");
    EXPECT_NE(m.find("no layers"), std::string::npos) << m;
    m = build_error("rate(5, noise=abc)");
    EXPECT_NE(m.find("noise"), std::string::npos) << m;
}

// Found by fuzz_netspec: a JSON size beyond int was converted with undefined behaviour.
TEST(NetSpec, JsonSizesOutOfRangeAreRefused) {
    for (const char *n : {"1e300", "-3", "2.5", "2147483648"}) {
        std::string json =
            std::string(
                R"({"layers": [{"type": "linear", "in": 1, "out": 5}, {"type": "rate", "n": )") +
            n + "}]}";
        rn_net *net = nullptr;
        rn_error err = {};
        EXPECT_NE(rn_net_from_json(&net, json.c_str(), 1e-3f, 0, &err), RN_OK) << n;
        EXPECT_EQ(net, nullptr);
        EXPECT_NE(std::string(err.message).find("\"n\" must be a whole number"), std::string::npos)
            << err.message;
    }
}

} // namespace
