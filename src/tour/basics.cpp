// The sections of the notebook's tensor tour, each a small function that records the cells it would show.
#include "tour/basics_torch.hpp"

#include "core/errors.hpp"
#include "core/text.hpp"
#include "io/array_io.hpp"
#include "random/numpy_random.hpp"
#include "stages/torch_stage.hpp"

#include <filesystem>
#include <sstream>
#include <unistd.h> // getpid

namespace lmsref {

namespace {

/// Records the cells of a section: the code, and what printing the value shows.
class Notebook {
public:
    explicit Notebook(BasicsSection& section) : section_(section) {}

    template <typename Value> const Value& show(const std::string& code, const Value& value) {
        std::ostringstream printed;
        if constexpr (std::is_same_v<Value, bool>)
            printed << (value ? "true" : "false");
        else
            printed << value;
        section_.cells.push_back({code, printed.str()});
        return value;
    }
    /// A line of code that prints nothing.
    void run(const std::string& code) { section_.cells.push_back({code, ""}); }
    void keep(const std::string& name, const torch::Tensor& tensor) { section_.tensors[name] = tensor; }
    void fact(const std::string& name, const std::string& value) { section_.facts[name] = value; }

private:
    BasicsSection& section_;
};

std::string first_line(const std::string& text) {
    return text.substr(0, text.find('\n'));
}

void tensors(Notebook& nb, const BasicsOptions&) {
    torch::Tensor x = nb.show("torch::tensor({2, 3, 4})", torch::tensor({2, 3, 4}));
    nb.show("x.sizes()", x.sizes());
    nb.show("x.dtype()  // integers make int64 (long) tensors, as in Python", x.dtype());
    torch::Tensor row = torch::tensor({{2, 3, 4}});
    nb.show("torch::tensor({{2, 3, 4}}).sizes()", row.sizes());
    torch::Tensor floats = torch::tensor({{2., 3., 4.}});
    nb.show("torch::tensor({{2., 3., 4.}}).dtype()  // the default floating type", floats.dtype());
    nb.show("torch::get_default_dtype()", c10::get_default_dtype());
    nb.keep("x", x);
    nb.keep("row", row);
    nb.keep("floats", floats);
}

void factories(Notebook& nb, const BasicsOptions& o) {
    nb.keep("zeros", nb.show("torch::zeros({2, 3})", torch::zeros({2, 3})));
    nb.keep("ones", nb.show("torch::ones({3, 2})", torch::ones({3, 2})));
    nb.run("torch::manual_seed(" + std::to_string(o.seed) + ");  // rand and randn repeat for the same seed");
    torch::manual_seed(o.seed);
    nb.keep("rand", nb.show("torch::rand({2, 2})", torch::rand({2, 2})));
    nb.keep("randn", nb.show("torch::randn({3, 3})", torch::randn({3, 3})));
    nb.keep("eye", nb.show("torch::eye(3)", torch::eye(3)));
    nb.keep("linspace", nb.show("torch::linspace(0, 1, 10)", torch::linspace(0, 1, 10)));
    nb.keep("arange", nb.show("torch::arange(10)", torch::arange(10)));
}

void view_reshape(Notebook& nb, const BasicsOptions& o) {
    nb.run("torch::manual_seed(" + std::to_string(o.seed) + ");");
    torch::manual_seed(o.seed);
    torch::Tensor x = nb.show("torch::Tensor x = torch::rand({4, 3})", torch::rand({4, 3}));
    nb.keep("x", x.clone());
    torch::Tensor viewed = nb.show("torch::Tensor viewed = x.view({12, -1})", x.view({12, -1}));
    torch::Tensor reshaped = nb.show("torch::Tensor reshaped = x.reshape({12, -1})", x.reshape({12, -1}));
    nb.keep("viewed", viewed);
    nb.keep("reshaped", reshaped);

    // view shares x's storage: writing through it changes x
    nb.run("viewed[0][0] = 100;  // view shares x's memory...");
    viewed[0][0] = 100;
    nb.show("x[0][0].item<float>()  // ...so x changed too", x[0][0].item<float>());
    nb.keep("x_after_write", x);
    nb.fact("view_shares_storage", viewed.data_ptr() == x.data_ptr() ? "true" : "false");

    // a transpose is not contiguous: view refuses it, reshape copies
    torch::Tensor transposed = x.t();
    nb.show("x.t().is_contiguous()", transposed.is_contiguous());
    std::string error;
    try {
        transposed.view({12, -1});
    } catch (const c10::Error& e) {
        error = first_line(e.what_without_backtrace());
    }
    nb.show("x.t().view({12, -1})  // throws c10::Error", "error: " + error);
    nb.fact("view_error", error);
    torch::Tensor copied = nb.show("torch::Tensor copied = x.t().reshape({12, -1})", transposed.reshape({12, -1}));
    nb.show("copied.data_ptr() == x.data_ptr()  // reshape made a copy", copied.data_ptr() == x.data_ptr());
    nb.keep("transposed_reshaped", copied);
}

void operations(Notebook& nb, const BasicsOptions&) {
    torch::Tensor a = nb.show("torch::Tensor a = torch::tensor({-1.5, 0.0, 2.0})", torch::tensor({-1.5, 0.0, 2.0}));
    nb.keep("a", a);
    nb.keep("abs", nb.show("torch::abs(a)", torch::abs(a)));
    nb.keep("cos", nb.show("torch::cos(a)", torch::cos(a)));
    nb.keep("sum", nb.show("torch::sum(a)", torch::sum(a)));
    nb.keep("mean", nb.show("torch::mean(a)", torch::mean(a)));
    torch::Tensor A =
        nb.show("torch::Tensor A = torch::tensor({{1., 2.}, {3., 4.}})", torch::tensor({{1., 2.}, {3., 4.}}));
    nb.keep("A", A);
    nb.keep("matmul", nb.show("torch::matmul(A, A)  // or A.matmul(A), Python's A @ A", torch::matmul(A, A)));
    nb.keep("greater", nb.show("a > 0", a > 0));
    nb.keep("equal", nb.show("torch::eq(a, 0)", torch::eq(a, 0)));
    nb.show("torch::allclose(torch::matmul(A, torch::eye(2)), A)", torch::allclose(torch::matmul(A, torch::eye(2)), A));
}

void devices(Notebook& nb, const BasicsOptions& o) {
    torch::Tensor x = torch::tensor({1., 2., 3.});
    nb.run("torch::Tensor x = torch::tensor({1., 2., 3.});");
    nb.show("x.is_cuda()", x.is_cuda());
    const bool available = nb.show("torch::cuda::is_available()", torch::cuda::is_available());
    const Device chosen = torch_resolve_device(o.device); // --device cuda without CUDA stops here, with the reason
    const torch::Device device = chosen == Device::cuda ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
    nb.run(std::string("torch::Device device = torch::cuda::is_available() ? torch::kCUDA : torch::kCPU;  // ") +
           (available ? "a GPU is here" : "no GPU here: the CPU path") +
           (o.device == DeviceChoice::automatic ? "" : std::string(", --device ") + to_string(chosen)));
    nb.show("device", device);
    x = x.to(device);
    nb.show("x.to(device).is_cuda()", x.is_cuda());
    x = x.cpu();
    nb.show("x.cpu().is_cuda()", x.is_cuda());
    nb.show("x.dtype()", x.dtype());
    torch::Tensor y = x.to(torch::kFloat64);
    nb.show("x.to(torch::kFloat64).dtype()  // .to() casts as well as moves", y.dtype());
    nb.keep("x", x);
    nb.keep("y", y);
    nb.fact("device", to_string(chosen));
}

void conversion(Notebook& nb, const BasicsOptions& o) {
    const std::string seed = std::to_string(static_cast<std::uint32_t>(o.seed)); // NumPy's seeds have 32 bits
    nb.run("std::vector<double> x_np = lmsref::LegacyRandom(" + seed + ").randn(5);  // np.random.seed(" + seed +
           "); np.random.randn(5): the same float64 values");
    std::vector<double> x_np = LegacyRandom(static_cast<std::uint32_t>(o.seed)).randn(5);
    std::string values;
    for (double v : x_np) values += (values.empty() ? "[" : ", ") + format_number(v, "%.17g");
    nb.show("x_np", values + "]");

    // from_blob is torch.from_numpy: the tensor uses the vector's memory, as float64
    torch::Tensor shared = torch::from_blob(x_np.data(), {5}, torch::kFloat64);
    nb.run("torch::Tensor shared = torch::from_blob(x_np.data(), {5}, torch::kFloat64);  // torch.from_numpy");
    nb.show("shared.dtype()", shared.dtype());
    const double first = x_np[0];
    x_np[0] = 42.0;
    nb.show("shared[0].item<double>()  // after x_np[0] = 42: the memory is shared", shared[0].item<double>());
    nb.fact("shared_after_write", format_number(shared[0].item<double>()));
    x_np[0] = first;

    // torch::tensor copies and, like torch.Tensor(x_np), converts to the default float32
    torch::Tensor copied = torch::tensor(x_np);
    nb.show("torch::tensor(x_np).dtype()  // torch.Tensor(x_np): a copy in the default dtype", copied.dtype());
    const torch::Tensor exact = torch::from_blob(x_np.data(), {5}, torch::kFloat64).clone();
    const double lost = (copied.to(torch::kFloat64) - exact).abs().max().item<double>();
    nb.show("(torch::tensor(x_np).to(torch::kFloat64) - x_np).abs().max()  // float32 keeps ~7 digits",
            format_number(lost, "%.3e"));
    nb.keep("x_np", exact);
    nb.keep("copied", copied);
    nb.keep("shared", shared.clone());

    // a .npy file that NumPy opens (np.load), and back
    const std::string path =
        (std::filesystem::temp_directory_path() / ("lmsref-basics-" + std::to_string(::getpid()) + ".npy")).string();
    write_array(path, column(x_np), FileFormat::npy);
    const std::vector<double> back = read_signal(path);
    std::filesystem::remove(path);
    nb.run("lmsref::write_array(\"x.npy\", lmsref::column(x_np), lmsref::FileFormat::npy);  // np.load opens it");
    nb.show("lmsref::read_signal(\"x.npy\") == x_np", back == x_np);
    nb.fact("npy_round_trip", back == x_np ? "true" : "false");
}

void autograd(Notebook& nb, const BasicsOptions&) {
    torch::Tensor x0 = nb.show("torch::Tensor x0 = torch::tensor({1., 2., 3.}, torch::requires_grad())",
                               torch::tensor({1., 2., 3.}, torch::requires_grad()));
    torch::Tensor x1 = nb.show("torch::Tensor x1 = torch::tensor({4., 5., 6.}, torch::requires_grad())",
                               torch::tensor({4., 5., 6.}, torch::requires_grad()));
    torch::Tensor f = torch::sum(x0.pow(2) + x1);
    nb.run("torch::Tensor f = torch::sum(x0.pow(2) + x1);");
    nb.show("f.requires_grad()  // made from tensors that require grad", f.requires_grad());
    nb.show("x0.is_leaf()", x0.is_leaf());
    nb.show("x1.is_leaf()", x1.is_leaf());
    nb.show("f.is_leaf()", f.is_leaf());
    nb.show("x0.grad().defined()  // Python's x0.grad is None", x0.grad().defined());
    nb.show("x1.grad().defined()", x1.grad().defined());
    nb.fact("grads_defined_before_backward", x0.grad().defined() || x1.grad().defined() ? "true" : "false");
    nb.run("f.backward();");
    f.backward();
    nb.show("x0.grad()  // df/dx0 = 2 x0", x0.grad());
    nb.show("x1.grad()  // df/dx1 = 1", x1.grad());
    nb.keep("x0", x0);
    nb.keep("x1", x1);
    nb.keep("f", f);
    nb.keep("x0_grad", x0.grad());
    nb.keep("x1_grad", x1.grad());
}

struct SectionEntry {
    BasicsSectionInfo info;
    void (*run)(Notebook&, const BasicsOptions&);
};

const std::vector<SectionEntry>& section_table() {
    static const std::vector<SectionEntry> table{
        {{"tensors", "Tensors and basic operations"}, tensors},
        {{"factories", "Factories: zeros, ones, rand, randn, eye, linspace, arange"}, factories},
        {{"view-reshape", "view and reshape"}, view_reshape},
        {{"operations", "Operations"}, operations},
        {{"devices", "CPU and GPU"}, devices},
        {{"conversion", "From NumPy and back"}, conversion},
        {{"autograd", "Autograd"}, autograd},
    };
    return table;
}

std::vector<BasicsSectionInfo> tour_sections() {
    std::vector<BasicsSectionInfo> infos;
    for (const SectionEntry& entry : section_table()) infos.push_back(entry.info);
    return infos;
}

} // namespace

BasicsSection basics_section(const std::string& name, const BasicsOptions& options) {
    std::vector<std::string> known;
    for (const SectionEntry& entry : section_table()) {
        if (entry.info.name == name) {
            BasicsSection section{name, std::string(entry.info.title), {}, {}, {}};
            Notebook notebook(section);
            entry.run(notebook, options);
            return section;
        }
        known.emplace_back(entry.info.name);
    }
    throw InputError(Field{"section"}, "" + unknown_name("section", name, known));
}

namespace {

std::string tour_text(const std::string& name, const BasicsOptions& options) {
    std::string text;
    for (const SectionEntry& entry : section_table()) {
        if (!name.empty() && entry.info.name != name) continue;
        const BasicsSection section = basics_section(std::string(entry.info.name), options);
        text += "== " + section.title + " (--section " + section.name + ")\n\n";
        for (const BasicsCell& cell : section.cells) {
            text += ">>> " + cell.code + "\n";
            if (!cell.output.empty()) text += cell.output + (cell.output.back() == '\n' ? "" : "\n");
            text += "\n";
        }
    }
    if (text.empty()) basics_section(name, options); // throws, naming the sections
    return text;
}

} // namespace

} // namespace lmsref

/// The tour's entry in the LibTorch module (tour/tour.cpp finds it with torch_module_symbol).
extern "C" __attribute__((visibility("default"))) const lmsref::TourModule* lmsref_torch_tour() {
    static const lmsref::TourModule tour{lmsref::tour_sections, lmsref::tour_text};
    return &tour;
}
