#pragma once
// Process-wide allocator settings for the engine's allocation pattern.

namespace sluice {

// Batches are built in one thread and freed in another, and their column buffers are
// megabytes each. With glibc's defaults such buffers are mmap'd and unmapped on every batch,
// and the heap top is trimmed back to the kernel, so each new batch touches fresh zero pages
// (tens of thousands of minor faults a second). This keeps freed buffers in the heap for reuse.
// Call once, at start, before any thread is created.
void TuneAllocator();

}  // namespace sluice
