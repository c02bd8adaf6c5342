// A line protocol tested without sockets and without waiting: a greeting service answers
// each name after 2 s, and the client gives up on a request after 1 s. Over a memory stream
// pair on virtual time, the 5 s of sleeps and timeouts take no real time. Mirrors
// python/memory_streams.py (which needs a socket pair and the real clock).
#include <corio/corio.hpp>
#include <fmt/core.h>

#include <string>

using namespace std::chrono_literals;

corio::Coro<> greeting_service(corio::StreamReader reader, corio::StreamWriter writer) {
    while (true) {
        std::string name = co_await reader.readline();
        if (name.empty()) break;  // EOF: the client is done
        co_await corio::sleep(2s);
        writer.write("Hello, " + name);
        co_await writer.drain();
    }
    writer.close();
}

corio::Coro<> main_coro() {
    auto& loop = corio::get_running_loop();
    auto [client, server] = corio::memory_stream_pair();
    auto service = corio::create_task(greeting_service(std::move(server.reader), std::move(server.writer)));

    client.writer.write("Alice\n");
    std::string reply = co_await corio::wait_for(client.reader.readline(), 3s);
    fmt::print("{} at {:.1f} s\n", reply.substr(0, reply.size() - 1), loop.time());

    client.writer.write("Bob\n");
    try {
        co_await corio::wait_for(client.reader.readline(), 1s);
    } catch (const corio::TimeoutError&) {
        fmt::print("no answer within 1 s at {:.1f} s\n", loop.time());
    }
    reply = co_await client.reader.readline();  // the late answer was not lost
    fmt::print("{} at {:.1f} s\n", reply.substr(0, reply.size() - 1), loop.time());

    client.writer.close();
    co_await service;
    fmt::print("service done at {:.1f} s\n", loop.time());
}

int main() {
    corio::RunOptions options;
    options.backend = corio::backends::virtual_time();
    corio::run(main_coro(), options);
}
