// The asyncio documentation's TCP echo server: each client's message comes back to it.
// Serves on 127.0.0.1:8888 (or the port given); after `clients` connections (0: forever) it
// closes and waits for them to finish. Mirrors python/echo_server.py.
#include <corio/corio.hpp>
#include <fmt/core.h>

#include <cstdlib>
#include <string>

corio::Coro<> handle_echo(corio::StreamReader reader, corio::StreamWriter writer) {
    std::string data = co_await reader.read(100);
    std::string message = data.substr(0, data.find('\n'));
    fmt::print("Received {} from {}\n", message, writer.peername().host);

    fmt::print("Send: {}\n", message);
    writer.write(data);
    co_await writer.drain();

    fmt::print("Close the connection\n");
    writer.close();
    co_await writer.wait_closed();
}

corio::Coro<> serve(int port, int clients) {
    int served = 0;
    corio::Event done;
    auto counted = [&](corio::StreamReader reader, corio::StreamWriter writer) -> corio::Coro<> {
        co_await handle_echo(std::move(reader), std::move(writer));
        if (++served == clients) done.set();
    };
    corio::Server server = co_await corio::start_server(counted, "127.0.0.1", port);
    fmt::print("Serving on {}\n", corio::format_address(server.sockets().at(0)));
    std::fflush(stdout);  // a test waits for this line before it connects
    if (clients == 0) {
        co_await server.serve_forever();
    } else {
        co_await done.wait();
        server.close();
        co_await server.wait_closed();
    }
}

int main(int argc, char** argv) {
    const int port = argc > 1 ? std::atoi(argv[1]) : 8888;
    const int clients = argc > 2 ? std::atoi(argv[2]) : 0;
    corio::run(serve(port, clients));
}
