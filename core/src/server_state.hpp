// The state behind a Server handle: its listeners, the connections it accepted (counted
// until each is gone, for wait_closed and close_clients) and the handler. Reference-counted
// by the handle and by every connection's task, which runs the handler stored here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "corio/detail/parked_waiter.hpp"
#include "corio/network.hpp"
#include "corio/server.hpp"

namespace corio::detail {

class StreamState;

class ServerState {
public:
    ServerState(EventLoop& loop, ClientHandler handler, ServerOptions options);
    ServerState(const ServerState&) = delete;
    ServerState& operator=(const ServerState&) = delete;

    void ref() noexcept { ++refs_; }
    void unref() noexcept {
        if (--refs_ == 0) delete this;
    }
    class Ref {
    public:
        explicit Ref(ServerState* s) noexcept : s_(s) { s_->ref(); }
        Ref(const Ref& o) noexcept : s_(o.s_) { s_->ref(); }
        Ref& operator=(const Ref&) = delete;
        ~Ref() { s_->unref(); }
        ServerState* operator->() const noexcept { return s_; }

    private:
        ServerState* s_;
    };

    void add_listener(std::unique_ptr<Listener> listener);
    void start();
    void close() noexcept;
    void close_clients() noexcept;
    void abort_clients() noexcept;
    bool is_serving() const noexcept { return serving_; }
    bool closed() const noexcept { return closed_; }
    std::vector<SockAddr> sockets() const;
    std::string describe() const;

    static Coro<> serve_forever(Ref self);
    static Coro<> wait_closed(Ref self);

    void client_attached(StreamState& s) noexcept;
    void client_detached(StreamState& s) noexcept;
    // A connection the backend accepted (from its accept callback, through call_guarded).
    void accept(Transport* t);
    EventLoop& loop() const noexcept { return loop_; }

private:
    ~ServerState();
    static Coro<> run_client(Ref self, StreamReader reader, StreamWriter writer);
    void maybe_wake_closed() noexcept;

    EventLoop& loop_;
    ClientHandler handler_;
    ServerOptions options_;
    std::uint32_t refs_ = 0;
    std::vector<std::unique_ptr<Listener>> listeners_;
    std::vector<SockAddr> addrs_;
    bool serving_ = false;
    bool closed_ = false;
    bool serving_forever_ = false;
    StreamState* clients_ = nullptr;
    std::size_t client_count_ = 0;
    WaiterList forever_{"Server"};
    WaiterList closed_waiters_{"Server"};
};

}  // namespace corio::detail
