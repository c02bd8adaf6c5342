// The libuv backend's insides, shared by its files: the backend itself (time, waiting,
// wake-ups) and its network capability (TCP transports, listeners, DNS in tcp.cpp and
// dns.cpp). Every uv handle or request it has open is a UvResource in one list, so that
// closing the loop closes them all and nothing outlives libuv's loop.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "corio/backend.hpp"
#include "corio/http/engine.hpp"
#include "corio/network.hpp"

namespace corio::backends::uv {

// Something with a uv handle or request open on the backend's loop.
class UvResource {
public:
    // The loop is closing: close the handle now (its close callback still runs).
    virtual void shutdown() noexcept = 0;
    UvResource* prev_resource = nullptr;
    UvResource* next_resource = nullptr;

protected:
    ~UvResource() = default;
};

class LibuvBackend final : public Backend, public Network, public http::detail::HttpBackend {
public:
    explicit LibuvBackend(uv_loop_t* external);
    ~LibuvBackend() override;

    const char* name() const noexcept override { return "libuv"; }
    uv_loop_t* uv() const noexcept { return uv_; }
    EventLoop& loop() const noexcept { return *loop_; }

    void open(EventLoop& loop) override;
    void close() noexcept override;
    std::int64_t now() noexcept override { return static_cast<std::int64_t>(uv_hrtime()); }
    void wait(std::int64_t deadline) override;
    void poll() override { uv_run(uv_, UV_RUN_NOWAIT); }
    void wake() noexcept override { uv_async_send(async_); }

    // --- Network (tcp.cpp, dns.cpp) -------------------------------------------------------
    Coro<std::vector<AddrInfo>> resolve(std::string host, int port, bool passive) override;
    Coro<Transport*> connect(AddrInfo addr) override;
    std::unique_ptr<Listener> listen(const AddrInfo& addr, int backlog,
                                     std::function<void(Transport*)> on_connection) override;

    // --- HttpBackend: plain http on corio's streams, https on libcurl (curl.cpp) -----------
    std::unique_ptr<http::detail::Engine> make_http_engine(const std::string& scheme,
                                                           const http::SessionOptions& options) override;

    void add_resource(UvResource& r) noexcept;
    void remove_resource(UvResource& r) noexcept;
    // One read buffer for every connection of the loop (as uvloop and Node do): a read's
    // bytes are handed to the protocol, which copies what it keeps, before the next read.
    static constexpr std::size_t kReadBuffer = 64 * 1024;
    char* read_buffer();

private:
    // Sockets must not kill the process with SIGPIPE when the peer is gone: as Python and
    // Node do, SIGPIPE is ignored once sockets are used, unless the program set a handler.
    void ensure_sigpipe_ignored() noexcept;

    EventLoop* loop_ = nullptr;
    uv_loop_t* uv_;
    bool owned_;
    bool open_ = false;
    uv_timer_t* timer_ = nullptr;
    uv_async_t* async_ = nullptr;
    UvResource* resources_ = nullptr;
    std::unique_ptr<char[]> read_buffer_;
};

// https on libcurl's multi interface, on this backend's uv loop (curl.cpp).
std::unique_ptr<http::detail::Engine> make_curl_engine(LibuvBackend& backend, const http::SessionOptions& options);

// libuv's error (a negative errno, or UV_EAI_*) as the OSError corio raises for `what`
// ("connect to 127.0.0.1:9" + ": Connection refused").
std::exception_ptr os_error(int uv_status, const std::string& what);
// A sockaddr's numeric host and port.
SockAddr to_sockaddr(const struct sockaddr* sa);
// AddrInfo -> sockaddr (false if the host is not numeric for its family).
bool from_addrinfo(const AddrInfo& a, struct sockaddr_storage& out);

}  // namespace corio::backends::uv
