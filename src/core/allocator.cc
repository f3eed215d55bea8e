#include "core/allocator.h"

#include <malloc.h>

namespace sluice {

void TuneAllocator() {
  // Allocations up to 64 MiB come from the heap (fixing the threshold also turns off glibc's
  // dynamic adjustment), and up to 512 MiB of free heap stays mapped for the next batch.
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
}

}  // namespace sluice
