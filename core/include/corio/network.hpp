// The network capability of a backend: what streams and servers need from the platform.
// The core looks it up on the running loop's backend (a backend offers it by deriving from
// Network); a backend without it (the browser, virtual time) gets a clear OSError instead.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "corio/coro.hpp"
#include "corio/getaddrinfo.hpp"
#include "corio/transport.hpp"

namespace corio {

class EventLoop;

// A bound socket. start() begins listening and accepting; close() stops (connections
// already accepted stay).
class Listener {
public:
    virtual ~Listener() = default;
    virtual SockAddr sockname() const = 0;
    virtual void start() = 0;  // OSError naming the address if listen() fails
    virtual void close() noexcept = 0;
};

class Network {
public:
    // `passive`: addresses to bind (an empty host means every interface) rather than to
    // connect to. GaiError when the name does not resolve.
    virtual Coro<std::vector<AddrInfo>> resolve(std::string host, int port, bool passive) = 0;
    // A connected TCP transport (TCP_NODELAY on), not started yet; the caller owns it
    // (Transport::release). OSError naming the address when the connection fails.
    virtual Coro<Transport*> connect(AddrInfo addr) = 0;
    // Binds (SO_REUSEADDR; IPV6_V6ONLY for IPv6); listening starts with Listener::start().
    // Each accepted connection goes to `on_connection` as a transport that is not started
    // yet. OSError naming the address when binding fails.
    virtual std::unique_ptr<Listener> listen(const AddrInfo& addr, int backlog,
                                             std::function<void(Transport*)> on_connection) = 0;

protected:
    ~Network() = default;
};

// The running loop's network capability; OSError (ENOTSUP) naming `what` when its backend
// has none ("open_connection(): sockets are not available on the browser backend ...").
Network& network_of(EventLoop& loop, const char* what);

}  // namespace corio
