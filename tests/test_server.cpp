// Servers, connections and names on the libuv backend: ports of CPython 3.13's
// test_asyncio/test_server.py and the start_server parts of test_streams.py, bad input
// (refused ports, names that do not resolve, ports in use) with the exact errors, and Python
// asyncio as a real peer on both sides. Every socket is on 127.0.0.1 or ::1.
#include <catch2/catch.hpp>

#include <array>
#include <cerrno>
#include <memory>
#include <netdb.h>
#include <stdexcept>
#include <string>
#include <sys/socket.h>
#include <vector>

#include "child_process.hpp"
#include "support.hpp"

using namespace std::chrono_literals;
using corio::Coro;
using corio::StreamReader;
using corio::StreamWriter;
using corio::Task;
using corio_test::run_test;

namespace {

bool have_sockets() { return corio_test::backend_name() == "libuv"; }

// The asyncio documentation's echo handler: a line back for each line, until EOF.
Coro<> echo(StreamReader reader, StreamWriter writer) {
    for (;;) {
        std::string line = co_await reader.readline();
        if (line.empty()) break;
        writer.write(line);
        co_await writer.drain();
    }
    writer.close();
    co_await writer.wait_closed();
}

int port_of(const corio::Server& s) { return s.sockets().at(0).port; }

}  // namespace

TEST_CASE("server: a client and corio's echo server on 127.0.0.1", "[server]") {
    if (!have_sockets()) return;
    run_test([]() -> Coro<> {
        corio_test::LoopWatchdog dog(10s);
        corio::Server server = co_await corio::start_server(echo, "127.0.0.1", 0);
        CHECK(server.is_serving());
        REQUIRE(server.sockets().size() == 1);
        CHECK(server.sockets()[0].host == "127.0.0.1");
        CHECK(server.sockets()[0].port > 0);
        auto [reader, writer] = co_await corio::open_connection("127.0.0.1", port_of(server));
        for (int i = 0; i < 3; ++i) {
            writer.write("hello " + std::to_string(i) + "\n");
            co_await writer.drain();
            CHECK(co_await reader.readline() == "hello " + std::to_string(i) + "\n");
        }
        writer.close();
        CHECK((co_await reader.read()).empty());  // the server closed after our EOF
        co_await writer.wait_closed();
        server.close();
        co_await server.wait_closed();
        CHECK_FALSE(dog.fired());
    }());
}

TEST_CASE("server: a hundred connections at once", "[server]") {
    if (!have_sockets()) return;
    int ok = 0;
    run_test([&]() -> Coro<> {
        corio::Server server = co_await corio::start_server(echo, "127.0.0.1", 0);
        const int port = port_of(server);
        std::vector<Coro<>> clients;
        for (int i = 0; i < 100; ++i)
            clients.push_back([](int port, int i, int& ok) -> Coro<> {
                auto [r, w] = co_await corio::open_connection("127.0.0.1", port);
                const std::string msg = "client " + std::to_string(i) + "\n";
                w.write(msg);
                if (co_await r.readline() == msg) ++ok;
                w.close();
                co_await w.wait_closed();
            }(port, i, ok));
        co_await corio::gather(std::move(clients));
        server.close();
        co_await server.wait_closed();
    }());
    CHECK(ok == 100);
}

TEST_CASE("server: IPv6 on ::1, and an empty host binds every interface on one port", "[server]") {
    if (!have_sockets()) return;
    run_test([]() -> Coro<> {
        corio::Server v6 = co_await corio::start_server(echo, "::1", 0);
        CHECK(v6.sockets().at(0).host == "::1");
        auto [r, w] = co_await corio::open_connection("::1", port_of(v6));
        CHECK(w.peername().host == "::1");
        CHECK(corio::format_address(w.peername()) == "[::1]:" + std::to_string(port_of(v6)));
        w.write("six\n");
        CHECK(co_await r.readline() == "six\n");
        w.close();
        co_await w.wait_closed();

        corio::Server all = co_await corio::start_server(echo, "", 0);
        const auto socks = all.sockets();
        REQUIRE(socks.size() >= 1);
        for (auto& s : socks) CHECK(s.port == socks[0].port);  // one port for every address
        const std::array<std::string, 2> hosts{"127.0.0.1", "::1"};
        for (const std::string& host : hosts) {
            bool listed = false;
            for (auto& s : socks) listed = listed || s.host == "0.0.0.0" || s.host == "::";
            CHECK(listed);
            auto [r2, w2] = co_await corio::open_connection(host, socks[0].port);
            w2.write(host + "\n");
            CHECK(co_await r2.readline() == host + "\n");
            w2.close();
            co_await w2.wait_closed();
        }
    }());
}

TEST_CASE("server: serve_forever, cancelled from a handler; then closed (test_start_server_1)", "[server]") {
    if (!have_sockets()) return;
    run_test([]() -> Coro<> {
        Task<> main_task;
        corio::ServerOptions o;
        o.start_serving = false;
        corio::Server srv = co_await corio::start_server(
            [&](StreamReader reader, StreamWriter writer) -> Coro<> {
                co_await reader.readline();
                main_task.cancel();
                writer.write("1");
                writer.close();
                co_await writer.wait_closed();
            },
            "127.0.0.1", 0, o);
        CHECK_FALSE(srv.is_serving());
        const int port = port_of(srv);
        main_task = corio::create_task([&]() -> Coro<> { co_await srv.serve_forever(); });
        co_await corio::sleep(0s);
        CHECK(srv.is_serving());
        // serve_forever twice is a RuntimeError.
        CHECK_THROWS_WITH(co_await srv.serve_forever(), Catch::Contains("already being awaited on serve_forever()"));
        auto [r, w] = co_await corio::open_connection("127.0.0.1", port);
        w.write(std::string(5 * 1024, '1') + "\n");
        CHECK(co_await r.readexactly(1) == "1");
        CHECK(co_await corio_test::ended_cancelled(main_task));
        CHECK(srv.sockets().empty());
        CHECK_FALSE(srv.is_serving());
        CHECK_THROWS_WITH(co_await srv.serve_forever(), Catch::Contains("is closed"));
    }());
}

TEST_CASE("server: close() under serve_forever ends it with CancelledError, as asyncio", "[server]") {
    if (!have_sockets()) return;
    run_test([]() -> Coro<> {
        corio::Server srv = co_await corio::start_server(echo, "127.0.0.1", 0);
        auto serving = corio::create_task(srv.serve_forever());
        co_await corio::sleep(0s);
        srv.close();
        CHECK(co_await corio_test::ended_cancelled(serving));
        CHECK(srv.sockets().empty());
    }());
}

TEST_CASE("server: wait_closed waits for close() and for every connection (test_wait_closed_basic)", "[server]") {
    if (!have_sockets()) return;
    run_test([]() -> Coro<> {
        auto serve = [](StreamReader rd, StreamWriter wr) -> Coro<> {
            try {
                co_await rd.read();
            } catch (...) {
            }
            wr.close();
            co_await wr.wait_closed();
        };
        corio::Server srv = co_await corio::start_server(serve, "127.0.0.1", 0);
        auto task1 = corio::create_task(srv.wait_closed());
        co_await corio::sleep(0s);
        CHECK_FALSE(task1.done());  // not closed, no connection: waits

        auto [rd, wr] = co_await corio::open_connection("127.0.0.1", port_of(srv));
        auto task2 = corio::create_task(srv.wait_closed());
        co_await corio::sleep(20ms);
        CHECK_FALSE(task1.done());
        CHECK_FALSE(task2.done());

        srv.close();
        co_await corio::sleep(0s);
        auto task3 = corio::create_task(srv.wait_closed());
        co_await corio::sleep(20ms);
        CHECK_FALSE(task1.done());  // closed, but a connection is alive
        CHECK_FALSE(task3.done());

        wr.close();
        co_await wr.wait_closed();
        co_await task1;
        co_await task2;
        co_await task3;
        co_await srv.wait_closed();  // at once now
    }());
}

TEST_CASE("server: close and the last connection's close in the same iteration (test_wait_closed_race)", "[server]") {
    if (!have_sockets()) return;
    run_test([]() -> Coro<> {
        auto serve = [](StreamReader rd, StreamWriter wr) -> Coro<> {
            try {
                co_await rd.read();
            } catch (...) {
            }
            wr.close();
            co_await wr.wait_closed();
        };
        corio::Server srv = co_await corio::start_server(serve, "127.0.0.1", 0);
        auto task = corio::create_task(srv.wait_closed());
        co_await corio::sleep(0s);
        CHECK_FALSE(task.done());
        auto conn = co_await corio::open_connection("127.0.0.1", port_of(srv));
        corio::StreamWriter& wr = conn.second;  // not a structured binding: clang 14 cannot capture one
        co_await corio::sleep(20ms);
        auto& loop = corio::get_running_loop();
        (void)loop.call_soon([&] { srv.close(); });
        (void)loop.call_soon([&] { wr.close(); });
        co_await srv.wait_closed();
        co_await task;
    }());
}

TEST_CASE("server: close_clients() and abort_clients() end every connection (test_close_clients, test_abort_clients)",
          "[server]") {
    if (!have_sockets()) return;
    for (bool abort : {false, true}) {
        INFO((abort ? "abort_clients" : "close_clients"));
        run_test([abort]() -> Coro<> {
            auto serve = [](StreamReader rd, StreamWriter wr) -> Coro<> {
                try {
                    co_await rd.read();
                } catch (...) {
                }
                co_await corio::capture(wr.wait_closed());
            };
            corio::Server srv = co_await corio::start_server(serve, "127.0.0.1", 0);
            auto [rd, wr] = co_await corio::open_connection("127.0.0.1", port_of(srv));
            co_await corio::sleep(20ms);
            auto task = corio::create_task(srv.wait_closed());
            co_await corio::sleep(0s);
            CHECK_FALSE(task.done());
            srv.close();
            if (abort)
                srv.abort_clients();
            else
                srv.close_clients();
            corio_test::LoopWatchdog dog(5s);
            co_await task;
            CHECK_FALSE(dog.fired());
            // The client sees its connection end.
            auto end = co_await corio::capture(rd.read());
            CHECK((end.has_value() ? end.value().empty() : true));
        }());
    }
}

TEST_CASE("server: an exception escaping the handler is reported and the server goes on (test_unhandled_exception)",
          "[server]") {
    if (!have_sockets()) return;
    std::vector<std::string> messages;
    std::vector<std::string> errors;
    run_test([&]() -> Coro<> {
        corio::get_running_loop().set_exception_handler([&](corio::EventLoop&, const corio::ExceptionContext& ctx) {
            messages.push_back(ctx.message);
            errors.push_back(corio_test::error_kind(ctx.exception));
        });
        int calls = 0;
        corio::Server srv = co_await corio::start_server(
            [&](StreamReader r, StreamWriter w) -> Coro<> {
                if (++calls == 1) throw std::runtime_error("test");
                co_await echo(std::move(r), std::move(w));
            },
            "127.0.0.1", 0);
        auto [r1, w1] = co_await corio::open_connection("127.0.0.1", port_of(srv));
        // The failed handler's connection is closed: EOF (or a reset) for the client.
        auto first = co_await corio::capture(r1.read());
        CHECK((first.has_value() ? first.value().empty() : true));
        auto [r2, w2] = co_await corio::open_connection("127.0.0.1", port_of(srv));
        w2.write("still serving\n");
        CHECK(co_await r2.readline() == "still serving\n");
        w2.close();
        co_await w2.wait_closed();
    }());
    CHECK(messages == std::vector<std::string>{"Unhandled exception in client_connected_cb"});
    CHECK(errors == std::vector<std::string>{"error:test"});
}

TEST_CASE("server: a handler that cancels itself is not reported (test_unhandled_cancel)", "[server]") {
    if (!have_sockets()) return;
    std::vector<std::string> messages;
    run_test([&]() -> Coro<> {
        corio::get_running_loop().set_exception_handler(
            [&](corio::EventLoop&, const corio::ExceptionContext& ctx) { messages.push_back(ctx.message); });
        corio::Server srv = co_await corio::start_server(
            [](StreamReader, StreamWriter w) -> Coro<> {
                w.close();
                corio::current_task().cancel();
                co_await corio::sleep(0s);
            },
            "127.0.0.1", 0);
        auto [r, w] = co_await corio::open_connection("127.0.0.1", port_of(srv));
        co_await corio::capture(r.read());
        co_await corio::sleep(20ms);
    }());
    CHECK(messages.empty());
}

TEST_CASE("open_connection: a refused port, a name that does not resolve, an empty host, a bad port", "[server]") {
    if (!have_sockets()) return;
    run_test([]() -> Coro<> {
        // A port nobody listens on: bind one, note it, close it.
        int free_port = 0;
        {
            corio::Server s = co_await corio::start_server(echo, "127.0.0.1", 0);
            free_port = port_of(s);
        }
        int code = 0;
        std::string what;
        try {
            co_await corio::open_connection("127.0.0.1", free_port);
        } catch (const corio::ConnectionRefusedError& e) {
            code = e.code().value();
            what = e.what();
        }
        CHECK(code == ECONNREFUSED);
        CHECK(what == "connect to 127.0.0.1:" + std::to_string(free_port) + ": Connection refused");

        int gai = 0;
        what.clear();
        try {
            co_await corio::open_connection("nonexistent.invalid", 80);
        } catch (const corio::GaiError& e) {
            gai = e.gai_code();
            what = e.what();
        }
        CHECK(gai != 0);
        CHECK_THAT(what, Catch::StartsWith("getaddrinfo('nonexistent.invalid', 80): "));

        CHECK_THROWS_AS(co_await corio::open_connection("", 80), corio::GaiError);
        CHECK_THROWS_AS(co_await corio::getaddrinfo("", 80), corio::GaiError);
        CHECK_THROWS_WITH(co_await corio::open_connection("127.0.0.1", 70000), Catch::Contains("port must be 0-65535"));
        CHECK_THROWS_AS(co_await corio::open_connection("127.0.0.1", -1), corio::ValueError);
        // Every OSError is a std::system_error.
        CHECK_THROWS_AS(co_await corio::open_connection("127.0.0.1", free_port), std::system_error);
    }());
}

TEST_CASE("start_server: a port in use is an OSError naming the address", "[server]") {
    if (!have_sockets()) return;
    run_test([]() -> Coro<> {
        corio::Server first = co_await corio::start_server(echo, "127.0.0.1", 0);
        const int port = port_of(first);
        int code = 0;
        std::string what;
        try {
            co_await corio::start_server(echo, "127.0.0.1", port);
        } catch (const corio::OSError& e) {
            code = e.code().value();
            what = e.what();
        }
        CHECK(code == EADDRINUSE);
        CHECK(what == "bind to 127.0.0.1:" + std::to_string(port) + ": Address already in use");
        CHECK_THROWS_AS(co_await corio::start_server(echo, "nonexistent.invalid", 0), corio::GaiError);
        corio::ClientHandler none;
        CHECK_THROWS_AS(co_await corio::start_server(none, "127.0.0.1", 0), corio::ValueError);
        // SO_REUSEADDR: the port of a closed server can be bound again at once.
        first.close();
        co_await first.wait_closed();
        corio::Server again = co_await corio::start_server(echo, "127.0.0.1", port);
        CHECK(port_of(again) == port);
    }());
}

TEST_CASE("getaddrinfo: numeric hosts at once, names off the loop's thread", "[server]") {
    if (!have_sockets()) return;
    run_test([]() -> Coro<> {
        auto v4 = co_await corio::getaddrinfo("127.0.0.1", 80);
        REQUIRE(v4.size() == 1);
        CHECK(v4[0] == corio::AddrInfo{AF_INET, "127.0.0.1", 80});
        auto v6 = co_await corio::getaddrinfo("::1", 8080);
        REQUIRE(v6.size() == 1);
        CHECK(v6[0] == corio::AddrInfo{AF_INET6, "::1", 8080});
        auto local = co_await corio::getaddrinfo("localhost", 443);
        REQUIRE_FALSE(local.empty());
        bool loopback = false;
        for (auto& a : local) loopback = loopback || a.host == "127.0.0.1" || a.host == "::1";
        CHECK(loopback);
        for (auto& a : local) CHECK(a.port == 443);
    }());
}

TEST_CASE("open_connection cancelled while it connects leaves nothing behind", "[server]") {
    if (!have_sockets()) return;
    run_test([]() -> Coro<> {
        corio::Server srv = co_await corio::start_server(echo, "127.0.0.1", 0);
        for (int i = 0; i < 20; ++i) {
            auto t = corio::create_task(corio::open_connection("127.0.0.1", port_of(srv)));
            co_await corio::sleep(0s);  // it is in connect() now
            t.cancel();
            CHECK(co_await corio_test::ended_cancelled(t));
        }
        // A lookup cancelled in flight too.
        auto dns = corio::create_task(corio::getaddrinfo("localhost", 80));
        co_await corio::sleep(0s);
        dns.cancel();
        co_await corio::capture(dns);
    }());
}

TEST_CASE("run() ends with a server, a connection and a handler still open", "[server]") {
    if (!have_sockets()) return;
    bool handler_cancelled = false;
    run_test([&]() -> Coro<> {
        corio::Server srv = co_await corio::start_server(
            [&](StreamReader r, StreamWriter) -> Coro<> {
                try {
                    co_await r.read();  // the client never sends anything
                } catch (const corio::CancelledError&) {
                    handler_cancelled = true;
                    throw;
                }
            },
            "127.0.0.1", 0);
        auto [r, w] = co_await corio::open_connection("127.0.0.1", port_of(srv));
        co_await corio::sleep(20ms);
        // main returns: run() cancels the handler, the handles close the connections, the
        // server closes with main's frame (ASan: nothing leaked).
    }());
    CHECK(handler_cancelled);
}

// --- real peers: Python's asyncio on the other end ----------------------------------------------

TEST_CASE("a Python asyncio client against corio's echo server", "[server][peers]") {
    if (!have_sockets()) return;
    std::string out;
    run_test([&]() -> Coro<> {
        corio::Server srv = co_await corio::start_server(echo, "127.0.0.1", 0);
        const std::string port = std::to_string(port_of(srv));
        // A named lambda: g++ 12 destroys a by-copy capture with a destructor twice when the
        // lambda is a temporary inside a co_await expression.
        auto run_client = [port] {
            corio_test::ChildProcess py(corio_test::python_peer("asyncio_echo.py", {"client", port, "3"}));
            std::string all = py.read_all();
            py.wait();
            return all;
        };
        out = co_await corio::to_thread(run_client);
    }());
    CHECK(out == "line 0 from python\nline 1 from python\nline 2 from python\n");
}

TEST_CASE("corio's client against a Python asyncio echo server", "[server][peers]") {
    if (!have_sockets()) return;
    run_test([]() -> Coro<> {
        auto py = std::make_shared<corio_test::ChildProcess>(corio_test::python_peer("asyncio_echo.py", {"server"}));
        auto read_banner = [py] { return py->read_line(); };  // named: see the test above
        const std::string banner = co_await corio::to_thread(read_banner);
        REQUIRE(banner.rfind("PORT ", 0) == 0);
        const int port = std::stoi(banner.substr(5));
        auto [r, w] = co_await corio::open_connection("127.0.0.1", port);
        for (int i = 0; i < 3; ++i) {
            const std::string line = "from corio " + std::to_string(i) + "\n";
            w.write(line);
            co_await w.drain();
            CHECK(co_await r.readline() == line);
        }
        // A big message both ways: 1 MiB in lines, drained as the peer reads.
        std::string big;
        for (int i = 0; i < 16384; ++i) big += std::string(63, 'a' + i % 26) + "\n";
        w.write(big);
        auto reading = corio::create_task(r.readexactly(static_cast<std::ptrdiff_t>(big.size())));
        co_await w.drain();
        CHECK(co_await reading == big);
        w.close();
        CHECK((co_await r.read()).empty());
        co_await w.wait_closed();
        py->close_stdin();
        auto wait_for_exit = [py] { return py->wait(); };
        CHECK(co_await corio::to_thread(wait_for_exit) == 0);
    }());
}
