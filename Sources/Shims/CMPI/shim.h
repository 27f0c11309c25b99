#pragma once
// Open MPI's C API (Debian: libopenmpi-dev, pkg-config ompi-c) for Sources/Distributed.
// Open MPI's handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, ...) are macros over the addresses of
// library globals, which Swift cannot import: these inline functions hand them over.
#include <mpi.h>
#include <stdlib.h>

static inline MPI_Comm fs_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype fs_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype fs_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype fs_mpi_long_long(void) { return MPI_LONG_LONG; }
static inline MPI_Op fs_mpi_sum(void) { return MPI_SUM; }
static inline MPI_Op fs_mpi_max(void) { return MPI_MAX; }
static inline int fs_mpi_success(void) { return MPI_SUCCESS; }
static inline int fs_mpi_thread_funneled(void) { return MPI_THREAD_FUNNELED; }
static inline MPI_Errhandler fs_mpi_errors_return(void) { return MPI_ERRORS_RETURN; }

/// Whether this process was started by an MPI launcher (mpirun/mpiexec, srun with PMIx): then
/// MPI_Init joins the job; otherwise the caller keeps a one-rank communicator and never initializes
/// MPI (a singleton MPI_Init of Open MPI would start helper daemons for nothing).
static inline int fs_mpi_launched(void) {
    return getenv("OMPI_COMM_WORLD_SIZE") != NULL || getenv("PMIX_RANK") != NULL || getenv("PMI_RANK") != NULL;
}
