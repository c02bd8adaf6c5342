// corio's side of the echo benchmark: asyncio's streams echo server, as a user writes it.
// Serves 127.0.0.1:PORT until killed; each connection echoes whatever it reads.
//
//   corio_echo PORT [--count-allocs]
//
// --count-allocs: on SIGUSR1 (echo_load --signal-server sends it when its timed window
// opens) the allocation counter and the echo counters are snapshotted; on SIGUSR2 (the
// window closes) one JSON line goes to stdout with what happened in between:
//   {"allocs":..,"reads":..,"bytes":..,"allocs_per_read":..}
// The counter is a replaced global operator new (as in bench/corio_bench.cpp), linked in
// always: one plain increment per allocation. The signals are handled on the loop (uv_signal),
// so the counters are read between two steps, never in the middle of one. corio's frame
// pool does not call operator new once warm, so the figure counts what a message costs
// beyond pooled frames: the std::string each read() returns, and anything else.
#include <corio/backends/libuv.hpp>
#include <corio/corio.hpp>
#include <fmt/core.h>
#include <uv.h>

#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <new>
#include <string>

namespace {

std::uint64_t g_allocs = 0;  // operator new calls (the loop's thread does the counting that matters)
std::uint64_t g_reads = 0;   // read() calls that returned bytes, i.e. chunks echoed
std::uint64_t g_bytes = 0;

void* counted_alloc(std::size_t n, std::size_t align, bool nothrow) {
    if (n == 0) n = 1;
    void* p = align <= alignof(std::max_align_t) ? std::malloc(n)
                                                 : std::aligned_alloc(align, (n + align - 1) / align * align);
    if (!p) {
        if (nothrow) return nullptr;
        throw std::bad_alloc();
    }
    ++g_allocs;
    return p;
}

}  // namespace

void* operator new(std::size_t n) { return counted_alloc(n, 0, false); }
void* operator new[](std::size_t n) { return counted_alloc(n, 0, false); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return counted_alloc(n, 0, true); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return counted_alloc(n, 0, true); }
void* operator new(std::size_t n, std::align_val_t a) { return counted_alloc(n, static_cast<std::size_t>(a), false); }
void* operator new[](std::size_t n, std::align_val_t a) { return counted_alloc(n, static_cast<std::size_t>(a), false); }
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
    return counted_alloc(n, static_cast<std::size_t>(a), true);
}
void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
    return counted_alloc(n, static_cast<std::size_t>(a), true);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }

namespace {

corio::Coro<> handle_echo(corio::StreamReader reader, corio::StreamWriter writer) {
    try {
        for (;;) {
            std::string data = co_await reader.read(65536);
            if (data.empty()) break;
            ++g_reads;
            g_bytes += data.size();
            writer.write(data);
            co_await writer.drain();
        }
    } catch (const std::exception&) {
        // A reset by the peer ends the connection like an EOF (not a benchmark failure).
    }
    writer.close();
}

struct Snapshot {
    std::uint64_t allocs = 0, reads = 0, bytes = 0;
};
Snapshot g_start;

void on_signal(uv_signal_t*, int signum) {
    if (signum == SIGUSR1) {
        g_start = {g_allocs, g_reads, g_bytes};
        return;
    }
    const std::uint64_t allocs = g_allocs - g_start.allocs, reads = g_reads - g_start.reads,
                        bytes = g_bytes - g_start.bytes;
    fmt::print("{{\"allocs\":{},\"reads\":{},\"bytes\":{},\"allocs_per_read\":{:.4f}}}\n", allocs, reads, bytes,
               reads ? static_cast<double>(allocs) / static_cast<double>(reads) : 0.0);
    std::fflush(stdout);
}

corio::Coro<> serve(int port, bool count_allocs) {
    uv_signal_t usr1, usr2;
    if (count_allocs) {
        uv_loop_t* uv = corio::backends::uv_loop_of(corio::get_running_loop().backend());
        uv_signal_init(uv, &usr1);
        uv_signal_init(uv, &usr2);
        uv_signal_start(&usr1, on_signal, SIGUSR1);
        uv_signal_start(&usr2, on_signal, SIGUSR2);
        uv_unref(reinterpret_cast<uv_handle_t*>(&usr1));
        uv_unref(reinterpret_cast<uv_handle_t*>(&usr2));
    }
    corio::Server server = co_await corio::start_server(handle_echo, "127.0.0.1", port);
    fmt::print("corio_echo: serving on {}\n", corio::format_address(server.sockets().at(0)));
    std::fflush(stdout);
    co_await server.serve_forever();  // until killed
}

}  // namespace

int main(int argc, char** argv) {
    int port = 0;
    bool count_allocs = false;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--count-allocs") == 0)
            count_allocs = true;
        else
            port = std::atoi(argv[i]);
    }
    if (port <= 0) {
        std::fprintf(stderr, "usage: corio_echo PORT [--count-allocs]\n");
        return 2;
    }
    std::signal(SIGPIPE, SIG_IGN);
    corio::run(serve(port, count_allocs));
}
