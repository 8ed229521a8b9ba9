// .npy and CSV: lmsref's files against NumPy's own, round trips, and the inputs the readers must refuse.
#include "core/errors.hpp"
#include "io/csv.hpp"
#include "io/files.hpp"
#include "io/npy.hpp"
#include "support.hpp"

#include <catch2/catch.hpp>

using namespace lmsref;
using namespace lmsref::test;

TEST_CASE("encode_npy writes the bytes NumPy writes", "[io]") {
    // np.save of an N x 1 and an (N+1) x M float64 array, from the reference data.
    for (const std::string relative : {"default/x.npy", "odd/numpy/w.npy", "io/float64_3x2.npy"}) {
        CAPTURE(relative);
        const std::string bytes = file_bytes(reference_path(relative));
        REQUIRE(encode_npy(decode_npy(bytes, relative)) == bytes);
    }
    const std::string vector_bytes = file_bytes(reference_path("io/vector_5.npy"));
    REQUIRE(encode_npy(decode_npy(vector_bytes, "vector"), /*as_vector=*/true) == vector_bytes);
}

TEST_CASE("decode_npy reads float32, integers and Fortran order as float64", "[io]") {
    const Array2D expected = reference_array("io/float64_3x2.npy");
    const Array2D fortran = reference_array("io/fortran_3x2.npy");
    REQUIRE(fortran.rows == 3);
    REQUIRE(fortran.cols == 2);
    REQUIRE(fortran.values == expected.values);
    REQUIRE(reference_array("io/float32_3x2.npy").values == reference_array("io/float32_3x2_as_float64.npy").values);
    for (const std::string dtype : {"int8", "uint8", "int16", "int32", "int64", "uint32"}) {
        CAPTURE(dtype);
        const Array2D converted = reference_array("io/" + dtype + ".npy");
        REQUIRE(converted.values == reference_array("io/" + dtype + "_as_float64.npy").values);
        REQUIRE(converted.cols == 1);
        // The source dtype is noted beside the array; read_signal turns it into the note the CLI prints.
        const std::string path = reference_path("io/" + dtype + ".npy");
        std::string converted_from;
        decode_npy(file_bytes(path), dtype, &converted_from);
        REQUIRE(converted_from == dtype);
        std::string note;
        REQUIRE(read_signal(path, &note) == converted.values);
        REQUIRE(note == path + " holds " + dtype + " values; lmsref read them as float64");
    }
    std::string converted_from;
    decode_npy(file_bytes(reference_path("io/float32_3x2.npy")), "float32", &converted_from);
    REQUIRE(converted_from == "float32");
    converted_from.clear();
    decode_npy(file_bytes(reference_path("io/float64_3x2.npy")), "float64", &converted_from);
    REQUIRE(converted_from.empty());
    std::string note;
    read_signal(reference_path("default/x.npy"), &note);
    REQUIRE(note.empty());
    const Array2D scalar = reference_array("io/scalar.npy");
    REQUIRE(scalar.rows == 1);
    REQUIRE(scalar.cols == 1);
    REQUIRE(read_signal(reference_path("io/vector_5.npy")).size() == 5);
}

TEST_CASE("decode_npy refuses what it cannot read, naming the file and the problem", "[io]") {
    REQUIRE_THROWS_WITH(read_array(reference_path("io/bad_3d.npy")), Catch::Contains("3 dimensions"));
    REQUIRE_THROWS_WITH(read_array(reference_path("io/bad_big_endian.npy")), Catch::Contains("big-endian"));
    REQUIRE_THROWS_WITH(read_array(reference_path("io/bad_complex.npy")), Catch::Contains("unsupported dtype '<c16'"));
    REQUIRE_THROWS_WITH(read_array(reference_path("io/bad_bool.npy")), Catch::Contains("unsupported dtype '|b1'"));

    const std::string good = file_bytes(reference_path("default/x.npy"));
    REQUIRE_THROWS_WITH(decode_npy(good.substr(0, good.size() - 3), "cut.npy"),
                        Catch::StartsWith("cut.npy: truncated: the header promises 500 values"));
    REQUIRE_THROWS_WITH(decode_npy(good.substr(0, 40), "cut.npy"), Catch::Contains("truncated .npy header"));
    REQUIRE_THROWS_WITH(decode_npy("just text", "text.npy"), Catch::Contains("not a .npy file"));
    REQUIRE_THROWS_WITH(decode_npy("", "empty.npy"), Catch::Contains("empty"));
    REQUIRE_THROWS_WITH(decode_npy(good + "xx", "long.npy"), Catch::Contains("2 bytes follow the data"));
    std::string no_shape = good;
    no_shape.replace(no_shape.find("'shape'"), 7, "'shope'");
    REQUIRE_THROWS_WITH(decode_npy(no_shape, "h.npy"), Catch::Contains("no 'shape' entry"));

    REQUIRE_THROWS_WITH(read_signal(reference_path("io/float64_3x2.npy")), Catch::Contains("shape (3, 2)"));
    REQUIRE_THROWS_WITH(read_array("/nonexistent/x.npy"), Catch::Contains("cannot open"));
    REQUIRE_THROWS_WITH(read_array(reference_path("manifest.json")), Catch::Contains("unknown file type '.json'"));
    REQUIRE_THROWS_AS(read_array("/nonexistent/x.npy"), InputError);
}

TEST_CASE("CSV round trips every double exactly", "[io]") {
    const Array2D w = reference_array("odd/linear/w.npy");
    const Array2D back = decode_csv(encode_csv(w), "w.csv");
    REQUIRE(back.rows == w.rows);
    REQUIRE(back.cols == w.cols);
    require_same_bits(back.values, w.values);
}

TEST_CASE("the CSV reader names the line of a bad value, a header or a ragged row", "[io]") {
    REQUIRE_THROWS_WITH(decode_csv("x\n1\n2\n", "h.csv"),
                        Catch::Contains("line 1, column 1: 'x' is not a number") && Catch::Contains("no header line"));
    REQUIRE_THROWS_WITH(decode_csv("1\n2\nabc\n", "b.csv"), Catch::Contains("b.csv: line 3, column 1: 'abc'"));
    REQUIRE_THROWS_WITH(decode_csv("1,2\n3\n", "r.csv"), Catch::Contains("line 2 has 1 values but line 1 has 2"));
    REQUIRE_THROWS_WITH(decode_csv("1,\n", "t.csv"), Catch::Contains("line 1, column 2: ''"));
    REQUIRE_THROWS_WITH(decode_csv("\n\n", "e.csv"), Catch::Contains("holds no numbers"));
    const Array2D crlf = decode_csv("1.5\r\n-2\r\n", "crlf.csv");
    REQUIRE(crlf.values == std::vector<double>{1.5, -2.0});
}

TEST_CASE("read_signal refuses NaN and Inf, and files are written atomically", "[io]") {
    TemporaryDir dir;
    write_file_atomically(dir / "nan.csv", "1\nnan\n3\n");
    REQUIRE_THROWS_WITH(read_signal(dir / "nan.csv"), Catch::Contains("sample 1 is nan"));
    write_file_atomically(dir / "empty.npy", "");
    REQUIRE_THROWS_WITH(read_signal(dir / "empty.npy"), Catch::Contains("empty"));

    const Array2D w = reference_array("small/numpy/w.npy");
    write_array(dir / "w.npy", w, FileFormat::npy);
    write_array(dir / "w.csv", w, FileFormat::csv);
    REQUIRE(read_array(dir / "w.npy").values == w.values);
    REQUIRE(read_array(dir / "w.csv").values == w.values);
    REQUIRE(files_in(dir.path()) == 4); // nan.csv, empty.npy, w.npy, w.csv: no temporary file left behind

    REQUIRE_THROWS_AS(write_array("/nonexistent-folder/w.npy", w, FileFormat::npy), RuntimeFailure);
    REQUIRE_THROWS_AS(prepare_output_dir("/proc/lmsref"), RuntimeFailure);
}
