// The per-thread block pool behind coroutine frames and tasks. A block freed on another
// thread simply joins that thread's free list (frames can move between threads only before
// they start, or be destroyed by an unawaited Coro anywhere). Slabs are never returned to
// the system: like asyncio's free lists, the pool keeps what a burst of tasks needed.
// Under AddressSanitizer the pool steps aside so that use-after-free stays detectable.
#include "corio/detail/frame_pool.hpp"

#include <cstdint>
#include <mutex>
#include <new>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#define CORIO_POOL_DISABLED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#define CORIO_POOL_DISABLED 1
#endif
#endif

namespace corio::detail {

#ifdef CORIO_POOL_DISABLED

thread_local long long t_in_use = 0;
void* pool_allocate(std::size_t size, BlockKind) {
    void* p = ::operator new(size);
    t_in_use += static_cast<long long>(size);
    return p;
}
void pool_deallocate(void* p, std::size_t size, BlockKind) noexcept {
    if (!p) return;
    t_in_use -= static_cast<long long>(size);
    ::operator delete(p);
}
long long pool_bytes_in_use() noexcept { return t_in_use; }

#else

namespace {

constexpr std::size_t kGranule = 8;
constexpr std::size_t kClasses = kPoolMaxBlock / kGranule + 1;
constexpr std::size_t kSlabBytes = 64 * 1024;

struct FreeBlock {
    FreeBlock* next;
};

struct Arena {
    FreeBlock* free[kClasses];
    char* cursor;  // the unused rest of the current slab
    char* limit;
};

struct ThreadPool {
    Arena arenas[2];  // by BlockKind
    long long in_use;
};

#if defined(__ELF__) && !defined(__EMSCRIPTEN__)
#define CORIO_TLS_MODEL __attribute__((tls_model("initial-exec")))
#else
#define CORIO_TLS_MODEL
#endif
// Only a pointer is thread-local: initial-exec TLS is one instruction to reach, but its
// space is limited when the library is loaded with dlopen (a plugin, a Python module), so
// the 2 KB pool itself lives on the heap. A plain pointer needs no guard on access either.
thread_local ThreadPool* t_pool_ptr CORIO_TLS_MODEL = nullptr;

// Every slab and pool stays reachable from here: blocks migrate between threads, so a slab
// can never be known to be unused, and leak checkers see reachable memory.
std::mutex g_slabs_mutex;
std::vector<void*>* g_slabs = nullptr;

void keep(void* p) {
    std::lock_guard lock(g_slabs_mutex);
    if (!g_slabs) g_slabs = new std::vector<void*>;
    g_slabs->push_back(p);
}

[[gnu::noinline]] ThreadPool& make_pool() {
    auto* tp = new ThreadPool{};
    keep(tp);
    t_pool_ptr = tp;
    return *tp;
}

inline ThreadPool& this_pool() {
    ThreadPool* tp = t_pool_ptr;
    if (!tp) [[unlikely]]
        return make_pool();
    return *tp;
}

[[gnu::noinline]] void* carve(Arena& arena, std::size_t size) {
    if (static_cast<std::size_t>(arena.limit - arena.cursor) < size) {
        // The tail of the old slab (smaller than one block of this class) is given up.
        auto* slab = static_cast<char*>(::operator new(kSlabBytes));
        keep(slab);
        arena.cursor = slab;
        arena.limit = slab + kSlabBytes;
    }
    void* p = arena.cursor;
    arena.cursor += size;
    return p;
}

}  // namespace

void* pool_allocate(std::size_t size, BlockKind kind) {
    size = (size + kGranule - 1) & ~(kGranule - 1);
    ThreadPool& tp = this_pool();
    tp.in_use += static_cast<long long>(size);
    Arena& arena = tp.arenas[static_cast<unsigned>(kind)];
    if (size > kPoolMaxBlock) [[unlikely]]
        return ::operator new(size);
    // 16-byte multiples must stay 16-aligned: carve them only at 16-aligned offsets.
    FreeBlock*& head = arena.free[size / kGranule];
    if (FreeBlock* b = head) [[likely]] {
        head = b->next;
        // The next block of this class is handed out soon (a burst of create_task): start
        // bringing it in now, or reading its link stalls that allocation on a cache miss.
        __builtin_prefetch(head, 1);
        return b;
    }
    if (size % 16 == 0 && reinterpret_cast<std::uintptr_t>(arena.cursor) % 16 != 0) {
        // Keep the 8-byte remnant on the 8-byte class's list rather than losing it.
        if (arena.limit - arena.cursor >= static_cast<std::ptrdiff_t>(kGranule)) {
            auto* rest = reinterpret_cast<FreeBlock*>(arena.cursor);
            rest->next = arena.free[1];
            arena.free[1] = rest;
            arena.cursor += kGranule;
        }
    }
    return carve(arena, size);
}

void pool_deallocate(void* p, std::size_t size, BlockKind kind) noexcept {
    if (!p) return;
    size = (size + kGranule - 1) & ~(kGranule - 1);
    // A block freed on a thread that never allocated one founds that thread's pool (only
    // running out of memory for its 2 KB then terminates).
    ThreadPool& tp = this_pool();
    tp.in_use -= static_cast<long long>(size);
    Arena& arena = tp.arenas[static_cast<unsigned>(kind)];
    if (size > kPoolMaxBlock) [[unlikely]] {
        ::operator delete(p);
        return;
    }
    auto* b = static_cast<FreeBlock*>(p);
    FreeBlock*& head = arena.free[size / kGranule];
    b->next = head;
    head = b;
}

long long pool_bytes_in_use() noexcept { return t_pool_ptr ? t_pool_ptr->in_use : 0; }

#endif

}  // namespace corio::detail
