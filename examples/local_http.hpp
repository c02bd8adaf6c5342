// A minimal HTTP/1.1 server on corio's own streams, for the HTTP examples to fetch from:
// one request per connection, answered with the JSON that `respond(path)` gives (it may
// sleep first). Not a server to use: the examples need one that starts in-process.
#pragma once

#include <corio/corio.hpp>
#include <fmt/core.h>

#include <functional>
#include <string>

using Responder = std::function<corio::Coro<std::string>(std::string path)>;

inline corio::Coro<> answer(Responder respond, corio::StreamReader reader, corio::StreamWriter writer) {
    std::string head = co_await reader.readuntil("\r\n\r\n");  // "GET /path HTTP/1.1\r\n..."
    const std::size_t start = head.find(' ') + 1;
    std::string path = head.substr(start, head.find(' ', start) - start);
    std::string body = co_await respond(path);
    writer.write(fmt::format("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n"
                             "Connection: close\r\n\r\n{}",
                             body.size(), body));
    co_await writer.drain();
    writer.close();
    co_await writer.wait_closed();
}

// Serves on 127.0.0.1 at a free port: server.sockets()[0].port.
inline corio::Coro<corio::Server> start_local_http(Responder respond) {
    corio::ClientHandler handler = [respond](corio::StreamReader reader, corio::StreamWriter writer) {
        return answer(respond, std::move(reader), std::move(writer));
    };
    co_return co_await corio::start_server(handler, "127.0.0.1", 0);
}
