#pragma once
// strata-sim's global operator new and delete (sim_operator_new.cpp): size-class free lists for
// blocks up to 1 KiB, malloc for the rest. Linked into strata-sim and its own tests only, never
// into a library: linking it is what replaces the allocator. Unlike flow/detail/fast_alloc.h and
// flow/huge_page_heap.h, which serve chosen objects and are told each block's size when it is
// freed, this serves every allocation of the program, and operator delete is often not told the
// size: a block's size class is found from its address.

namespace workloads {

// Whether the replacement serves small blocks: it is in this build (it is left out under
// sanitizers) and could reserve its region (it cannot under a tight RLIMIT_AS, for one).
bool sim_operator_new_active();
// Whether `p` is a small block of the replacement (for tests).
bool sim_small_block(const void* p);

}  // namespace workloads
