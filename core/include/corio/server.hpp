// start_server(): asyncio's TCP server. Each accepted connection runs handle(reader, writer)
// as its own task; when it returns, its reader and writer are destroyed, which closes the
// connection. An exception escaping handle goes to the loop's exception handler and the
// server goes on.
//   corio::Server server = co_await corio::start_server(handle, "127.0.0.1", 8888);
//   co_await server.serve_forever();
#pragma once

#include <cstddef>
#include <exception>
#include <functional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "corio/coro.hpp"
#include "corio/streams.hpp"
#include "corio/transport.hpp"

namespace corio {

namespace detail {
class ServerState;
}

// Options of start_server (filled as a named variable: see OpenOptions).
struct ServerOptions {
    ServerOptions() noexcept {}
    std::size_t limit = 64 * 1024;  // each connection's reader limit
    int backlog = 100;
    bool start_serving = true;      // false: accept only after start_serving()/serve_forever()
};

using ClientHandler = std::function<Coro<>(StreamReader, StreamWriter)>;

class Server {
public:
    Server() noexcept = default;
    Server(Server&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
    Server& operator=(Server&& o) noexcept;
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;
    // Closes the server (stops listening); connections already accepted go on.
    ~Server();
    explicit operator bool() const noexcept { return s_ != nullptr; }

    // The bound addresses (port 0 was replaced by the port chosen); empty once closed.
    std::vector<SockAddr> sockets() const;
    bool is_serving() const;
    // Starts accepting (if start_serving was false) and lets the loop run once.
    Coro<> start_serving();
    // Serves until cancelled (which closes the server and waits for its connections) or
    // until close() (which raises CancelledError here, as asyncio). RuntimeError when one
    // already runs or the server is closed.
    Coro<> serve_forever();
    // Stops listening; connections already accepted go on. Idempotent.
    void close();
    // Closes (after their buffered bytes) / aborts every connection accepted so far.
    void close_clients();
    void abort_clients();
    // Until the server is closed and every connection it accepted is gone (Python 3.12).
    Coro<> wait_closed();

    // async with server: ... (aexit closes and waits).
    Coro<> aenter() { co_return; }
    Coro<> aexit(std::exception_ptr);

private:
    friend Coro<Server> start_server(ClientHandler handle, std::string host, int port, ServerOptions options);
    explicit Server(detail::ServerState* s) noexcept : s_(s) {}
    detail::ServerState& state() const;
    detail::ServerState* s_ = nullptr;
};

// Binds host:port (an empty host: every interface; port 0: a free port, the same for every
// address) and starts serving. OSError naming the address when binding fails ("bind to
// 127.0.0.1:8888: Address already in use"), GaiError when the name does not resolve.
Coro<Server> start_server(ClientHandler handle, std::string host, int port, ServerOptions options);
Coro<Server> start_server(ClientHandler handle, std::string host, int port);

}  // namespace corio
