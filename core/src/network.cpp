// Finding the running loop's network capability, and getaddrinfo on top of it.
#include "corio/network.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>

#include "corio/event_loop.hpp"
#include "corio/os_error.hpp"

namespace corio {

Network& network_of(EventLoop& loop, const char* what) {
    if (auto* net = dynamic_cast<Network*>(&loop.backend())) return *net;
    const char* name = loop.backend().name();
    const char* hint = std::strcmp(name, "browser") == 0
                           ? " (a page has no sockets; the HTTP client works there)"
                           : " (use memory_stream_pair() to test protocol code without sockets)";
    throw OSError(ENOTSUP, fmt::format("{}: sockets are not available on the {} backend{}", what, name, hint),
                  OSError::AsIs{});
}

Coro<std::vector<AddrInfo>> getaddrinfo(std::string host, int port) {
    EventLoop& loop = get_running_loop();
    co_return co_await network_of(loop, "getaddrinfo()").resolve(std::move(host), port, false);
}

}  // namespace corio
