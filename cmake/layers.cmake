# The layers of src/ and what each may use: the one table that CMakeLists.txt links by (lmsref_layer) and that the
# test "layers: ..." (cmake/check_layers.cmake) checks every #include "folder/..." of src/ against. A layer uses
# only layers listed before it. docs/architecture.md explains the table.
set(lmsref_layers core random io lms stages tour ensemble report plot)
set(lmsref_layer_uses_core "")
set(lmsref_layer_uses_random core)
set(lmsref_layer_uses_io core)
set(lmsref_layer_uses_lms core random io)
set(lmsref_layer_uses_stages core random io lms)
set(lmsref_layer_uses_tour core random io lms stages)
set(lmsref_layer_uses_ensemble core random lms stages)
set(lmsref_layer_uses_report core random io lms stages ensemble)
set(lmsref_layer_uses_plot core random io lms stages ensemble)
