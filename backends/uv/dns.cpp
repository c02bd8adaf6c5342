// Name lookups on libuv: uv_getaddrinfo runs getaddrinfo on libuv's thread pool, off the
// loop's thread. A numeric host is answered at once, without the pool (asyncio skips the
// lookup for those too). A cancelled lookup is uv_cancel'ed; one already running finishes
// on its thread and its answer is dropped.
#include <netdb.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>

#include "corio/errors.hpp"
#include "corio/os_error.hpp"
#include "corio/waker.hpp"
#include "libuv_backend.hpp"

namespace corio::backends::uv {

namespace {

// UV_EAI_* back to the platform's EAI_* (what GaiError::gai_code() reports).
int eai_of(int uv_status) {
    switch (uv_status) {
#ifdef EAI_ADDRFAMILY
        case UV_EAI_ADDRFAMILY: return EAI_ADDRFAMILY;
#endif
        case UV_EAI_AGAIN: return EAI_AGAIN;
        case UV_EAI_BADFLAGS: return EAI_BADFLAGS;
        case UV_EAI_FAIL: return EAI_FAIL;
        case UV_EAI_FAMILY: return EAI_FAMILY;
        case UV_EAI_MEMORY: return EAI_MEMORY;
#ifdef EAI_NODATA
        case UV_EAI_NODATA: return EAI_NODATA;
#endif
        case UV_EAI_NONAME: return EAI_NONAME;
        case UV_EAI_OVERFLOW: return EAI_OVERFLOW;
        case UV_EAI_SERVICE: return EAI_SERVICE;
        case UV_EAI_SOCKTYPE: return EAI_SOCKTYPE;
        default: return 0;
    }
}

// One lookup in flight. Freed by whichever of the callback and the awaiting frame is last.
struct Lookup final : UvResource {
    explicit Lookup(LibuvBackend& b) : backend(b) {
        req.data = this;
        backend.add_resource(*this);
    }
    void shutdown() noexcept override { uv_cancel(reinterpret_cast<uv_req_t*>(&req)); }
    void finished(int st, addrinfo* res) {
        backend.remove_resource(*this);
        callback_ran = true;
        status = st;
        result = res;
        if (frame_gone)
            delete this;
        else
            waker.set_result(st);
    }
    ~Lookup() {
        if (result) uv_freeaddrinfo(result);
    }
    LibuvBackend& backend;
    uv_getaddrinfo_t req{};
    Waker<int> waker;
    addrinfo* result = nullptr;
    int status = 0;
    bool callback_ran = false;
    bool frame_gone = false;
};

struct LookupOwner {
    Lookup* lookup;
    ~LookupOwner() {
        if (lookup->callback_ran)
            delete lookup;
        else
            lookup->frame_gone = true;  // the callback frees it
    }
};

// host as a numeric IPv4 or IPv6 address, or nothing.
std::optional<AddrInfo> numeric(const std::string& host, int port) {
    sockaddr_in in{};
    if (uv_ip4_addr(host.c_str(), port, &in) == 0) return AddrInfo{AF_INET, to_sockaddr(reinterpret_cast<sockaddr*>(&in)).host, port};
    sockaddr_in6 in6{};
    if (uv_ip6_addr(host.c_str(), port, &in6) == 0 && host.find(':') != std::string::npos)
        return AddrInfo{AF_INET6, to_sockaddr(reinterpret_cast<sockaddr*>(&in6)).host, port};
    return std::nullopt;
}

}  // namespace

Coro<std::vector<AddrInfo>> LibuvBackend::resolve(std::string host, int port, bool passive) {
    if (port < 0 || port > 65535) throw ValueError(fmt::format("getaddrinfo(): port must be 0-65535, got {}", port));
    const std::string what = fmt::format("getaddrinfo('{}', {})", host, port);
    if (host.empty() && !passive) throw GaiError(EAI_NONAME, what + " (an empty host name)");
    if (!host.empty()) {
        if (auto a = numeric(host, port)) co_return std::vector<AddrInfo>{*a};
    }
    auto* lookup = new Lookup(*this);
    LookupOwner owner{lookup};
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    hints.ai_flags = passive ? AI_PASSIVE : 0;
    const std::string service = std::to_string(port);
    const int status = co_await suspend<int>(
        [&](Waker<int> w) {
            lookup->waker = std::move(w);
            const int rc = uv_getaddrinfo(
                uv_, &lookup->req,
                [](uv_getaddrinfo_t* req, int st, addrinfo* res) { static_cast<Lookup*>(req->data)->finished(st, res); },
                host.empty() ? nullptr : host.c_str(), service.c_str(), &hints);
            if (rc < 0) {
                remove_resource(*lookup);
                lookup->callback_ran = true;  // there will be no callback
                lookup->waker.set_result(rc);
            }
        },
        [&] { uv_cancel(reinterpret_cast<uv_req_t*>(&lookup->req)); });
    if (status < 0) {
        if (const int eai = eai_of(status)) throw GaiError(eai, what);
        std::rethrow_exception(os_error(status, what));
    }
    std::vector<AddrInfo> out;
    for (const addrinfo* ai = lookup->result; ai; ai = ai->ai_next) {
        if (ai->ai_socktype != SOCK_STREAM || (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)) continue;
        SockAddr sa = to_sockaddr(ai->ai_addr);
        AddrInfo a{ai->ai_family, sa.host, sa.port};
        if (std::find(out.begin(), out.end(), a) == out.end()) out.push_back(std::move(a));
    }
    if (out.empty()) throw GaiError(EAI_NONAME, what + " (no TCP address)");
    co_return out;
}

}  // namespace corio::backends::uv
