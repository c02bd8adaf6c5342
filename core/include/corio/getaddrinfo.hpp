// getaddrinfo(host, port): asyncio's loop.getaddrinfo for TCP, off the loop's thread. Numeric
// hosts ("127.0.0.1", "::1") resolve at once, without a thread; an empty host, or a name that
// does not resolve, is a GaiError naming it.
#pragma once

#include <string>
#include <vector>

#include "corio/coro.hpp"

namespace corio {

struct AddrInfo {
    int family = 0;    // AF_INET or AF_INET6
    std::string host;  // numeric
    int port = 0;
    bool operator==(const AddrInfo&) const = default;
};

// The addresses of host:port for a TCP stream, in the resolver's order, each once.
Coro<std::vector<AddrInfo>> getaddrinfo(std::string host, int port);

}  // namespace corio
