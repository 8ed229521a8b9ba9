// lmsref bench: every stage timed.
#include "apps/lmsref/command.hpp"

#include "core/errors.hpp"
#include "core/text.hpp"
#include "io/files.hpp"
#include "lms/family.hpp"
#include "lms/torch_module.hpp"
#include "report/bench.hpp"
#include "report/report.hpp"
#include "stages/libtorch.hpp"
#include "stages/registry.hpp"

#include <iostream>

namespace lmsref::cli {

int run_bench(const Options& o) {
    const Scenario scenario = scenario_from(o);
    const Device device = resolve_device(parse_device_choice(o.device));
    if (o.given("--family")) {
        if (o.given("--device"))
            throw InputError("--device: the family's LibTorch programs run on the CPU; leave --device out");
        if (o.given("--stages"))
            throw InputError("--family: it times the family's members instead of the stages; give one of --family "
                             "and --stages");
        std::vector<const FamilyMember*> members;
        try {
            members = parse_members(o.bench_family);
        } catch (const InputError& error) {
            throw InputError("--family: " + error.detail());
        }
        const FamilyOptions family = family_options(o, members);
        torch_module(); // a missing LibTorch module is said before any work
        const auto repeats = static_cast<int>(
            parse_count("--repeats", o.repeats, std::numeric_limits<int>::max(), " (timed runs per member)"));
        check_repeats(repeats);
        OutputSet outputs(is_output_name);
        const std::string json = staged_file(outputs, o.json, "--json");
        const Data data = load_data(scenario);
        const FamilyBench bench = bench_family(members, data, scenario, family, repeats);
        std::cout << family_bench_report(bench, scenario, data) << std::flush;
        if (!json.empty())
            outputs.write([&] { write_file_atomically(json, family_bench_json(bench, scenario, data)); });
        publish(outputs, json.empty() ? "" : "wrote " + o.json + "\n");
        return 0;
    }
    if (o.given("--stages") && trim(o.bench_stages).empty())
        throw InputError("--stages: the list is empty; name stages, e.g. --stages numpy,sgd (leave the option out for "
                         "all)");
    const std::vector<const Stage*> selected = select_stages(o.bench_stages);
    if (std::any_of(selected.begin(), selected.end(), [](const Stage* stage) { return stage->uses_torch; }))
        torch_module(); // a missing LibTorch module is said before any work
    const auto repeats = static_cast<int>(
        parse_count("--repeats", o.repeats, std::numeric_limits<int>::max(), " (timed runs per stage)"));
    check_repeats(repeats);
    OutputSet outputs(is_output_name);
    const std::string json = staged_file(outputs, o.json, "--json");
    const Data data = load_data(scenario);
    warn_about_step_size(scenario, data);
    const BenchResult result = bench_stages(selected, data, scenario, device, repeats);
    std::cout << bench_report(result, scenario, data, device) << std::flush;
    if (!json.empty()) outputs.write([&] { write_file_atomically(json, bench_json(result, scenario, data, device)); });
    publish(outputs, json.empty() ? "" : "wrote " + o.json + "\n");
    return 0;
}

} // namespace lmsref::cli
