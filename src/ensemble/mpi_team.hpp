// MPI for `lmsref ensemble`: when mpirun started this process, its ranks share the realizations
// (src/ensemble/team.hpp). Open MPI from Debian (libopenmpi-dev, openmpi-bin), found at configure
// (LMSREF_MPI=auto|on|off). Without it, a process that mpirun started among others says so instead of running the whole
// ensemble K times over.
#pragma once

#include "ensemble/team.hpp"

#include <memory>

namespace lmsref {

/// The rank and the number of processes of the launch this process belongs to, from the launcher's environment
/// (Open MPI's OMPI_COMM_WORLD_RANK and _SIZE, or PMI_RANK and PMI_SIZE): 0 and 1 when no launcher started it.
int launched_rank();
int launched_size();

/// Under Open MPI's mpirun on this host, rank 0's standard output goes to mpirun (through a terminal of its own),
/// which writes it to its own standard output: a failure there never reaches rank 0's writes. Why mpirun's standard
/// output cannot take what rank 0 prints (closed, a pipe with no reader, /dev/full), or "" when it can, as far as
/// can be seen, or when this process is not such a rank. Reads /proc/<mpirun>/fdinfo/1; writes nothing.
std::string launcher_output_failure();

/// Whether this build has MPI (LMSREF_MPI=auto found it, or on).
bool mpi_built();

/// The team of the processes mpirun started, MPI initialised for the life of the returned object and finalised
/// with it; null when no launcher started this process. Throws InputError when mpirun started it among others but
/// this build has no MPI.
std::unique_ptr<Team> join_launched_team();

} // namespace lmsref
