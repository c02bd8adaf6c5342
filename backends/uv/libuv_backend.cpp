// libuv backend: one uv_timer for the loop's next deadline, one uv_async for wake-ups.
// The core keeps its own timer heap; libuv only has to sleep until the earliest deadline.
// Sockets and DNS (its network capability) are in tcp.cpp and dns.cpp.
#include "libuv_backend.hpp"

#include <fmt/format.h>

#include <csignal>
#include <cstring>

#include "corio/backends/libuv.hpp"
#include "corio/detail/timer_heap.hpp"
#include "corio/errors.hpp"
#include "corio/event_loop.hpp"
#include "corio/os_error.hpp"
#include "corio/run.hpp"

namespace corio::backends {

namespace uv {

namespace {
void check(int rc, const char* what) {
    if (rc < 0) throw RuntimeError(fmt::format("libuv: {} failed: {}", what, uv_strerror(rc)));
}
}  // namespace

LibuvBackend::LibuvBackend(uv_loop_t* external) : uv_(external), owned_(external == nullptr) {}

LibuvBackend::~LibuvBackend() {
    close();
    if (owned_ && uv_) {
        uv_loop_close(uv_);
        delete uv_;
    }
}

void LibuvBackend::open(EventLoop& loop) {
    if (open_) throw RuntimeError("this libuv backend is already in use by another event loop");
    if (!uv_) {
        uv_ = new uv_loop_t;
        if (int rc = uv_loop_init(uv_); rc < 0) {
            delete uv_;
            uv_ = nullptr;
            check(rc, "uv_loop_init");
        }
    }
    // Handles live on the heap until their close callbacks ran (libuv's rule).
    timer_ = new uv_timer_t;
    async_ = new uv_async_t;
    check(uv_timer_init(uv_, timer_), "uv_timer_init");
    check(uv_async_init(uv_, async_, [](uv_async_t*) {}), "uv_async_init");
    loop_ = &loop;
    open_ = true;
}

void LibuvBackend::close() noexcept {
    if (!open_) return;
    open_ = false;
    // Sockets and requests still open (streams kept past the loop, a lookup in flight) are
    // closed first; their close callbacks run below, before the loop goes.
    while (UvResource* r = resources_) {
        remove_resource(*r);
        r->shutdown();
    }
    int closing = 2;
    timer_->data = async_->data = &closing;
    auto on_closed = [](uv_handle_t* h) {
        --*static_cast<int*>(h->data);
        if (h->type == UV_TIMER)
            delete reinterpret_cast<uv_timer_t*>(h);
        else
            delete reinterpret_cast<uv_async_t*>(h);
    };
    uv_close(reinterpret_cast<uv_handle_t*>(timer_), on_closed);
    uv_close(reinterpret_cast<uv_handle_t*>(async_), on_closed);
    timer_ = nullptr;
    async_ = nullptr;
    while (closing > 0) uv_run(uv_, UV_RUN_NOWAIT);
    if (owned_) {
        // Let whatever else was started on our own loop finish closing.
        while (uv_run(uv_, UV_RUN_NOWAIT) != 0) {
        }
    } else {
        // Our sockets' close callbacks, on the application's loop.
        uv_run(uv_, UV_RUN_NOWAIT);
    }
    loop_ = nullptr;
}

void LibuvBackend::wait(std::int64_t deadline) {
    if (deadline == detail::kNoDeadline) {
        uv_run(uv_, UV_RUN_ONCE);
        return;
    }
    std::int64_t remaining = deadline - now();
    if (remaining <= 0) {
        uv_run(uv_, UV_RUN_NOWAIT);
        return;
    }
    // libuv's timers count whole milliseconds: round up, never wake before the deadline.
    auto ms = static_cast<std::uint64_t>((remaining + 999'999) / 1'000'000);
    uv_update_time(uv_);
    // libuv runs due timers *before* it polls, so a timer that is already due when the
    // iteration starts would fire and then leave UV_RUN_ONCE polling with no timeout:
    // the callback stops the loop, which makes that poll return at once.
    uv_timer_start(timer_, [](uv_timer_t* t) { uv_stop(t->loop); }, ms, 0);
    uv_run(uv_, UV_RUN_ONCE);
    uv_timer_stop(timer_);
}

void LibuvBackend::add_resource(UvResource& r) noexcept {
    ensure_sigpipe_ignored();
    r.prev_resource = nullptr;
    r.next_resource = resources_;
    if (resources_) resources_->prev_resource = &r;
    resources_ = &r;
}

void LibuvBackend::remove_resource(UvResource& r) noexcept {
    if (r.prev_resource)
        r.prev_resource->next_resource = r.next_resource;
    else if (resources_ == &r)
        resources_ = r.next_resource;
    else
        return;  // not listed (already removed)
    if (r.next_resource) r.next_resource->prev_resource = r.prev_resource;
    r.prev_resource = r.next_resource = nullptr;
}

std::unique_ptr<http::detail::Engine> LibuvBackend::make_http_engine(const std::string& scheme,
                                                                     const http::SessionOptions& options) {
    if (scheme == "http") return http::detail::make_stream_engine(options);
    if (scheme == "https") return make_curl_engine(*this, options);
    return nullptr;
}

char* LibuvBackend::read_buffer() {
    if (!read_buffer_) read_buffer_ = std::make_unique<char[]>(kReadBuffer);
    return read_buffer_.get();
}

void LibuvBackend::ensure_sigpipe_ignored() noexcept {
    static const bool once = [] {
        struct sigaction current {};
        if (sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL &&
            !(current.sa_flags & SA_SIGINFO))
            std::signal(SIGPIPE, SIG_IGN);
        return true;
    }();
    (void)once;
}

std::exception_ptr os_error(int uv_status, const std::string& what) {
    // libuv's codes are negated errno values on Unix.
    return make_os_error(-uv_status, what);
}

SockAddr to_sockaddr(const struct sockaddr* sa) {
    char name[INET6_ADDRSTRLEN] = {};
    if (sa->sa_family == AF_INET6) {
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
        uv_ip6_name(in6, name, sizeof name);
        return SockAddr{name, ntohs(in6->sin6_port)};
    }
    const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    uv_ip4_name(in, name, sizeof name);
    return SockAddr{name, ntohs(in->sin_port)};
}

bool from_addrinfo(const AddrInfo& a, struct sockaddr_storage& out) {
    std::memset(&out, 0, sizeof out);
    if (a.family == AF_INET6)
        return uv_ip6_addr(a.host.c_str(), a.port, reinterpret_cast<sockaddr_in6*>(&out)) == 0;
    return uv_ip4_addr(a.host.c_str(), a.port, reinterpret_cast<sockaddr_in*>(&out)) == 0;
}

}  // namespace uv

// to_thread runs on the loop's own pool, not on libuv's: libuv's pool is sized once per
// process from UV_THREADPOOL_SIZE, which corio would have to setenv() while other threads
// may read the environment. libuv's pool keeps serving DNS and file system requests.
std::shared_ptr<Backend> libuv() { return std::make_shared<uv::LibuvBackend>(nullptr); }

std::shared_ptr<Backend> libuv(uv_loop_t* loop) {
    if (!loop) throw ValueError("corio::backends::libuv(loop): loop is null; call libuv() for a loop of corio's own");
    return std::make_shared<uv::LibuvBackend>(loop);
}

uv_loop_t* uv_loop_of(Backend& backend) noexcept {
    auto* b = dynamic_cast<uv::LibuvBackend*>(&backend);
    return b ? b->uv() : nullptr;
}

}  // namespace corio::backends

namespace corio::detail {
std::shared_ptr<Backend> default_backend() { return backends::libuv(); }
}  // namespace corio::detail
