// `lmsref basics`: every value and property the tensor tour claims, checked on the objects the tour prints.
// Random factories are checked against PyTorch's own draws for the same seed (data/reference/basics).
#include "core/errors.hpp"
#include "support.hpp"
#include "tour/basics_torch.hpp"

#include <catch2/catch.hpp>
#include <torch/cuda.h>

using namespace lmsref;
using namespace lmsref::test;

namespace {

BasicsSection section(const std::string& name) {
    return basics_section(name, BasicsOptions{});
}

std::vector<double> values_of(const at::Tensor& tensor) {
    const at::Tensor flat = tensor.detach().to(at::kCPU, at::kDouble).contiguous().view(-1);
    return {flat.data_ptr<double>(), flat.data_ptr<double>() + flat.numel()};
}

} // namespace

TEST_CASE("basics: tensors have the shapes and dtypes the tour shows", "[basics]") {
    const BasicsSection s = section("tensors");
    REQUIRE(s.tensors.at("x").sizes().vec() == std::vector<std::int64_t>{3});
    REQUIRE(s.tensors.at("x").scalar_type() == at::kLong);
    REQUIRE(values_of(s.tensors.at("x")) == std::vector<double>{2, 3, 4});
    REQUIRE(s.tensors.at("row").sizes().vec() == std::vector<std::int64_t>{1, 3});
    REQUIRE(s.tensors.at("floats").scalar_type() == at::kFloat); // the default floating type is float32
    REQUIRE(s.cells.front().code == "torch::tensor({2, 3, 4})");
    REQUIRE_THAT(s.cells.back().output, Catch::Equals("float"));
}

TEST_CASE("basics: factories give exact contents, and PyTorch's draws for the seed", "[basics]") {
    const BasicsSection s = section("factories");
    REQUIRE(s.tensors.at("zeros").sum().item<double>() == 0.0);
    REQUIRE(s.tensors.at("zeros").sizes().vec() == std::vector<std::int64_t>{2, 3});
    REQUIRE(values_of(s.tensors.at("ones")) == std::vector<double>(6, 1.0));
    REQUIRE(s.tensors.at("ones").sizes().vec() == std::vector<std::int64_t>{3, 2});
    const std::vector<double> eye = values_of(s.tensors.at("eye"));
    for (std::size_t i = 0; i < 3; ++i)
        for (std::size_t j = 0; j < 3; ++j) REQUIRE(eye[i * 3 + j] == (i == j ? 1.0 : 0.0));
    const std::vector<double> arange = values_of(s.tensors.at("arange"));
    for (std::size_t k = 0; k < 10; ++k) REQUIRE(arange[k] == static_cast<double>(k));
    REQUIRE(s.tensors.at("arange").scalar_type() == at::kLong);
    // float32 values from PyTorch, read as float64: equal means the same float32 bits.
    REQUIRE(values_of(s.tensors.at("linspace")) == reference_array("basics/linspace_0_1_10.npy").values);
    REQUIRE(values_of(s.tensors.at("rand")) == reference_array("basics/rand_2x2.npy").values);
    REQUIRE(values_of(s.tensors.at("randn")) == reference_array("basics/randn_3x3.npy").values);
    for (double v : values_of(s.tensors.at("rand"))) REQUIRE((v >= 0.0 && v < 1.0));
    // Another seed draws other numbers.
    BasicsOptions other;
    other.seed = 1;
    REQUIRE(values_of(basics_section("factories", other).tensors.at("rand")) != values_of(s.tensors.at("rand")));
}

TEST_CASE("basics: view shares storage, view refuses a transpose, reshape copies it", "[basics]") {
    const BasicsSection s = section("view-reshape");
    const std::vector<double> x = values_of(s.tensors.at("x"));
    REQUIRE(x == reference_array("basics/rand_4x3.npy").values);
    REQUIRE(s.tensors.at("viewed").sizes().vec() == std::vector<std::int64_t>{12, 1});
    REQUIRE(s.facts.at("view_shares_storage") == "true");
    REQUIRE(s.tensors.at("x_after_write")[0][0].item<float>() == 100.0f); // written through the view
    REQUIRE_THAT(s.facts.at("view_error"), Catch::Contains("view size is not compatible"));
    const at::Tensor copied = s.tensors.at("transposed_reshaped");
    REQUIRE(copied.data_ptr() != s.tensors.at("x_after_write").data_ptr());
    // The copy holds the transpose's values in row order: column after column of x.
    const std::vector<double> after = values_of(s.tensors.at("x_after_write"));
    const std::vector<double> got = values_of(copied);
    for (std::size_t c = 0; c < 3; ++c)
        for (std::size_t r = 0; r < 4; ++r) REQUIRE(got[c * 4 + r] == after[r * 3 + c]);
}

TEST_CASE("basics: element-wise operations, reductions, matrix product, comparisons", "[basics]") {
    const BasicsSection s = section("operations");
    const std::vector<double> a = values_of(s.tensors.at("a"));
    const std::vector<double> cos = values_of(s.tensors.at("cos"));
    const std::vector<double> abs = values_of(s.tensors.at("abs"));
    for (std::size_t k = 0; k < a.size(); ++k) {
        REQUIRE(abs[k] == std::abs(a[k]));
        // float32 cosine, vectorised in LibTorch: within two float32 ulps of the double-precision value
        REQUIRE(cos[k] == Approx(std::cos(a[k])).margin(2.5e-7));
    }
    REQUIRE(s.tensors.at("sum").item<double>() == a[0] + a[1] + a[2]);
    REQUIRE(s.tensors.at("mean").item<double>() == Approx((a[0] + a[1] + a[2]) / 3).epsilon(1e-7));
    const std::vector<double> A = values_of(s.tensors.at("A"));
    const std::vector<double> product = values_of(s.tensors.at("matmul"));
    for (std::size_t i = 0; i < 2; ++i)
        for (std::size_t j = 0; j < 2; ++j) REQUIRE(product[i * 2 + j] == A[i * 2] * A[j] + A[i * 2 + 1] * A[2 + j]);
    const std::vector<double> greater = values_of(s.tensors.at("greater"));
    const std::vector<double> equal = values_of(s.tensors.at("equal"));
    for (std::size_t k = 0; k < a.size(); ++k) {
        REQUIRE(greater[k] == (a[k] > 0 ? 1.0 : 0.0));
        REQUIRE(equal[k] == (a[k] == 0 ? 1.0 : 0.0));
    }
}

TEST_CASE("basics: devices and casting, and --device cuda without CUDA is a clear error", "[basics]") {
    const BasicsSection s = section("devices");
    REQUIRE(s.facts.at("device") == (torch::cuda::is_available() ? "cuda" : "cpu"));
    REQUIRE_FALSE(s.tensors.at("x").is_cuda()); // back on the CPU after .cpu()
    REQUIRE(s.tensors.at("x").scalar_type() == at::kFloat);
    REQUIRE(s.tensors.at("y").scalar_type() == at::kDouble);
    BasicsOptions cuda;
    cuda.device = DeviceChoice::cuda;
    if (torch::cuda::is_available()) {
        REQUIRE(basics_section("devices", cuda).facts.at("device") == "cuda");
    } else {
        REQUIRE_THROWS_AS(basics_section("devices", cuda), RuntimeFailure);
        REQUIRE_THROWS_WITH(basics_section("devices", cuda), Catch::Contains("CUDA is not available"));
    }
}

TEST_CASE("basics: from_blob shares and keeps float64, torch::tensor copies to float32", "[basics]") {
    const BasicsSection s = section("conversion");
    const std::vector<double> x_np = values_of(s.tensors.at("x_np"));
    require_same_bits(x_np, reference_array("basics/randn5_seed0.npy").values);
    REQUIRE(s.tensors.at("shared").scalar_type() == at::kDouble);
    REQUIRE(s.facts.at("shared_after_write") == "42");
    REQUIRE(s.tensors.at("copied").scalar_type() == at::kFloat);
    // torch.Tensor(x_np) in Python rounds to the same float32 values.
    REQUIRE(values_of(s.tensors.at("copied")) == reference_array("basics/randn5_seed0_as_float32.npy").values);
    REQUIRE(values_of(s.tensors.at("copied")) != x_np); // the precision the notebook warns about
    REQUIRE(s.facts.at("npy_round_trip") == "true");
}

TEST_CASE("basics: autograd's leaves and gradients", "[basics]") {
    const BasicsSection s = section("autograd");
    REQUIRE(s.facts.at("grads_defined_before_backward") == "false");
    REQUIRE(s.tensors.at("x0").is_leaf());
    REQUIRE(s.tensors.at("x1").is_leaf());
    REQUIRE_FALSE(s.tensors.at("f").is_leaf());
    REQUIRE(s.tensors.at("f").requires_grad());
    const std::vector<double> x0 = values_of(s.tensors.at("x0"));
    const std::vector<double> grad0 = values_of(s.tensors.at("x0_grad"));
    for (std::size_t k = 0; k < x0.size(); ++k) REQUIRE(grad0[k] == 2 * x0[k]);
    REQUIRE(values_of(s.tensors.at("x1_grad")) == std::vector<double>(3, 1.0));
    REQUIRE(s.tensors.at("f").item<double>() == 1 + 4 + 9 + 4 + 5 + 6);
}

TEST_CASE("basics: the tour text follows the notebook's order", "[basics]") {
    const std::string tour = basics_tour("", BasicsOptions{});
    std::size_t at = 0;
    for (const BasicsSectionInfo& info : basics_sections()) {
        const std::size_t found = tour.find("(--section " + std::string(info.name) + ")");
        REQUIRE(found != std::string::npos);
        REQUIRE(found >= at);
        at = found;
    }
    const std::string one = basics_tour("autograd", BasicsOptions{});
    REQUIRE_THAT(one, Catch::StartsWith("== Autograd") && !Catch::Contains("--section tensors"));
    REQUIRE_THROWS_AS(basics_tour("nope", BasicsOptions{}), InputError);
}
