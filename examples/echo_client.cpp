// The asyncio documentation's TCP echo client: sends a line to 127.0.0.1:8888 (or the port
// given) and prints the reply. Mirrors python/echo_client.py.
#include <corio/corio.hpp>
#include <fmt/core.h>

#include <cstdlib>
#include <string>

corio::Coro<> tcp_echo_client(std::string message, int port) {
    auto [reader, writer] = co_await corio::open_connection("127.0.0.1", port);

    fmt::print("Send: {}\n", message);
    writer.write(message + "\n");
    co_await writer.drain();

    std::string data = co_await reader.readline();
    fmt::print("Received: {}\n", data.substr(0, data.find('\n')));

    fmt::print("Close the connection\n");
    writer.close();
    co_await writer.wait_closed();
}

int main(int argc, char** argv) {
    corio::run(tcp_echo_client("Hello World!", argc > 1 ? std::atoi(argv[1]) : 8888));
}
