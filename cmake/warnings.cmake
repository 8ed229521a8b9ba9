# The warnings of every target of ours (through lmsref_options): GCC's and clang's -Wall -Wextra, and the ones that
# catch the mistakes of numeric code: a narrowing conversion, a shadowed name, a C-style cast, a class with virtual
# functions and a non-virtual destructor. LMSREF_WARNINGS_AS_ERRORS=ON (CI: scripts/common.sh sets it when CI is set)
# turns them into errors. Third-party headers (LibTorch, CLI11, Catch2) come in as system headers: not ours to warn.
option(LMSREF_WARNINGS_AS_ERRORS "Treat the compiler's warnings as errors" OFF)
target_compile_options(lmsref_options INTERFACE -Wall -Wextra -Wshadow -Wconversion -Wold-style-cast
                                                -Wnon-virtual-dtor $<$<BOOL:${LMSREF_WARNINGS_AS_ERRORS}>:-Werror>)
