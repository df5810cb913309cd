#include <cblas.h>
// glibc's malloc tuning (mallopt), which Swift's Glibc module leaves out; the
// engine sets it once so large activations are reused instead of re-faulted.
#include <malloc.h>
