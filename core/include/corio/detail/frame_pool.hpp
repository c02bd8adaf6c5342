// A per-thread pool for the two allocations of every task: coroutine frames and task
// objects. Size classes of 8 bytes carved from 64 KiB slabs, freed blocks kept on per-class
// free lists: no malloc header per block and no malloc call on the spawn path.
#pragma once

#include <cstddef>

namespace corio::detail {

// Blocks up to this size come from the pool; larger ones from ::operator new.
inline constexpr std::size_t kPoolMaxBlock = 1024;

// Frames and tasks are kept apart, each kind carved from its own slabs: a million tasks
// then lie side by side, and gather's passes over its children touch half the cache lines
// they would if every task sat between two frames (spawn measured ~125 -> ~78 ns).
enum class BlockKind : unsigned char { frame, task };

// `size` must be a multiple of the alignment the caller needs (8 or 16): blocks of a class
// whose size is a multiple of 16 are 16-aligned.
void* pool_allocate(std::size_t size, BlockKind kind);
void pool_deallocate(void* p, std::size_t size, BlockKind kind) noexcept;
// Bytes handed out minus bytes given back on this thread (for benchmarks: what a million
// suspended tasks hold, which RSS cannot show once the pool reuses warm slabs).
long long pool_bytes_in_use() noexcept;

// Coroutine frames need operator new's alignment (16 on 64-bit targets): round up to it.
inline std::size_t frame_block_size(std::size_t n) noexcept {
    constexpr std::size_t a = __STDCPP_DEFAULT_NEW_ALIGNMENT__;
    return (n + a - 1) & ~(a - 1);
}

}  // namespace corio::detail
